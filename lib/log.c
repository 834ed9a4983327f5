/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "log.h"

/* set once by alga_log_open() in main(), before any thread starts */
static const char *log_ident = "alga";
static int log_max_level = LOG_INFO;
static enum alga_log_target log_target = ALGA_LOG_TARGET_STDERR;

#define LOG_FIELDS_MAX 16

static int level_from_string(const char *s)
{
	static const char *const names[] = {
		[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",    [LOG_CRIT] = "crit",
		[LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
		[LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
	};
	char *end;
	long l;

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (streq(s, names[i]))
			return (int)i;
	if (streq(s, "error"))
		return LOG_ERR;

	errno = 0;
	l = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end || l < LOG_EMERG || l > LOG_DEBUG)
		return -EINVAL;
	return (int)l;
}

bool alga_log_stderr_is_journal(void)
{
	const char *e;
	struct stat st;
	uintmax_t dev, ino;

	e = getenv("JOURNAL_STREAM");
	if (!e)
		return false;
	if (sscanf(e, "%ju:%ju", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;

	return (uintmax_t)st.st_dev == dev && (uintmax_t)st.st_ino == ino;
}

void alga_log_open(const char *ident)
{
	const char *e;

	if (ident) {
		const char *slash = strrchr(ident, '/');

		log_ident = slash ? slash + 1 : ident;
	}

	e = getenv("ALGA_LOG_LEVEL");
	if (e) {
		int l = level_from_string(e);

		if (l >= 0)
			log_max_level = l;
	}

	log_target = alga_log_stderr_is_journal() ? ALGA_LOG_TARGET_JOURNAL : ALGA_LOG_TARGET_STDERR;
}

void alga_log_set_max_level(int level)
{
	log_max_level = level;
}

int alga_log_get_max_level(void)
{
	return log_max_level;
}

enum alga_log_target alga_log_get_target(void)
{
	return log_target;
}

static int log_to_journal(int level, int error, const char *file, int line, const char *func,
			  const char *const *fields, const char *message)
{
	_cleanup_free_ char *m = NULL, *prio = NULL, *cfile = NULL, *cline = NULL, *cfunc = NULL,
			    *ident = NULL, *errstr = NULL;
	struct iovec iov[7 + LOG_FIELDS_MAX];
	size_t n = 0;

	if (asprintf(&m, "MESSAGE=%s", message) < 0 || asprintf(&prio, "PRIORITY=%d", level) < 0 ||
	    asprintf(&cfile, "CODE_FILE=%s", file) < 0 || asprintf(&cline, "CODE_LINE=%d", line) < 0 ||
	    asprintf(&cfunc, "CODE_FUNC=%s", func) < 0 ||
	    asprintf(&ident, "SYSLOG_IDENTIFIER=%s", log_ident) < 0)
		return -ENOMEM;

	iov[n++] = (struct iovec){ m, strlen(m) };
	iov[n++] = (struct iovec){ prio, strlen(prio) };
	iov[n++] = (struct iovec){ cfile, strlen(cfile) };
	iov[n++] = (struct iovec){ cline, strlen(cline) };
	iov[n++] = (struct iovec){ cfunc, strlen(cfunc) };
	iov[n++] = (struct iovec){ ident, strlen(ident) };
	if (error != 0) {
		if (asprintf(&errstr, "ERRNO=%d", error) < 0)
			return -ENOMEM;
		iov[n++] = (struct iovec){ errstr, strlen(errstr) };
	}
	for (size_t i = 0; fields && fields[i] && i < LOG_FIELDS_MAX; i++)
		iov[n++] = (struct iovec){ (void *)fields[i], strlen(fields[i]) };

	return sd_journal_sendv(iov, (int)n);
}

int alga_log_internal(int level, int error, const char *file, int line, const char *func,
		      const char *const *fields, const char *format, ...)
{
	_cleanup_free_ char *message = NULL;
	int saved_errno = errno, e = error < 0 ? -error : error;
	va_list ap;

	/* %m reads errno: make it the error being logged */
	errno = e;
	va_start(ap, format);
	if (vasprintf(&message, format, ap) < 0)
		message = NULL;
	va_end(ap);

	if (!message)
		(void)fprintf(stderr, "%s: Out of memory while logging\n", log_ident);
	else if (log_target != ALGA_LOG_TARGET_JOURNAL ||
		 log_to_journal(level, e, file, line, func, fields, message) < 0)
		(void)fprintf(stderr, "%s: %s\n", log_ident, message);

	errno = saved_errno;
	return -e;
}

int alga_set_detail(int r, char **reterr_detail, const char *format, ...)
{
	va_list ap;

	if (!reterr_detail)
		return r;

	free(*reterr_detail);
	*reterr_detail = NULL;
	va_start(ap, format);
	if (vasprintf(reterr_detail, format, ap) < 0)
		*reterr_detail = NULL;
	va_end(ap);
	return r;
}
