/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_strv_free_ _cleanup_(strv_freep)
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _unused_ __attribute__((unused))
#define _noreturn_ __attribute__((noreturn))
#define _pure_ __attribute__((pure))
#define _sentinel_ __attribute__((sentinel))
#define _warn_unused_result_ __attribute__((warn_unused_result))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* hands ownership on: returns the value and leaves NULL / -EBADF behind */
#define TAKE_PTR(p)                        \
	({                                 \
		__typeof__(p) _take_ = (p); \
		(p) = NULL;                 \
		_take_;                     \
	})
#define TAKE_FD(fd)                  \
	({                           \
		int _take_fd_ = (fd); \
		(fd) = -EBADF;        \
		_take_fd_;            \
	})

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)     \
	{                                       \
		if (*p)                         \
			func(*p);               \
	}

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
#define strna(s) ((s) ?: "n/a")
#define strempty(s) ((s) ?: "")
#define isempty(s) (!(s) || !(s)[0])

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif
#ifndef MAX
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
#define NSEC_PER_USEC UINT64_C(1000)

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* the index of s in a table of strings (NULL rows skipped), or -EINVAL */
static inline int string_table_lookup(const char *const *table, size_t n, const char *s)
{
	if (!s)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (table[i] && strcmp(table[i], s) == 0)
			return (int)i;
	return -EINVAL;
}

/* name_to_string() and name_from_string() over table, an array indexed by type */
#define DEFINE_STRING_TABLE_LOOKUP(name, type, table)                                 \
	const char *name##_to_string(type v)                                          \
	{                                                                             \
		return (size_t)v < ELEMENTSOF(table) ? (table)[v] : NULL;             \
	}                                                                             \
	int name##_from_string(const char *s)                                         \
	{                                                                             \
		return string_table_lookup((table), ELEMENTSOF(table), s);            \
	}

/* p = mfree(p): freed and cleared in one step */
static inline void *mfree(void *p)
{
	free(p);
	return NULL;
}

/* close() that keeps errno, for cleanup paths */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;

		(void)close(fd);
		errno = saved;
	}
	return -EBADF;
}

static inline void closep(int *fd)
{
	*fd = safe_close(*fd);
}

static inline void fclosep(FILE **f)
{
	if (*f) {
		int saved = errno;

		(void)fclose(*f);
		errno = saved;
	}
}

static inline char **strv_free(char **l)
{
	if (!l)
		return NULL;
	for (char **i = l; *i; i++)
		free(*i);
	free(l);
	return NULL;
}

static inline void strv_freep(char ***l)
{
	*l = strv_free(*l);
}

/* errno of the last failed libc call, as a negative value; never 0 */
static inline int negative_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static inline bool str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}
