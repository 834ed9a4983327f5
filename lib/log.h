/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

/*
 * The suite's one way out for messages. The program picks the sink once in
 * main(): the journal (structured fields) when $JOURNAL_STREAM names fd 2,
 * else "name: message" on stderr. Library code logs at debug at most.
 * Secrets never enter a format string.
 */

/* 128-bit MESSAGE_IDs of the audit events (catalog/alga.catalog) */
#define ALGA_MESSAGE_TOKEN_CREATED "4f7a2c1e9b6d4e58a3c0d1e2f3a4b5c6"
#define ALGA_MESSAGE_ADMIN_RESET "8d1e6b3a2f5c4d7e9a0b1c2d3e4f5a6b"
#define ALGA_MESSAGE_DATA_RESET "2b9c4e7f1a3d4c6e8f0a1b2c3d4e5f60"
#define ALGA_MESSAGE_SETUP_COMPLETE "6e3f8a1c4b7d4e29a5c6d7e8f9a0b1c2"
#define ALGA_MESSAGE_UPDATE_DONE "9a4b2c6d8e1f4a3b8c5d6e7f8091a2b3"
#define ALGA_MESSAGE_UPDATE_ROLLED_BACK "c3d5e7f9a1b34c6d8e0f1a2b3c4d5e6f"

/* where messages go */
enum alga_log_target {
	ALGA_LOG_TARGET_STDERR,
	ALGA_LOG_TARGET_JOURNAL,
	_ALGA_LOG_TARGET_MAX,
};

/*
 * Sets the identifier and picks the target; honours $ALGA_LOG_LEVEL
 * (a syslog level name or number). Call once in main().
 */
void alga_log_open(const char *ident);

/* LOG_ERR..LOG_DEBUG; messages above it are dropped */
void alga_log_set_max_level(int level);
int alga_log_get_max_level(void);
enum alga_log_target alga_log_get_target(void);

/* true when $JOURNAL_STREAM names the device and inode of fd 2 */
bool alga_log_stderr_is_journal(void);

/*
 * Logs one message. error is 0 or an errno (either sign) that sets errno
 * for %m and ERRNO=. fields is NULL or a NULL-terminated array of extra
 * "KEY=value" journal fields (MESSAGE_ID=, ALGA_STEP=, ...), dropped on
 * stderr. Returns -|error| (or 0 when error is 0), so log and return are
 * one statement.
 */
int alga_log_internal(int level, int error, const char *file, int line, const char *func,
		      const char *const *fields, const char *format, ...) _printf_(7, 8);

#define log_full_errno_fields(level, error, fields, ...)                                     \
	({                                                                                    \
		int _level_ = (level), _e_ = (error);                                         \
		(_level_ <= alga_log_get_max_level())                                          \
			? alga_log_internal(_level_, _e_, __FILE__, __LINE__, __func__, fields, \
					    __VA_ARGS__)                                        \
			: (_e_ > 0 ? -_e_ : _e_);                                              \
	})

#define log_full_errno(level, error, ...) log_full_errno_fields(level, error, NULL, __VA_ARGS__)
#define log_full(level, ...) (void)log_full_errno(level, 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, error, __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, error, __VA_ARGS__)
#define log_notice_errno(error, ...) log_full_errno(LOG_NOTICE, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, error, __VA_ARGS__)

/* structured audit event: fields carries MESSAGE_ID= and friends */
#define log_struct(level, fields, ...) (void)log_full_errno_fields(level, 0, fields, __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory")

/*
 * For validators of outside input (style.md, Errors): replaces the optional
 * *reterr_detail (NULL: nothing to fill) with one formatted sentence and
 * returns r, so "fill the detail and fail" is one statement. On allocation
 * failure the detail stays NULL.
 */
int alga_set_detail(int r, char **reterr_detail, const char *format, ...) _printf_(3, 4);
