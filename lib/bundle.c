/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The support bundle writer (host.md §4.5). See bundle.h for the shape;
 * the collectors below write every byte through bundle_write(), which
 * redacts by line into the entry's spool, so no collector can bypass
 * redaction or the caps. Fixes upstream's support-bundle.mjs (host.md §3
 * item 12): nothing spawned, no temp dir, no same-second overwrite, no
 * buffering of whole outputs.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <json-c/json.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>

#include "alga-config.h"
#include "bundle.h"
#include "crash.h"
#include "crypto.h"
#include "fsutil.h"
#include "json.h"
#include "kube.h"
#include "log.h"
#include "redact.h"
#include "yaml-json.h"

#define STATUS_OK 0
#define STATUS_ERROR 1
#define STATUS_TIMEOUT 124

#define BUS_TIMEOUT_USEC (2 * USEC_PER_SEC)
#define KNOWN_SECRET_FILE_MAX 4096u
/* journal bytes read between two journal_drop_pages() */
#define JOURNAL_DROP_BYTES (64u * 1024u)

/* our units, k3s and upstream's four names: the agent's journal filter (host.md §4.4) */
static const char *const journal_units[] = {
	"alga-token.service",      "alga-bootstrap.service",     "alga-banner.service",
	"alga-setup.service",      "alga-setup-resume.service",  "alga-agent.service",
	"alga-kubeconfig.service", "k3s.service",                "alga-appliance.service",
	"alga-appliance-bootstrap.service", "alga-appliance-console.service",
	"alga-host-agent.service",
};

/* known secrets under root whose values T0 replaces wherever they appear */
static const char *const known_secrets[] = {
	"/var/lib/alga/setup-token",
	"/var/lib/alga/secrets/session-secret",
	"/var/lib/alga/secrets/alga-auth-key",
	"/var/lib/alga/session-secret",
	"/var/lib/rancher/k3s/server/token",
};

/* never read (host.md §4.5, resolutions.md A14): exact files ... */
static const char *const deny_files[] = {
	"/var/lib/alga/setup-token",
	"/var/lib/alga/session-secret",
	"/var/lib/alga/setup/admin-credential.json",
	"/var/lib/alga/kubeconfig",
	"/etc/rancher/k3s/k3s.yaml",
	"/var/lib/rancher/k3s/server/token",
	"/var/lib/rancher/k3s/server/node-token",
	"/var/lib/rancher/k3s/server/agent-token",
};

/* ... and everything under these */
static const char *const deny_dirs[] = {
	"/var/lib/alga/secrets",
	"/var/lib/rancher/k3s/server/tls",
	"/var/lib/rancher/k3s/server/cred",
};

/* setup/ files of mode 0600 are secret (setup.md §2.5) */
#define SETUP_DIR "/var/lib/alga/setup"

/* meta/ state files (host.md §4.5), structurally redacted */
static const struct {
	const char *entry;
	const char *path;
} state_files[] = {
	{ "meta/bootstrap.json", "/var/lib/alga/bootstrap.json" },
	{ "meta/setup-state.json", "/var/lib/alga/setup/setup.json" },
	{ "meta/release-selection.json", "/var/lib/alga/setup/release-selection.json" },
	{ "meta/build-info.json", "/usr/share/alga/build-info.json" },
};

/* the namespaces whose pod logs go to logs/ */
static const char *const log_namespaces[] = {
	"flux-system", "alga-system", "msp", "local-path-storage", "kube-system",
};

struct alga_bundle_output {
	int dir_fd;      /* -EBADF for fd output */
	int fd;          /* the archive file, or the caller's fd */
	bool owns_fd;
	bool tmpfile;    /* O_TMPFILE (else tmp_name is a named temp) */
	char *tmp_name;  /* named temp fallback */
	char *file_name; /* --output FILE: the final name in dir_fd */
	char *dir;       /* the directory's path, for the result */
};

struct bundle {
	const struct alga_bundle_options *o;
	const char *root;
	struct alga_bundle_output *out;
	struct archive *ar;
	struct alga_sha256 *sha;
	uint64_t out_bytes;
	int out_error;
	time_t now;
	uint64_t start_usec;
	uint64_t deadline_usec;

	struct alga_redact *redact;
	uint64_t totals[_ALGA_REDACT_RULE_MAX];
	struct json_object *manifest; /* array */
	unsigned n_files, n_failed, n_truncated;
	uint64_t total_bytes; /* uncompressed, over the entries so far */

	/* the entry being written */
	int spool_fd;
	char *buf;
	size_t buf_len;
	uint64_t entry_bytes;
	uint64_t entry_cap;
	bool entry_truncated;
	bool entry_truncated_head; /* lines left out before the first one */
	bool entry_marker;         /* room for ALGA_BUNDLE_TRUNCATED_MARKER */
	int entry_error;
	uint64_t entry_start_usec;

	uint64_t journal_read; /* bytes since the last journal_drop_pages() */

	/* cluster */
	struct alga_kube *kube;
	int kube_error;
	char *kube_error_msg;
	char *kubeconfig;
	bool k3s_kubeconfig;
};

static uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / NSEC_PER_USEC;
}

static bool deadline_passed(struct bundle *b)
{
	return now_usec(CLOCK_MONOTONIC) > b->deadline_usec;
}

/* names */

bool alga_bundle_name_is_valid(const char *name)
{
	regex_t re;
	bool ok;

	if (!name || strlen(name) > 128)
		return false;
	if (regcomp(&re, ALGA_BUNDLE_NAME_RE, REG_EXTENDED | REG_NOSUB) != 0)
		return false;
	ok = regexec(&re, name, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

/* the denylist */

static char *resolve_under(const char *root, const char *path)
{
	_cleanup_free_ char *full = alga_fs_path_join(root, path);
	char *r;

	if (!full)
		return NULL;
	r = realpath(full, NULL);
	if (r)
		return r;
	/* absent: compare as written */
	return TAKE_PTR(full);
}

static bool path_is_under(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	if (n > 0 && dir[n - 1] == '/')
		n--;
	return strncmp(p, dir, n) == 0 && (p[n] == '/' || p[n] == '\0');
}

bool alga_bundle_path_is_denied(const char *root, const char *path)
{
	_cleanup_free_ char *full = NULL, *real = NULL, *rroot = NULL, *setup = NULL;
	struct stat st;

	full = alga_fs_path_join(root, path);
	if (!full)
		return true;
	real = realpath(full, NULL);
	if (!real)
		return true;

	/* under --root, nothing outside it */
	if (root && !streq(root, "/")) {
		rroot = realpath(root, NULL);
		if (!rroot || !path_is_under(real, rroot))
			return true;
	}

	for (size_t i = 0; i < ELEMENTSOF(deny_files); i++) {
		_cleanup_free_ char *d = resolve_under(root, deny_files[i]);

		if (!d || streq(real, d))
			return true;
	}
	for (size_t i = 0; i < ELEMENTSOF(deny_dirs); i++) {
		_cleanup_free_ char *d = resolve_under(root, deny_dirs[i]);

		if (!d || path_is_under(real, d))
			return true;
	}

	setup = resolve_under(root, SETUP_DIR);
	if (!setup)
		return true;
	if (path_is_under(real, setup)) {
		if (stat(real, &st) < 0)
			return true;
		if ((st.st_mode & 07777) == 0600)
			return true;
	}
	return false;
}

/* the redaction context */

int alga_bundle_redact_new(const char *root, alga_redact_write_t write, void *userdata,
			   struct alga_redact **ret)
{
	_cleanup_(alga_redact_freep) struct alga_redact *r = NULL;
	int k;

	k = alga_redact_new(write, userdata, &r);
	if (k < 0)
		return k;

	for (size_t i = 0; i < ELEMENTSOF(known_secrets); i++) {
		_cleanup_free_ char *path = alga_fs_path_join(root, known_secrets[i]);
		_cleanup_free_ char *value = NULL;
		size_t len = 0;

		if (!path)
			return -ENOMEM;
		/* absent or unreadable: nothing to look for */
		if (alga_fs_read_file(AT_FDCWD, path, KNOWN_SECRET_FILE_MAX, &value, &len, NULL) < 0)
			continue;
		while (len > 0 && (value[len - 1] == '\n' || value[len - 1] == '\r'))
			len--;
		k = alga_redact_add_secret(r, value, len);
		explicit_bzero(value, len);
		if (k == -ENOMEM)
			return k;
	}

	*ret = TAKE_PTR(r);
	return 0;
}

/* outputs */

struct alga_bundle_output *alga_bundle_output_free(struct alga_bundle_output *out)
{
	if (!out)
		return NULL;
	if (out->tmp_name && out->dir_fd >= 0)
		(void)unlinkat(out->dir_fd, out->tmp_name, 0);
	if (out->owns_fd)
		safe_close(out->fd);
	safe_close(out->dir_fd);
	free(out->tmp_name);
	free(out->file_name);
	free(out->dir);
	free(out);
	return NULL;
}

static bool tmpfile_unsupported(int e)
{
	return e == EOPNOTSUPP || e == EISDIR || e == EINVAL;
}

/* an unnamed (or, without O_TMPFILE, a hidden named) file in dir_fd */
static int output_make_file(struct alga_bundle_output *out)
{
	int fd;

	fd = openat(out->dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0640);
	if (fd < 0 && tmpfile_unsupported(errno)) {
		uint8_t rnd[6];
		char hex[13];

		if (alga_crypto_random_bytes(rnd, sizeof(rnd)) < 0)
			return -EIO;
		alga_hex_encode(rnd, sizeof(rnd), hex);
		if (asprintf(&out->tmp_name, ".alga-bundle.%s", hex) < 0)
			return -ENOMEM;
		fd = openat(out->dir_fd, out->tmp_name,
			    O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (fd < 0) {
			out->tmp_name = mfree(out->tmp_name);
			return negative_errno();
		}
		out->fd = fd;
		out->owns_fd = true;
		return 0;
	}
	if (fd < 0)
		return negative_errno();
	/* the umask may have narrowed it */
	(void)fchmod(fd, 0640);
	out->fd = fd;
	out->owns_fd = true;
	out->tmpfile = true;
	return 0;
}

int alga_bundle_output_open_dir(const char *dir, struct alga_bundle_output **ret)
{
	_cleanup_(alga_bundle_output_freep) struct alga_bundle_output *out = NULL;
	int r;

	out = calloc(1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	out->dir_fd = out->fd = -EBADF;
	out->dir = strdup(dir);
	if (!out->dir)
		return -ENOMEM;

	out->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (out->dir_fd < 0 && errno == ENOENT) {
		r = alga_fs_mkdir_p(dir, 0750);
		if (r < 0)
			return r;
		out->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (out->dir_fd < 0)
		return negative_errno();

	r = output_make_file(out);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(out);
	return 0;
}

int alga_bundle_output_open_file(const char *path, struct alga_bundle_output **ret)
{
	_cleanup_(alga_bundle_output_freep) struct alga_bundle_output *out = NULL;
	const char *slash;
	int r;

	if (isempty(path) || path[strlen(path) - 1] == '/')
		return -EINVAL;
	out = calloc(1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	out->dir_fd = out->fd = -EBADF;

	slash = strrchr(path, '/');
	if (slash) {
		out->dir = strndup(path, (size_t)(slash - path) ?: 1);
		out->file_name = strdup(slash + 1);
	} else {
		out->dir = strdup(".");
		out->file_name = strdup(path);
	}
	if (!out->dir || !out->file_name)
		return -ENOMEM;

	out->dir_fd = open(out->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (out->dir_fd < 0)
		return negative_errno();
	r = output_make_file(out);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(out);
	return 0;
}

int alga_bundle_output_open_fd(int fd, struct alga_bundle_output **ret)
{
	struct alga_bundle_output *out;

	if (fd < 0)
		return -EBADF;
	out = calloc(1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	out->dir_fd = -EBADF;
	out->fd = fd;
	*ret = out;
	return 0;
}

struct alga_bundle_result *alga_bundle_result_free(struct alga_bundle_result *res)
{
	if (!res)
		return NULL;
	free(res->name);
	free(res->path);
	if (res->redactions)
		json_object_put(res->redactions);
	free(res);
	return NULL;
}

/* the archive stream: every byte goes to the output and the digest */

static la_ssize_t archive_write_cb(struct archive *a, void *userdata, const void *buf, size_t len)
{
	struct bundle *b = userdata;
	const char *p = buf;
	size_t left = len;

	while (left > 0) {
		ssize_t n = write(b->out->fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			b->out_error = negative_errno();
			archive_set_error(a, -b->out_error, "write failed");
			return -1;
		}
		p += n;
		left -= (size_t)n;
	}
	if (alga_sha256_update(b->sha, buf, len) < 0) {
		b->out_error = -ENOMEM;
		archive_set_error(a, ENOMEM, "digest failed");
		return -1;
	}
	b->out_bytes += len;
	return (la_ssize_t)len;
}

static int archive_error(struct bundle *b)
{
	int e;

	if (b->out_error < 0)
		return b->out_error;
	e = archive_errno(b->ar);
	return e > 0 ? -e : -EIO;
}

static int archive_start(struct bundle *b)
{
	int r;

	b->ar = archive_write_new();
	if (!b->ar)
		return -ENOMEM;
	if (archive_write_set_format_pax_restricted(b->ar) != ARCHIVE_OK ||
	    archive_write_add_filter_gzip(b->ar) != ARCHIVE_OK)
		return -EIO;
	/* the gzip stream is the last thing; no 10 KiB padding of the final block */
	(void)archive_write_set_bytes_in_last_block(b->ar, 1);
	r = archive_write_open(b->ar, b, NULL, archive_write_cb, NULL);
	if (r != ARCHIVE_OK)
		return archive_error(b);
	return 0;
}

static struct archive_entry *entry_new(struct bundle *b, const char *path, mode_t type,
				       mode_t perm, int64_t size)
{
	struct archive_entry *e = archive_entry_new();

	if (!e)
		return NULL;
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, perm);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	archive_entry_set_uname(e, "root");
	archive_entry_set_gname(e, "root");
	archive_entry_set_mtime(e, b->now, 0);
	archive_entry_set_size(e, size);
	return e;
}

static int archive_add_dir(struct bundle *b, const char *path)
{
	struct archive_entry *e = entry_new(b, path, AE_IFDIR, 0700, 0);
	int r;

	if (!e)
		return -ENOMEM;
	r = archive_write_header(b->ar, e);
	archive_entry_free(e);
	return r == ARCHIVE_OK ? 0 : archive_error(b);
}

/* the spool of one entry */

static int spool_flush(struct bundle *b)
{
	const char *p = b->buf;
	size_t left = b->buf_len;

	while (left > 0) {
		ssize_t n = write(b->spool_fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		p += n;
		left -= (size_t)n;
	}
	b->buf_len = 0;
	return 0;
}

/* bytes after redaction: capped, buffered */
static int spool_append(struct bundle *b, const char *data, size_t len)
{
	int r;

	if (b->entry_truncated)
		return 0;
	if (b->entry_bytes + len > b->entry_cap) {
		size_t keep = (size_t)(b->entry_cap - b->entry_bytes);

		/* not inside a UTF-8 sequence */
		while (keep > 0 && ((unsigned char)data[keep] & 0xc0) == 0x80)
			keep--;
		len = keep;
		b->entry_truncated = true;
	}
	while (len > 0) {
		size_t n = MIN(len, ALGA_BUNDLE_BUFFER - b->buf_len);

		memcpy(b->buf + b->buf_len, data, n);
		b->buf_len += n;
		b->entry_bytes += n;
		data += n;
		len -= n;
		if (b->buf_len == ALGA_BUNDLE_BUFFER) {
			r = spool_flush(b);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int redact_write_cb(const char *buf, size_t len, void *userdata)
{
	struct bundle *b = userdata;
	int r;

	r = spool_append(b, buf, len);
	if (r < 0)
		b->entry_error = r;
	return r;
}

static uint64_t cap_pick(uint64_t want, uint64_t max)
{
	return want > 0 && want < max ? want : max;
}

/*
 * Starts an entry. The marker line is reserved within the caps; meta/'s
 * own documents (exempt) describe the others, so the total cap must not
 * cut them: they are bounded by the number of entries.
 */
static int entry_begin_full(struct bundle *b, bool exempt)
{
	uint64_t total_max = cap_pick(b->o->total_max, ALGA_BUNDLE_TOTAL_MAX);
	uint64_t left = total_max > b->total_bytes ? total_max - b->total_bytes : 0;
	uint64_t reserve = strlen(ALGA_BUNDLE_TRUNCATED_MARKER) + 2;

	if (ftruncate(b->spool_fd, 0) < 0 || lseek(b->spool_fd, 0, SEEK_SET) < 0)
		return negative_errno();
	b->buf_len = 0;
	b->entry_bytes = 0;
	b->entry_cap = cap_pick(b->o->entry_max, ALGA_BUNDLE_ENTRY_MAX);
	if (!exempt)
		b->entry_cap = MIN(b->entry_cap, left);
	/* no room for the marker either (the total is spent): empty, truncated:true */
	b->entry_marker = b->entry_cap >= reserve;
	b->entry_cap = b->entry_marker ? b->entry_cap - reserve : 0;
	b->entry_truncated = false;
	b->entry_truncated_head = false;
	b->entry_error = 0;
	b->entry_start_usec = now_usec(CLOCK_MONOTONIC);
	alga_redact_reset_counts(b->redact);
	return 0;
}

static int entry_begin(struct bundle *b)
{
	return entry_begin_full(b, false);
}

/* every collector byte goes through here: redacted by line */
static int bundle_write(struct bundle *b, const void *data, size_t len)
{
	if (b->entry_error < 0)
		return b->entry_error;
	if (b->entry_truncated)
		return 0;
	return alga_redact_feed(b->redact, data, len);
}

static int bundle_puts(struct bundle *b, const char *s)
{
	return bundle_write(b, s, strlen(s));
}

_printf_(2, 3) static int bundle_printf(struct bundle *b, const char *fmt, ...)
{
	_cleanup_free_ char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	return bundle_write(b, s, (size_t)n);
}

static int manifest_add(struct bundle *b, const char *path, const char *source, int status,
			const char *error)
{
	_cleanup_(json_object_putp) struct json_object *f = NULL, *counts = NULL;
	uint64_t ms = (now_usec(CLOCK_MONOTONIC) - b->entry_start_usec) / USEC_PER_MSEC;
	int r;

	r = alga_redact_counts_to_json(b->redact, &counts);
	if (r < 0)
		return r;
	f = json_object_new_object();
	if (!f)
		return -ENOMEM;
	if (alga_json_add(f, "path", json_object_new_string(path)) < 0 ||
	    alga_json_add(f, "source", json_object_new_string(source)) < 0 ||
	    alga_json_add(f, "ok", json_object_new_boolean(status == STATUS_OK)) < 0 ||
	    alga_json_add(f, "status", json_object_new_int(status)) < 0 ||
	    alga_json_add(f, "bytes", json_object_new_int64((int64_t)b->entry_bytes)) < 0 ||
	    alga_json_add(f, "truncated",
			  json_object_new_boolean(b->entry_truncated || b->entry_truncated_head)) < 0 ||
	    alga_json_add(f, "redactions", TAKE_PTR(counts)) < 0 ||
	    alga_json_add(f, "ms", json_object_new_int64((int64_t)ms)) < 0)
		return -ENOMEM;
	if (error ? alga_json_add(f, "error", json_object_new_string(error)) < 0 :
		    json_object_object_add(f, "error", NULL) < 0)
		return -ENOMEM;
	return alga_json_append(b->manifest, TAKE_PTR(f));
}

/*
 * Ends the entry: the last line redacted, the marker added when it was
 * cut, the spool copied into the archive with its size.
 */
static int entry_end(struct bundle *b, const char *path, const char *source, int status,
		     const char *error, bool in_manifest)
{
	struct archive_entry *e;
	char *copy;
	uint64_t off = 0;
	int r;

	r = alga_redact_finish(b->redact);
	if (r < 0)
		return r;
	if (b->entry_truncated && b->entry_marker) {
		static const char marker[] = "\n" ALGA_BUNDLE_TRUNCATED_MARKER "\n";

		/* our own text, past the cap reserved for it */
		b->entry_truncated = false;
		b->entry_cap += sizeof(marker) - 1;
		r = spool_append(b, marker, sizeof(marker) - 1);
		b->entry_truncated = true;
		if (r < 0)
			return r;
	}
	if (b->entry_truncated)
		b->n_truncated++;
	r = spool_flush(b);
	if (r < 0)
		return r;

	for (size_t i = 0; i < _ALGA_REDACT_RULE_MAX; i++)
		b->totals[i] += alga_redact_get_count(b->redact, (enum alga_redact_rule)i);
	if (in_manifest) {
		r = manifest_add(b, path, source, status, error);
		if (r < 0)
			return r;
		b->n_files++;
		if (status != STATUS_OK)
			b->n_failed++;
		if (b->entry_truncated_head && !b->entry_truncated)
			b->n_truncated++;
	}

	e = entry_new(b, path, AE_IFREG, 0600, (int64_t)b->entry_bytes);
	if (!e)
		return -ENOMEM;
	r = archive_write_header(b->ar, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return archive_error(b);

	/* the spool buffer is free now: copy through it */
	copy = b->buf;
	while (off < b->entry_bytes) {
		ssize_t n = pread(b->spool_fd, copy, ALGA_BUNDLE_BUFFER, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			return -EIO;
		if (archive_write_data(b->ar, copy, (size_t)n) != n)
			return archive_error(b);
		off += (uint64_t)n;
	}
	b->total_bytes += b->entry_bytes;
	alga_crash_point("bundle-archive");
	return 0;
}

/* a whole entry from one string (errors, small files) */
static int entry_text(struct bundle *b, const char *path, const char *source, int status,
		      const char *error, const char *text)
{
	int r;

	r = entry_begin(b);
	if (r < 0)
		return r;
	r = bundle_puts(b, text);
	if (r < 0)
		return r;
	return entry_end(b, path, source, status, error, true);
}

static int entry_failed(struct bundle *b, const char *path, const char *source, int status,
			const char *what, int err, const char *detail)
{
	_cleanup_free_ char *msg = NULL, *text = NULL;

	if (asprintf(&msg, "%s: %s%s%s", what, strerror(-err), detail ? ": " : "",
		     strempty(detail)) < 0 ||
	    asprintf(&text, "%s\n", msg) < 0)
		return -ENOMEM;
	return entry_text(b, path, source, status, msg, text);
}

/*
 * The text rules on every string value: a rule that runs to the end of a
 * line (T3, T8 after ':') would eat the closing quote if the serialised
 * document were redacted as text, so strings are redacted one by one and
 * the document stays valid JSON.
 */
static int json_redact_strings(struct bundle *b, struct json_object *o, unsigned depth)
{
	int r;

	if (depth > ALGA_REDACT_JSON_DEPTH_MAX)
		return -E2BIG;
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			r = json_redact_strings(b, json_object_array_get_idx(o, i), depth + 1);
			if (r < 0)
				return r;
		}
	} else if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, val) {
			(void)key;
			r = json_redact_strings(b, val, depth + 1);
			if (r < 0)
				return r;
		}
	} else if (json_object_is_type(o, json_type_string)) {
		_cleanup_free_ char *out = NULL;
		const char *in = json_object_get_string(o);
		size_t len = (size_t)json_object_get_string_len(o), n = 0;

		r = alga_redact_string(b->redact, in, len, &out, &n);
		if (r < 0)
			return r;
		if ((n != len || memcmp(in, out, n) != 0) &&
		    !json_object_set_string_len(o, out, (int)n))
			return -ENOMEM;
	}
	return 0;
}

/* a JSON document: S1-S4 (and T0), then the text rules on each string */
/* S1-S4 on the tree, then the text rules on each string */
static int redact_tree(struct bundle *b, struct json_object *doc)
{
	int r;

	r = alga_redact_json(b->redact, doc);
	if (r < 0)
		return r;
	return json_redact_strings(b, doc, 0);
}

static int spool_json(struct bundle *b, struct json_object *doc)
{
	_cleanup_free_ char *s = NULL;
	int r;

	r = alga_json_format(doc, ALGA_JSON_FORMAT_PRETTY | ALGA_JSON_FORMAT_NEWLINE, &s);
	if (r < 0)
		return r;
	/* every value is redacted already; the rules must not see the syntax */
	return spool_append(b, s, strlen(s));
}

static int bundle_write_json(struct bundle *b, struct json_object *doc)
{
	int r;

	r = redact_tree(b, doc);
	if (r < 0)
		return r;
	return spool_json(b, doc);
}

/* as kubectl -o yaml shows objects; JSON (a YAML subset) if a value has no YAML form */
static int bundle_write_yaml(struct bundle *b, struct json_object *doc)
{
	_cleanup_free_ char *s = NULL;
	size_t len;
	int r;

	r = redact_tree(b, doc);
	if (r < 0)
		return r;
	r = alga_yaml_format(doc, &s, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		r = bundle_printf(b, "# not writable as YAML (%s), so written as JSON\n", strerror(-r));
		if (r < 0)
			return r;
		return spool_json(b, doc);
	}
	return spool_append(b, s, len);
}

/* meta/: the state files */

static int collect_state_file(struct bundle *b, const char *entry, const char *path)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL;
	_cleanup_free_ char *full = NULL, *detail = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct alga_json_limits limits = ALGA_JSON_LIMITS_DEFAULT;
	struct stat st;
	int r;

	full = alga_fs_path_join(b->root, path);
	if (!full)
		return -ENOMEM;
	if (lstat(full, &st) < 0)
		return entry_failed(b, entry, path, STATUS_ERROR, "not read", negative_errno(),
				    NULL);
	if (alga_bundle_path_is_denied(b->root, path))
		return entry_text(b, entry, path, STATUS_ERROR,
				  "skipped: the file is on the bundle denylist",
				  "skipped: the file is on the bundle denylist\n");

	fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return entry_failed(b, entry, path, STATUS_ERROR, "not read", negative_errno(),
				    NULL);
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return entry_failed(b, entry, path, STATUS_ERROR, "not read", -EBADFD, NULL);

	limits.size_max = ALGA_BUNDLE_STATE_MAX;
	r = alga_json_parse_fd(fd, &limits, &doc, &detail);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		/* never copied raw: it could hold anything */
		return entry_failed(b, entry, path, STATUS_ERROR, "not valid JSON", r, detail);

	r = entry_begin(b);
	if (r < 0)
		return r;
	r = bundle_write_json(b, doc);
	if (r < 0)
		return r;
	return entry_end(b, entry, path, STATUS_OK, NULL, true);
}

/* the journal */

static bool is_binary(const unsigned char *d, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((d[i] < 0x20 && d[i] != '\t' && d[i] != '\n') || d[i] == 0x7f)
			return true;
	return false;
}

static void journal_field(sd_journal *j, const char *field, char *buf, size_t size)
{
	const void *d;
	size_t l, fl = strlen(field) + 1;

	buf[0] = '\0';
	if (sd_journal_get_data(j, field, &d, &l) < 0 || l < fl)
		return;
	snprintf(buf, size, "%.*s", (int)MIN(l - fl, size - 1), (const char *)d + fl);
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

static bool is_journal_file(const char *p)
{
	size_t n = strlen(p);

	return (n > 8 && streq(p + n - 8, ".journal")) || (n > 9 && streq(p + n - 9, ".journal~"));
}

/*
 * sd-journal maps its files MAP_SHARED read-only, in windows that it keeps
 * until the journal is closed, so every page a walk touches stays in our
 * RSS: 8 MiB of messages cost 8 MiB, and fault-around maps 64 KiB around
 * each hash-table or entry-array probe. Between two entries we hold no
 * pointer into those mappings, so their pages are dropped (MADV_DONTNEED
 * only unmaps the pages of a shared file mapping; a later access reads
 * them again from the page cache) and read-around is turned off
 * (MADV_RANDOM). Only read-only shared mappings of *.journal files are
 * touched; nothing else of libsystemd's.
 */
static void journal_drop_pages(struct bundle *b)
{
	_cleanup_fclose_ FILE *f = NULL;
	char line[PATH_MAX + 128];

	b->journal_read = 0;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;
		char perms[8];
		char *path;
		int n = 0;

		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &start, &end, perms, &n) < 3 || n <= 0)
			continue;
		path = line + n;
		path[strcspn(path, "\n")] = '\0';
		if (!streq(perms, "r--s") || !is_journal_file(path) || end <= start)
			continue;
		(void)madvise((void *)start, end - start, MADV_RANDOM);
		(void)madvise((void *)start, end - start, MADV_DONTNEED);
	}
}

static void journal_account(struct bundle *b, size_t bytes)
{
	b->journal_read += bytes;
	if (b->journal_read >= JOURNAL_DROP_BYTES)
		journal_drop_pages(b);
}

/* one entry in journalctl's short-iso shape (UTC), MESSAGE cut at 8 KiB */
static int journal_write_entry(struct bundle *b, sd_journal *j)
{
	char host[256], ident[256], pid[32], ts[64];
	const void *d = NULL;
	const char *msg = "";
	size_t l = 0, n;
	uint64_t usec;
	time_t t;
	struct tm tm;
	int r;

	r = sd_journal_get_realtime_usec(j, &usec);
	if (r < 0)
		return 0;
	t = (time_t)(usec / USEC_PER_SEC);
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S+00:00", &tm);

	journal_field(j, "_HOSTNAME", host, sizeof(host));
	journal_field(j, "SYSLOG_IDENTIFIER", ident, sizeof(ident));
	if (!ident[0])
		journal_field(j, "_COMM", ident, sizeof(ident));
	journal_field(j, "_PID", pid, sizeof(pid));
	if (!pid[0])
		journal_field(j, "SYSLOG_PID", pid, sizeof(pid));

	if (sd_journal_get_data(j, "MESSAGE", &d, &l) >= 0 && l >= 8) {
		msg = (const char *)d + 8;
		l -= 8;
	} else
		l = 0;
	/* counted now, dropped after the entry by journal_write_tail() */
	b->journal_read += l;

	if (pid[0])
		r = bundle_printf(b, "%s %s %s[%s]: ", ts, host[0] ? host : "localhost",
				  ident[0] ? ident : "unknown", pid);
	else
		r = bundle_printf(b, "%s %s %s: ", ts, host[0] ? host : "localhost",
				  ident[0] ? ident : "unknown");
	if (r < 0)
		return r;

	if (is_binary((const unsigned char *)msg, l))
		return bundle_printf(b, "[binary %zu bytes]\n", l);

	n = MIN(l, (size_t)ALGA_BUNDLE_MESSAGE_MAX);
	while (n < l && n > 0 && ((unsigned char)msg[n] & 0xc0) == 0x80)
		n--;
	/* continuation lines indented, as journalctl does */
	for (size_t i = 0, start = 0; i <= n; i++) {
		if (i < n && msg[i] != '\n')
			continue;
		if (start > 0) {
			r = bundle_puts(b, "\n    ");
			if (r < 0)
				return r;
		}
		r = bundle_write(b, msg + start, i - start);
		if (r < 0)
			return r;
		start = i + 1;
	}
	if (n < l)
		return bundle_printf(b, " [cut at %zu of %zu bytes]\n", n, l);
	return bundle_puts(b, "\n");
}

static int journal_open(struct bundle *b, sd_journal **ret)
{
	if (b->o->journal_dir)
		return sd_journal_open_directory(ret, b->o->journal_dir, 0);
	return sd_journal_open(ret, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
}

/* the boot of the newest entry: "this boot" of a journal directory, too */
static int journal_match_last_boot(sd_journal *j)
{
	const void *d;
	size_t l;
	char m[64];
	int r;

	r = sd_journal_seek_tail(j);
	if (r < 0)
		return r;
	r = sd_journal_previous(j);
	if (r <= 0)
		return r;
	r = sd_journal_get_data(j, "_BOOT_ID", &d, &l);
	if (r < 0)
		return 0;
	snprintf(m, sizeof(m), "%.*s", (int)MIN(l, sizeof(m) - 1), (const char *)d);
	return sd_journal_add_match(j, m, 0);
}

/*
 * The last max entries of j's matches, oldest first, streamed: walk back
 * from the tail, then forward, so nothing is held in memory. The walk back
 * stops once the messages passed fill the entry cap, so a huge journal
 * costs no more pages than one full file; the older lines dropped that way
 * are announced by the truncation marker at the top, and the newest lines
 * are kept.
 */
static int journal_write_tail(struct bundle *b, sd_journal *j, unsigned max, int *ret_status)
{
	uint64_t bytes = 0;
	unsigned n = 0;
	bool cut = false;
	int r;

	*ret_status = STATUS_OK;
	r = sd_journal_seek_tail(j);
	if (r < 0)
		return r;
	while (n < max) {
		const void *d;
		size_t l;

		r = sd_journal_previous(j);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		/* the line's prefix, the message as cut at ALGA_BUNDLE_MESSAGE_MAX */
		if (sd_journal_get_data(j, "MESSAGE", &d, &l) >= 0) {
			bytes += MIN(l, (size_t)ALGA_BUNDLE_MESSAGE_MAX + 64);
			journal_account(b, l);
		}
		bytes += 96;
		if (n > 0 && bytes > b->entry_cap) {
			/* one step too far: back to the oldest entry that fits */
			r = sd_journal_next(j);
			if (r < 0)
				return r;
			cut = true;
			break;
		}
		n++;
	}
	if (n == 0)
		return bundle_puts(b, "No journal entries match.\n");
	if (r == 0) {
		/* walked past the head: back to the first match */
		r = sd_journal_seek_head(j);
		if (r < 0)
			return r;
		r = sd_journal_next(j);
		if (r <= 0)
			return r;
	}
	if (cut) {
		r = bundle_puts(b, ALGA_BUNDLE_TRUNCATED_MARKER " (older entries left out)\n");
		if (r < 0)
			return r;
		b->entry_truncated_head = true;
	}
	for (unsigned i = 0; i < n; i++) {
		if (i > 0) {
			r = sd_journal_next(j);
			if (r < 0)
				return r;
			if (r == 0)
				break;
		}
		r = journal_write_entry(b, j);
		if (r < 0)
			return r;
		/* the fields and the entry arrays around it, besides the message */
		journal_account(b, 512);
		if (b->entry_truncated)
			break;
		if ((i & 255) == 0 && deadline_passed(b)) {
			*ret_status = STATUS_TIMEOUT;
			return bundle_puts(b, "[journal read stopped: bundle deadline]\n");
		}
	}
	return 0;
}

/*
 * Which of field=values[i] some entry has, as a bit mask. Each is probed
 * alone, with no other match pending, and the pages the probe touched are
 * dropped: a hash-table probe faults in 64 KiB around it, so the 24 unit
 * matches looked up together, most of them absent, cost 3 MiB of RSS.
 */
static int journal_present(struct bundle *b, sd_journal *j, const char *field,
			   const char *const *values, size_t n, uint64_t *ret)
{
	uint64_t mask = 0;
	char m[128];
	int r;

	assert(n <= 64);
	for (size_t i = 0; i < n; i++) {
		snprintf(m, sizeof(m), "%s%s", field, values[i]);
		r = sd_journal_add_match(j, m, 0);
		if (r >= 0)
			r = sd_journal_seek_tail(j);
		if (r >= 0)
			r = sd_journal_previous(j);
		sd_journal_flush_matches(j);
		journal_drop_pages(b);
		if (r < 0)
			return r;
		if (r > 0)
			mask |= UINT64_C(1) << i;
	}
	*ret = mask;
	return 0;
}

/* the matches of journal_present()'s mask, ORed */
static int journal_add_mask(sd_journal *j, const char *field, const char *const *values, size_t n,
			    uint64_t mask)
{
	char m[128];
	int r;

	for (size_t i = 0; i < n; i++) {
		if (!(mask & (UINT64_C(1) << i)))
			continue;
		snprintf(m, sizeof(m), "%s%s", field, values[i]);
		r = sd_journal_add_match(j, m, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

enum journal_kind {
	JOURNAL_APPLIANCE,
	JOURNAL_ERRORS,
	JOURNAL_KERNEL,
};

static int collect_journal(struct bundle *b, const char *entry, enum journal_kind kind)
{
	static const char *const priorities[] = { "0", "1", "2", "3" };
	static const char *const kernel[] = { "kernel" };
	_cleanup_(sd_journal_closep) sd_journal *j = NULL;
	unsigned max = ALGA_BUNDLE_JOURNAL_LINES_DEFAULT;
	int status = STATUS_OK, r;
	uint64_t mask = 0, mask2 = 0;

	r = entry_begin(b);
	if (r < 0)
		return r;

	r = journal_open(b, &j);
	if (r < 0) {
		status = STATUS_ERROR;
		r = bundle_printf(b, "Failed to open the journal: %s\n", strerror(-r));
		goto done;
	}

	switch (kind) {
	case JOURNAL_APPLIANCE:
		max = b->o->journal_lines ?: ALGA_BUNDLE_JOURNAL_LINES_DEFAULT;
		r = journal_present(b, j, "_SYSTEMD_UNIT=", journal_units, ELEMENTSOF(journal_units),
				    &mask);
		if (r >= 0)
			r = journal_present(b, j, "UNIT=", journal_units, ELEMENTSOF(journal_units),
					    &mask2);
		if (r >= 0)
			r = journal_add_mask(j, "_SYSTEMD_UNIT=", journal_units,
					     ELEMENTSOF(journal_units), mask);
		if (r >= 0 && mask && mask2)
			r = sd_journal_add_disjunction(j);
		if (r >= 0)
			r = journal_add_mask(j, "UNIT=", journal_units, ELEMENTSOF(journal_units), mask2);
		mask |= mask2;
		break;
	case JOURNAL_ERRORS:
		max = ALGA_BUNDLE_JOURNAL_ERRORS;
		r = journal_present(b, j, "PRIORITY=", priorities, ELEMENTSOF(priorities), &mask);
		if (r >= 0)
			r = journal_add_mask(j, "PRIORITY=", priorities, ELEMENTSOF(priorities), mask);
		if (r >= 0 && mask)
			r = journal_match_last_boot(j);
		break;
	case JOURNAL_KERNEL:
		max = ALGA_BUNDLE_KERNEL_LINES;
		r = journal_present(b, j, "_TRANSPORT=", kernel, ELEMENTSOF(kernel), &mask);
		if (r >= 0)
			r = journal_add_mask(j, "_TRANSPORT=", kernel, ELEMENTSOF(kernel), mask);
		if (r >= 0 && mask)
			r = journal_match_last_boot(j);
		break;
	}
	if (r < 0) {
		status = STATUS_ERROR;
		r = bundle_printf(b, "Failed to set up the journal query: %s\n", strerror(-r));
		goto done;
	}

	/* what opening and the matches touched */
	journal_drop_pages(b);
	if (!mask)
		/* no match at all would mean every entry */
		r = bundle_puts(b, "No journal entries match.\n");
	else
		r = journal_write_tail(b, j, max, &status);
	if (r == -ENOMEM || b->entry_error < 0)
		return r;
	if (r < 0) {
		status = STATUS_ERROR;
		r = bundle_printf(b, "Failed to read the journal: %s\n", strerror(-r));
	}
done:
	if (r < 0)
		return r;
	return entry_end(b, entry, "sd-journal", status,
			 status == STATUS_OK ? NULL :
			 status == STATUS_TIMEOUT ? "bundle deadline passed" :
						    "journal not readable", true);
}

/* host/: the agent's files */

static int collect_agent_files(struct bundle *b)
{
	_cleanup_(json_object_putp) struct json_object *files = NULL;
	int r;

	if (!b->o->host)
		return 0;
	r = b->o->host(b->o->host_userdata, &files);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return entry_failed(b, "host/collectors-error.txt", "host collectors", STATUS_ERROR,
				    "host collectors failed", r, NULL);

	for (size_t i = 0; i < json_object_array_length(files); i++) {
		struct json_object *f = json_object_array_get_idx(files, i), *v;
		const char *path = NULL, *source = "host", *content = "";
		int status = STATUS_ERROR;
		bool truncated = false;

		if (json_object_object_get_ex(f, "path", &v))
			path = json_object_get_string(v);
		if (!path || !str_has_prefix(path, "host/") || strstr(path, ".."))
			continue;
		/* streamed by lib/bundle itself, without the agent's 1 MiB cap */
		if (streq(path, "host/appliance-journal.txt"))
			continue;
		if (json_object_object_get_ex(f, "source", &v))
			source = json_object_get_string(v);
		if (json_object_object_get_ex(f, "status", &v))
			status = json_object_get_int(v);
		if (json_object_object_get_ex(f, "content", &v))
			content = json_object_get_string(v);
		if (json_object_object_get_ex(f, "truncated", &v))
			truncated = json_object_get_boolean(v);

		r = entry_begin(b);
		if (r < 0)
			return r;
		r = bundle_puts(b, content);
		if (r < 0)
			return r;
		if (truncated)
			b->entry_truncated = true;
		r = entry_end(b, path, source, status,
			      status == STATUS_OK ? NULL :
			      status == STATUS_TIMEOUT ? "deadline passed" : "collector failed", true);
		if (r < 0)
			return r;
	}
	return 0;
}

/* host/units.txt over sd-bus */

static int units_list(struct bundle *b, sd_bus *bus, const char *method, const char *const *arg1,
		      const char *const *arg2)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	const char *id, *desc, *load, *active, *sub;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1",
					   "/org/freedesktop/systemd1",
					   "org.freedesktop.systemd1.Manager", method);
	if (r < 0)
		return r;
	r = sd_bus_message_append_strv(m, (char **)arg1);
	if (r >= 0 && arg2)
		r = sd_bus_message_append_strv(m, (char **)arg2);
	if (r < 0)
		return r;
	r = sd_bus_call(bus, m, BUS_TIMEOUT_USEC, &err, &reply);
	sd_bus_error_free(&err);
	if (r < 0)
		return r;

	r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(reply, "(ssssssouso)", &id, &desc, &load, &active, &sub,
					NULL, NULL, NULL, NULL, NULL)) > 0) {
		r = bundle_printf(b, "%-40s %-10s %-10s %-12s %s\n", id, load, active, sub, desc);
		if (r < 0)
			return r;
	}
	return r;
}

static int collect_units(struct bundle *b)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	static const char *const none[] = { NULL };
	static const char *const ours[] = { "alga-*", "k3s*", NULL };
	static const char *const failed[] = { "failed", NULL };
	int r, status = STATUS_OK;

	r = entry_begin(b);
	if (r < 0)
		return r;

	r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = sd_bus_set_method_call_timeout(bus, BUS_TIMEOUT_USEC);
	if (r >= 0) {
		r = bundle_printf(b, "# alga-* and k3s units\n%-40s %-10s %-10s %-12s %s\n", "UNIT",
				  "LOAD", "ACTIVE", "SUB", "DESCRIPTION");
		if (r >= 0)
			r = units_list(b, bus, "ListUnitsByPatterns", none, ours);
		if (r >= 0)
			r = bundle_puts(b, "\n# failed units\n");
		if (r >= 0)
			r = units_list(b, bus, "ListUnitsFiltered", failed, NULL);
	}
	if (r == -ENOMEM || b->entry_error < 0)
		return r;
	if (r < 0) {
		status = STATUS_ERROR;
		r = bundle_printf(b, "Failed to list units over D-Bus: %s\n", strerror(-r));
		if (r < 0)
			return r;
	}
	return entry_end(b, "host/units.txt", "sd-bus", status,
			 status == STATUS_OK ? NULL : "D-Bus not reachable", true);
}

/* host/os.txt */

static int write_file_section(struct bundle *b, const char *title, const char *path, bool rooted)
{
	_cleanup_free_ char *full = NULL, *data = NULL;
	size_t len = 0;
	int r;

	full = rooted ? alga_fs_path_join(b->root, path) : strdup(path);
	if (!full)
		return -ENOMEM;
	r = bundle_printf(b, "# %s (%s)\n", title, path);
	if (r < 0)
		return r;
	if (access(full, F_OK) < 0)
		return bundle_printf(b, "not read: %s\n\n", strerror(errno));
	if (rooted && alga_bundle_path_is_denied(b->root, path))
		return bundle_puts(b, "skipped: on the bundle denylist\n\n");
	r = alga_fs_read_file(AT_FDCWD, full, 256u * 1024u, &data, &len, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return bundle_printf(b, "not read: %s\n\n", strerror(-r));
	r = bundle_write(b, data, len);
	if (r < 0)
		return r;
	return bundle_puts(b, len > 0 && data[len - 1] != '\n' ? "\n\n" : "\n");
}

static int ntp_synchronized(int *ret)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	sd_bus_error err = SD_BUS_ERROR_NULL;
	int r, v = 0;

	r = sd_bus_open_system(&bus);
	if (r >= 0)
		r = sd_bus_set_method_call_timeout(bus, BUS_TIMEOUT_USEC);
	if (r >= 0)
		r = sd_bus_get_property_trivial(bus, "org.freedesktop.timedate1",
						"/org/freedesktop/timedate1",
						"org.freedesktop.timedate1", "NTPSynchronized", &err,
						'b', &v);
	sd_bus_error_free(&err);
	if (r < 0)
		return r;
	*ret = v;
	return 0;
}

static int collect_os(struct bundle *b)
{
	_cleanup_free_ char *osr = alga_fs_path_join(b->root, "/etc/os-release");
	struct utsname u;
	int r, ntp = 0;

	if (!osr)
		return -ENOMEM;
	r = entry_begin(b);
	if (r < 0)
		return r;
	r = write_file_section(b, "os-release",
			       access(osr, F_OK) == 0 ? "/etc/os-release" : "/usr/lib/os-release",
			       true);
	if (r >= 0 && uname(&u) == 0)
		r = bundle_printf(b, "# uname\n%s %s %s %s\n\n", u.sysname, u.release, u.version,
				  u.machine);
	if (r >= 0)
		r = write_file_section(b, "meminfo", "/proc/meminfo", false);
	if (r >= 0)
		r = write_file_section(b, "loadavg", "/proc/loadavg", false);
	if (r >= 0) {
		int k = ntp_synchronized(&ntp);

		if (k < 0)
			r = bundle_printf(b, "# NTP\nNTPSynchronized=unknown (%s)\n", strerror(-k));
		else
			r = bundle_printf(b, "# NTP\nNTPSynchronized=%s\n", ntp ? "yes" : "no");
	}
	if (r < 0)
		return r;
	return entry_end(b, "host/os.txt", "os-release+proc+timedated", STATUS_OK, NULL, true);
}

/* cluster/ */

static bool kube_error_is_transport(int r)
{
	return r == -ECONNREFUSED || r == -ETIMEDOUT || r == -ECONNRESET || r == -EKEYREJECTED ||
	       r == -EHOSTUNREACH || r == -ENETUNREACH || r == -EADDRNOTAVAIL;
}

/* the API is down or unusable: every later file records the first error */
/* entry as a failed request r; -ENOMEM is handed back, not written */
static int cluster_failed(struct bundle *b, const char *entry, const char *source, int r,
			  const char *detail)
{
	if (r == -ENOMEM)
		return r;
	if (b->kube_error < 0)
		return entry_failed(b, entry, source, STATUS_ERROR, "Kubernetes API not reachable",
				    b->kube_error, b->kube_error_msg);
	if (kube_error_is_transport(r)) {
		b->kube_error = r;
		b->kube_error_msg = detail ? strdup(detail) : NULL;
	}
	return entry_failed(b, entry, source, r == -ETIMEDOUT ? STATUS_TIMEOUT : STATUS_ERROR,
			    "Kubernetes API request failed", r, detail);
}

static int cluster_precheck(struct bundle *b, const char *entry, const char *source)
{
	if (b->kube_error < 0)
		return cluster_failed(b, entry, source, b->kube_error, NULL);
	if (deadline_passed(b)) {
		b->kube_error = -ETIMEDOUT;
		b->kube_error_msg = strdup("the bundle's 120 s deadline passed");
		return cluster_failed(b, entry, source, -ETIMEDOUT, NULL);
	}
	return 1;
}

static const char *cell_string(struct json_object *c, char *buf, size_t size)
{
	if (!c)
		return "<none>";
	switch (json_object_get_type(c)) {
	case json_type_string:
		return json_object_get_string(c);
	case json_type_null:
		return "<none>";
	case json_type_boolean:
	case json_type_double:
	case json_type_int:
	case json_type_object:
	case json_type_array:
		snprintf(buf, size, "%s", json_object_to_json_string_ext(c, JSON_C_TO_STRING_PLAIN));
		return buf;
	}
	return "";
}

/* a meta.k8s.io Table as kubectl prints it; namespaces from the row metadata */
static int write_table(struct bundle *b, struct json_object *table, bool with_ns)
{
	struct json_object *cols = NULL, *rows = NULL;
	size_t ncols, nrows, last = 0;
	_cleanup_free_ size_t *width = NULL;
	_cleanup_free_ bool *show = NULL;
	size_t nswidth = strlen("NAMESPACE");
	char buf[256];
	int r;

	if (!json_object_object_get_ex(table, "columnDefinitions", &cols) ||
	    !json_object_is_type(cols, json_type_array) ||
	    !json_object_object_get_ex(table, "rows", &rows) ||
	    !json_object_is_type(rows, json_type_array))
		return bundle_puts(b, "not a Table\n");
	ncols = json_object_array_length(cols);
	nrows = json_object_array_length(rows);
	width = calloc(ncols + 1, sizeof(size_t));
	show = calloc(ncols + 1, sizeof(bool));
	if (!width || !show)
		return -ENOMEM;

	for (size_t c = 0; c < ncols; c++) {
		struct json_object *d = json_object_array_get_idx(cols, c), *v;

		show[c] = !json_object_object_get_ex(d, "priority", &v) ||
			  json_object_get_int(v) == 0;
		if (json_object_object_get_ex(d, "name", &v))
			width[c] = strlen(json_object_get_string(v));
	}
	for (size_t i = 0; i < nrows; i++) {
		struct json_object *row = json_object_array_get_idx(rows, i), *cells, *o, *md, *ns;

		if (!json_object_object_get_ex(row, "cells", &cells))
			continue;
		for (size_t c = 0; c < ncols; c++)
			width[c] = MAX(width[c], strlen(cell_string(json_object_array_get_idx(cells, c),
								   buf, sizeof(buf))));
		if (with_ns && json_object_object_get_ex(row, "object", &o) &&
		    json_object_object_get_ex(o, "metadata", &md) &&
		    json_object_object_get_ex(md, "namespace", &ns))
			nswidth = MAX(nswidth, strlen(json_object_get_string(ns)));
	}

	if (nrows == 0)
		return bundle_puts(b, "No resources found.\n");

	if (with_ns) {
		r = bundle_printf(b, "%-*s   ", (int)nswidth, "NAMESPACE");
		if (r < 0)
			return r;
	}
	for (size_t c = 0; c < ncols; c++)
		if (show[c])
			last = c;
	for (size_t c = 0; c < ncols; c++) {
		struct json_object *v;
		const char *name = "";
		_cleanup_free_ char *up = NULL;

		if (!show[c])
			continue;
		if (json_object_object_get_ex(json_object_array_get_idx(cols, c), "name", &v))
			name = json_object_get_string(v);
		up = strdup(name);
		if (!up)
			return -ENOMEM;
		for (char *p = up; *p; p++)
			*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
		r = bundle_printf(b, "%-*s%s", c == last ? 0 : (int)width[c], up,
				  c == last ? "\n" : "   ");
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < nrows; i++) {
		struct json_object *row = json_object_array_get_idx(rows, i), *cells, *o, *md, *ns;
		const char *nsname = "";

		if (!json_object_object_get_ex(row, "cells", &cells))
			continue;
		if (with_ns && json_object_object_get_ex(row, "object", &o) &&
		    json_object_object_get_ex(o, "metadata", &md) &&
		    json_object_object_get_ex(md, "namespace", &ns))
			nsname = json_object_get_string(ns);
		if (with_ns) {
			r = bundle_printf(b, "%-*s   ", (int)nswidth, nsname);
			if (r < 0)
				return r;
		}
		for (size_t c = 0; c < ncols; c++) {
			if (!show[c])
				continue;
			r = bundle_printf(b, "%-*s%s", c == last ? 0 : (int)width[c],
					  cell_string(json_object_array_get_idx(cells, c), buf,
						      sizeof(buf)),
					  c == last ? "\n" : "   ");
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int collect_table(struct bundle *b, const char *entry, const char *path, bool with_ns)
{
	_cleanup_(json_object_putp) struct json_object *table = NULL;
	_cleanup_free_ char *detail = NULL, *source = NULL;
	int r;

	if (asprintf(&source, "GET %s (Table)", path) < 0)
		return -ENOMEM;
	r = cluster_precheck(b, entry, source);
	if (r <= 0)
		return r;

	r = alga_kube_table(b->kube, path, ALGA_KUBE_INCLUDE_METADATA, &table, &detail);
	if (r < 0)
		return cluster_failed(b, entry, source, r, detail);

	r = entry_begin(b);
	if (r < 0)
		return r;
	r = write_table(b, table, with_ns);
	if (r < 0)
		return r;
	return entry_end(b, entry, source, STATUS_OK, NULL, true);
}

static int collect_version(struct bundle *b)
{
	_cleanup_(json_object_putp) struct json_object *v = NULL;
	_cleanup_free_ char *detail = NULL;
	int r;

	r = cluster_precheck(b, "cluster/version.txt", "GET /version");
	if (r <= 0)
		return r;
	r = alga_kube_get(b->kube, "/version", &v, &detail);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		/* a transport failure here means the API is down: say so everywhere after */
		if (kube_error_is_transport(r) || r == -EACCES) {
			b->kube_error = r;
			b->kube_error_msg = detail ? strdup(detail) : NULL;
		}
		return entry_failed(b, "cluster/version.txt", "GET /version",
				    r == -ETIMEDOUT ? STATUS_TIMEOUT : STATUS_ERROR,
				    "Kubernetes API request failed", r, detail);
	}

	r = entry_begin(b);
	if (r < 0)
		return r;
	r = bundle_printf(b, "server: %s\nkubeconfig: %s\n",
			  alga_kube_get_config(b->kube)->server, b->kubeconfig);
	if (r >= 0)
		r = bundle_write_json(b, v);
	if (r < 0)
		return r;
	return entry_end(b, "cluster/version.txt", "GET /version", STATUS_OK, NULL, true);
}

/* Flux objects as one YAML List, S1-S4 applied */
static int collect_objects(struct bundle *b, const char *entry, const char *const *paths,
			   size_t n)
{
	_cleanup_(json_object_putp) struct json_object *list = NULL, *items = NULL;
	_cleanup_free_ char *errors = NULL;
	size_t errors_len = 0;
	FILE *ef;
	unsigned n_err = 0;
	int r;

	r = cluster_precheck(b, entry, paths[0]);
	if (r <= 0)
		return r;

	items = json_object_new_array();
	if (!items)
		return -ENOMEM;
	ef = open_memstream(&errors, &errors_len);
	if (!ef)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		_cleanup_(json_object_putp) struct json_object *got = NULL;
		_cleanup_free_ char *detail = NULL;

		r = alga_kube_list_all(b->kube, paths[i], NULL, &got, &detail);
		if (r == -ENOMEM) {
			fclose(ef);
			return r;
		}
		if (r < 0) {
			/* a kind without its CRD is 404: listed, not a failure */
			fprintf(ef, "# %s: %s%s%s\n", paths[i], strerror(-r), detail ? ": " : "",
				strempty(detail));
			if (r != -ENOENT)
				n_err++;
			if (kube_error_is_transport(r) && b->kube_error == 0) {
				b->kube_error = r;
				b->kube_error_msg = detail ? strdup(detail) : NULL;
			}
			continue;
		}
		for (size_t k = 0; k < json_object_array_length(got); k++) {
			r = alga_json_append(items, json_object_get(json_object_array_get_idx(got, k)));
			if (r < 0) {
				fclose(ef);
				return r;
			}
		}
	}
	if (fclose(ef) != 0)
		return -ENOMEM;

	list = json_object_new_object();
	if (!list)
		return -ENOMEM;
	if (alga_json_add(list, "apiVersion", json_object_new_string("v1")) < 0 ||
	    alga_json_add(list, "kind", json_object_new_string("List")) < 0 ||
	    alga_json_add(list, "items", TAKE_PTR(items)) < 0)
		return -ENOMEM;

	r = entry_begin(b);
	if (r < 0)
		return r;
	if (errors_len > 0) {
		r = bundle_write(b, errors, errors_len);
		if (r < 0)
			return r;
	}
	r = bundle_write_yaml(b, list);
	if (r < 0)
		return r;
	return entry_end(b, entry, paths[0], n_err == n ? STATUS_ERROR : STATUS_OK,
			 n_err == n ? "no kind could be listed" : NULL, true);
}

/*
 * secrets.txt: one server-side Table per namespace with includeObject=None,
 * so no value travels; only with k3s.yaml (resolutions.md C2), because a
 * list right returns values whatever the view.
 */
static int collect_secrets(struct bundle *b)
{
	static const char entry[] = "cluster/secrets.txt",
			  source[] = "GET /api/v1/namespaces/*/secrets (Table, includeObject=None)";
	_cleanup_(json_object_putp) struct json_object *nss = NULL;
	_cleanup_free_ char *detail = NULL;
	unsigned n_err = 0;
	size_t n;
	int r;

	if (!b->k3s_kubeconfig)
		return entry_text(b, entry, "none", STATUS_OK, NULL,
				  "skipped: Secrets are listed only with k3s.yaml as the kubeconfig "
				  "(the alga kubeconfig has no list right on Secrets)\n");
	r = cluster_precheck(b, entry, source);
	if (r <= 0)
		return r;

	r = alga_kube_list_all(b->kube, "/api/v1/namespaces", NULL, &nss, &detail);
	if (r < 0)
		return cluster_failed(b, entry, "GET /api/v1/namespaces", r, detail);

	r = entry_begin(b);
	if (r < 0)
		return r;
	n = MIN(json_object_array_length(nss), (size_t)ALGA_BUNDLE_NAMESPACES_MAX);
	for (size_t i = 0; i < n; i++) {
		_cleanup_(json_object_putp) struct json_object *table = NULL;
		_cleanup_free_ char *path = NULL, *d = NULL;
		struct json_object *md, *name;
		const char *ns;

		if (!json_object_object_get_ex(json_object_array_get_idx(nss, i), "metadata", &md) ||
		    !json_object_object_get_ex(md, "name", &name))
			continue;
		ns = json_object_get_string(name);
		if (asprintf(&path, "/api/v1/namespaces/%s/secrets", ns) < 0)
			return -ENOMEM;
		r = alga_kube_table(b->kube, path, ALGA_KUBE_INCLUDE_NONE, &table, &d);
		if (r == -ENOMEM)
			return r;
		if (r < 0) {
			n_err++;
			r = bundle_printf(b, "# %s\nnot listed: %s%s%s\n\n", ns, strerror(-r),
					  d ? ": " : "", strempty(d));
		} else {
			r = bundle_printf(b, "# %s\n", ns);
			if (r >= 0)
				r = write_table(b, table, false);
			if (r >= 0)
				r = bundle_puts(b, "\n");
		}
		if (r < 0)
			return r;
	}
	return entry_end(b, entry, source,
			 n_err > 0 ? STATUS_ERROR : STATUS_OK,
			 n_err > 0 ? "some namespaces could not be listed" : NULL, true);
}

static int write_keys(struct bundle *b, struct json_object *obj, const char *field)
{
	struct json_object *data;
	int r;

	if (!json_object_object_get_ex(obj, field, &data) ||
	    !json_object_is_type(data, json_type_object))
		return 0;
	json_object_object_foreach(data, key, val) {
		(void)val;
		r = bundle_printf(b, " %s", key);
		if (r < 0)
			return r;
	}
	return 0;
}

/* configmaps.txt: names and keys, never values */
static int collect_configmaps(struct bundle *b)
{
	static const char entry[] = "cluster/configmaps.txt";
	_cleanup_(json_object_putp) struct json_object *items = NULL;
	_cleanup_free_ char *detail = NULL;
	int r;

	r = cluster_precheck(b, entry, "GET /api/v1/configmaps");
	if (r <= 0)
		return r;
	r = alga_kube_list_all(b->kube, "/api/v1/configmaps", NULL, &items, &detail);
	if (r < 0)
		return cluster_failed(b, entry, "GET /api/v1/configmaps", r, detail);

	r = entry_begin(b);
	if (r < 0)
		return r;
	r = bundle_puts(b, "# NAMESPACE/NAME: KEYS\n");
	for (size_t i = 0; r >= 0 && i < json_object_array_length(items); i++) {
		struct json_object *o = json_object_array_get_idx(items, i), *md, *v;
		const char *ns = "", *name = "";

		if (json_object_object_get_ex(o, "metadata", &md)) {
			if (json_object_object_get_ex(md, "namespace", &v))
				ns = json_object_get_string(v);
			if (json_object_object_get_ex(md, "name", &v))
				name = json_object_get_string(v);
		}
		r = bundle_printf(b, "%s/%s:", ns, name);
		if (r >= 0)
			r = write_keys(b, o, "data");
		if (r >= 0)
			r = write_keys(b, o, "binaryData");
		if (r >= 0)
			r = bundle_puts(b, "\n");
	}
	if (r < 0)
		return r;
	return entry_end(b, entry, "GET /api/v1/configmaps", STATUS_OK, NULL, true);
}

/* logs/ */

static bool name_is_safe(const char *s)
{
	if (isempty(s) || strlen(s) > ALGA_KUBE_NAME_MAX)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '.'))
			return false;
	return s[0] != '.';
}

static int collect_log(struct bundle *b, const char *ns, const char *pod, const char *container,
		       bool previous)
{
	_cleanup_free_ char *entry = NULL, *source = NULL, *text = NULL, *detail = NULL;
	struct alga_kube_log_options lo = {
		.container = container,
		.tail_lines = b->o->log_lines ?: ALGA_BUNDLE_LOG_LINES_DEFAULT,
		.limit_bytes = ALGA_BUNDLE_LOG_BYTES_MAX,
		.previous = previous,
	};
	size_t len = 0;
	int r;

	if (asprintf(&entry, "logs/%s_%s_%s%s.log", ns, pod, container,
		     previous ? "-previous" : "") < 0 ||
	    asprintf(&source, "GET /api/v1/namespaces/%s/pods/%s/log?container=%s%s", ns, pod,
		     container, previous ? "&previous=true" : "") < 0)
		return -ENOMEM;
	r = cluster_precheck(b, entry, source);
	if (r <= 0)
		return r;

	r = alga_kube_log(b->kube, ns, pod, &lo, &text, &len, &detail);
	if (r < 0)
		return cluster_failed(b, entry, source, r, detail);

	r = entry_begin(b);
	if (r < 0)
		return r;
	r = bundle_write(b, text ?: "", len);
	if (r < 0)
		return r;
	if (len >= ALGA_BUNDLE_LOG_BYTES_MAX)
		b->entry_truncated = true;
	return entry_end(b, entry, source, STATUS_OK, NULL, true);
}

static int container_restarted(struct json_object *pod, const char *name)
{
	struct json_object *st, *cs, *v;

	if (!json_object_object_get_ex(pod, "status", &st) ||
	    !json_object_object_get_ex(st, "containerStatuses", &cs) ||
	    !json_object_is_type(cs, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(cs); i++) {
		struct json_object *c = json_object_array_get_idx(cs, i);

		if (json_object_object_get_ex(c, "name", &v) && streq(json_object_get_string(v), name) &&
		    json_object_object_get_ex(c, "restartCount", &v))
			return json_object_get_int(v) > 0;
	}
	return false;
}

static int collect_logs(struct bundle *b)
{
	unsigned n = 0;
	int r;

	for (size_t i = 0; i < ELEMENTSOF(log_namespaces); i++) {
		_cleanup_(json_object_putp) struct json_object *pods = NULL;
		_cleanup_free_ char *path = NULL, *detail = NULL, *entry = NULL;
		const char *ns = log_namespaces[i];

		if (asprintf(&path, "/api/v1/namespaces/%s/pods", ns) < 0 ||
		    asprintf(&entry, "logs/%s-pods-error.txt", ns) < 0)
			return -ENOMEM;
		if (b->kube_error < 0 || deadline_passed(b)) {
			r = cluster_precheck(b, "logs/error.txt", "pods/log");
			return r < 0 ? r : 0;
		}
		r = alga_kube_list_all(b->kube, path, NULL, &pods, &detail);
		if (r == -ENOMEM)
			return r;
		if (r == -ENOENT)
			continue;
		if (r < 0) {
			r = cluster_failed(b, entry, path, r, detail);
			if (r < 0)
				return r;
			continue;
		}
		for (size_t p = 0; p < json_object_array_length(pods); p++) {
			struct json_object *pod = json_object_array_get_idx(pods, p), *md, *v, *spec,
					   *cs;
			const char *pname;

			if (!json_object_object_get_ex(pod, "metadata", &md) ||
			    !json_object_object_get_ex(md, "name", &v))
				continue;
			pname = json_object_get_string(v);
			if (!name_is_safe(pname) || !json_object_object_get_ex(pod, "spec", &spec) ||
			    !json_object_object_get_ex(spec, "containers", &cs) ||
			    !json_object_is_type(cs, json_type_array))
				continue;
			for (size_t c = 0; c < json_object_array_length(cs); c++) {
				const char *cname;

				if (!json_object_object_get_ex(json_object_array_get_idx(cs, c),
							       "name", &v))
					continue;
				cname = json_object_get_string(v);
				if (!name_is_safe(cname))
					continue;
				if (n >= ALGA_BUNDLE_CONTAINERS_MAX)
					return 0;
				r = collect_log(b, ns, pname, cname, false);
				if (r < 0)
					return r;
				n++;
				if (container_restarted(pod, cname) && n < ALGA_BUNDLE_CONTAINERS_MAX) {
					r = collect_log(b, ns, pname, cname, true);
					if (r < 0)
						return r;
					n++;
				}
			}
		}
	}
	return 0;
}

static int cluster_open(struct bundle *b)
{
	struct alga_kube_options ko = {
		.timeout_usec = ALGA_BUNDLE_API_TIMEOUT_USEC,
		.user_agent = "alga-bundle/" ALGA_VERSION,
	};
	_cleanup_free_ char *detail = NULL;
	const char *base;
	int r;

	if (b->o->kubeconfig)
		b->kubeconfig = strdup(b->o->kubeconfig);
	else
		b->kubeconfig = alga_fs_path_join(b->root, ALGA_BUNDLE_KUBECONFIG);
	if (!b->kubeconfig)
		return -ENOMEM;
	base = strrchr(b->kubeconfig, '/');
	b->k3s_kubeconfig = streq(base ? base + 1 : b->kubeconfig, "k3s.yaml");

	ko.kubeconfig = b->kubeconfig;
	r = alga_kube_new(&ko, &b->kube, &detail);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		b->kube_error = r;
		/* lib/kube's detail already names the kubeconfig */
		if (detail)
			b->kube_error_msg = TAKE_PTR(detail);
		else if (asprintf(&b->kube_error_msg, "kubeconfig '%s': %s", b->kubeconfig,
				  strerror(-r)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int collect_cluster(struct bundle *b)
{
	static const char *const sources[] = {
		"/apis/source.toolkit.fluxcd.io/v1/ocirepositories",
		"/apis/source.toolkit.fluxcd.io/v1/helmrepositories",
		"/apis/source.toolkit.fluxcd.io/v1/gitrepositories",
	};
	static const char *const kustomizations[] = {
		"/apis/kustomize.toolkit.fluxcd.io/v1/kustomizations",
	};
	static const char *const helmreleases[] = {
		"/apis/helm.toolkit.fluxcd.io/v2/helmreleases",
	};
	static const struct {
		const char *entry, *path;
		bool with_ns;
	} tables[] = {
		{ "cluster/nodes.txt", "/api/v1/nodes", false },
		{ "cluster/namespaces.txt", "/api/v1/namespaces", false },
		{ "cluster/pods.txt", "/api/v1/pods", true },
		{ "cluster/deployments.txt", "/apis/apps/v1/deployments", true },
		{ "cluster/statefulsets.txt", "/apis/apps/v1/statefulsets", true },
		{ "cluster/jobs.txt", "/apis/batch/v1/jobs", true },
		{ "cluster/pvcs.txt", "/api/v1/persistentvolumeclaims", true },
		{ "cluster/pvs.txt", "/api/v1/persistentvolumes", false },
		{ "cluster/storageclasses.txt", "/apis/storage.k8s.io/v1/storageclasses", false },
		{ "cluster/events.txt", "/api/v1/events?limit=500", true },
	};
	int r;

	r = cluster_open(b);
	if (r < 0)
		return r;
	r = archive_add_dir(b, "cluster/");
	if (r < 0)
		return r;
	r = collect_version(b);
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(tables); i++)
		r = collect_table(b, tables[i].entry, tables[i].path, tables[i].with_ns);
	if (r >= 0)
		r = collect_objects(b, "cluster/flux-sources.yaml", sources, ELEMENTSOF(sources));
	if (r >= 0)
		r = collect_objects(b, "cluster/flux-kustomizations.yaml", kustomizations, 1);
	if (r >= 0)
		r = collect_objects(b, "cluster/helmreleases.yaml", helmreleases, 1);
	if (r >= 0)
		r = collect_secrets(b);
	if (r >= 0)
		r = collect_configmaps(b);
	if (r >= 0)
		r = archive_add_dir(b, "logs/");
	if (r >= 0)
		r = collect_logs(b);
	return r;
}

/* meta/manifest.json and meta/summary.txt */

static int totals_to_json(struct bundle *b, struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < _ALGA_REDACT_RULE_MAX; i++)
		if (b->totals[i] > 0 &&
		    alga_json_add(o, alga_redact_rule_to_string((enum alga_redact_rule)i),
				  json_object_new_int64((int64_t)b->totals[i])) < 0)
			return -ENOMEM;
	*ret = TAKE_PTR(o);
	return 0;
}

static uint64_t totals_sum(struct bundle *b)
{
	uint64_t s = 0;

	for (size_t i = 0; i < _ALGA_REDACT_RULE_MAX; i++)
		s += b->totals[i];
	return s;
}

static int write_manifest(struct bundle *b)
{
	_cleanup_(json_object_putp) struct json_object *doc = NULL, *red = NULL;
	_cleanup_free_ char *s = NULL;
	int r;

	r = totals_to_json(b, &red);
	if (r < 0)
		return r;
	doc = json_object_new_object();
	if (!doc)
		return -ENOMEM;
	if (alga_json_add(doc, "version", json_object_new_int(1)) < 0 ||
	    alga_json_add(doc, "generator", json_object_new_string(b->o->generator ?: "alga-bundle")) <
		    0 ||
	    alga_json_add(doc, "rulesVersion", json_object_new_int(ALGA_REDACT_RULES_VERSION)) < 0 ||
	    alga_json_add(doc, "redactions", TAKE_PTR(red)) < 0 ||
	    alga_json_add(doc, "files", json_object_get(b->manifest)) < 0)
		return -ENOMEM;
	r = alga_json_format(doc, ALGA_JSON_FORMAT_PRETTY | ALGA_JSON_FORMAT_NEWLINE, &s);
	if (r < 0)
		return r;

	/* our own document: not fed through the rules (its keys name them) */
	r = entry_begin_full(b, true);
	if (r < 0)
		return r;
	r = spool_append(b, s, strlen(s));
	if (r < 0)
		return r;
	return entry_end(b, "meta/manifest.json", "alga-bundle", STATUS_OK, NULL, false);
}

static int write_summary(struct bundle *b)
{
	char ts[64], host[256] = "", boot[SD_ID128_STRING_MAX] = "unknown", os[256] = "unknown";
	_cleanup_free_ char *osr = NULL, *data = NULL;
	struct utsname u = {};
	struct tm tm;
	sd_id128_t id;
	double up = 0;
	FILE *f;
	int r;

	gmtime_r(&b->now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	(void)gethostname(host, sizeof(host) - 1);
	if (sd_id128_get_boot(&id) >= 0)
		sd_id128_to_string(id, boot);
	(void)uname(&u);
	f = fopen("/proc/uptime", "re");
	if (f) {
		if (fscanf(f, "%lf", &up) != 1)
			up = 0;
		fclose(f);
	}
	osr = alga_fs_path_join(b->root, "/etc/os-release");
	if (!osr)
		return -ENOMEM;
	if (alga_fs_read_file(AT_FDCWD, osr, 64u * 1024u, &data, NULL, NULL) >= 0) {
		char *p = strstr(data, "PRETTY_NAME=");

		if (p) {
			p += strlen("PRETTY_NAME=");
			p += strspn(p, "\"'");
			snprintf(os, sizeof(os), "%.*s", (int)strcspn(p, "\"'\n"), p);
		}
	}

	r = entry_begin_full(b, true);
	if (r < 0)
		return r;
	r = bundle_printf(b,
			  "time=%s\ngenerator=%s %s\nhost=%s\nbootId=%s\nos=%s\nkernel=%s\n"
			  "uptime=%.0f\nkubeconfig=%s\nrulesVersion=%d\nfiles=%u\nfailed=%u\n"
			  "truncated=%u\nredactions=%" PRIu64 "\nbytes=%" PRIu64 "\n",
			  ts, b->o->generator ?: "alga-bundle", ALGA_VERSION, host, boot, os,
			  u.release, up, b->o->no_cluster ? "none (--no-cluster)" : strna(b->kubeconfig),
			  ALGA_REDACT_RULES_VERSION, b->n_files, b->n_failed, b->n_truncated,
			  totals_sum(b), b->total_bytes);
	if (r < 0)
		return r;
	return entry_end(b, "meta/summary.txt", "alga-bundle", STATUS_OK, NULL, false);
}

/* publishing */

static int name_suffix(const char *name)
{
	const char *z = strchr(name, 'Z');

	if (z && z[1] == '-')
		return atoi(z + 2);
	return 1;
}

static int compare_names(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	size_t n = strlen(ALGA_BUNDLE_NAME_PREFIX) + strlen("YYYYMMDDTHHMMSSZ");
	int c = strncmp(x, y, n);

	if (c != 0)
		return c;
	return name_suffix(x) - name_suffix(y);
}

/* removes all but the newest ALGA_BUNDLE_KEEP bundles; failures are ignored */
static void prune_bundles(int dir_fd)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		safe_close(fd);
		return;
	}
	while ((de = readdir(d))) {
		char **nn;

		if (!alga_bundle_name_is_valid(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nn = realloc(names, cap * sizeof(char *));
			if (!nn)
				break;
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (!names[n])
			break;
		n++;
	}
	closedir(d);

	qsort(names, n, sizeof(char *), compare_names);
	for (size_t i = 0; i + ALGA_BUNDLE_KEEP < n; i++) {
		if (unlinkat(dir_fd, names[i], 0) < 0)
			log_debug("Failed to remove old bundle '%s', ignoring: %m", names[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	(void)alga_fs_fsync_dir(dir_fd);
}

static int link_as(struct alga_bundle_output *out, const char *name)
{
	char proc[64];

	if (out->tmpfile) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", out->fd);
		if (linkat(AT_FDCWD, proc, out->dir_fd, name, AT_SYMLINK_FOLLOW) < 0)
			return negative_errno();
		return 0;
	}
	if (linkat(out->dir_fd, out->tmp_name, out->dir_fd, name, 0) < 0)
		return negative_errno();
	return 0;
}

static int publish(struct bundle *b, struct alga_bundle_result *res)
{
	struct alga_bundle_output *out = b->out;
	char stamp[32], name[128];
	struct tm tm;
	int r;

	if (out->dir_fd < 0) {
		/* fd output: flushed by the caller */
		if (fsync(out->fd) < 0 && errno != EINVAL && errno != EROFS)
			return negative_errno();
		return 0;
	}
	if (fsync(out->fd) < 0)
		return negative_errno();

	if (out->file_name) {
		char tmp[128];
		uint8_t rnd[6];
		char hex[13];

		/* --output FILE: replaced whole, by rename */
		if (alga_crypto_random_bytes(rnd, sizeof(rnd)) < 0)
			return -EIO;
		alga_hex_encode(rnd, sizeof(rnd), hex);
		snprintf(tmp, sizeof(tmp), ".alga-bundle.%s", hex);
		if (out->tmpfile) {
			r = link_as(out, tmp);
			if (r < 0)
				return r;
		} else
			snprintf(tmp, sizeof(tmp), "%s", out->tmp_name);
		if (renameat(out->dir_fd, tmp, out->dir_fd, out->file_name) < 0) {
			r = negative_errno();
			(void)unlinkat(out->dir_fd, tmp, 0);
			return r;
		}
		out->tmp_name = mfree(out->tmp_name);
		(void)alga_fs_fsync_dir(out->dir_fd);
		res->name = strdup(out->file_name);
	} else {
		gmtime_r(&b->now, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		r = -EEXIST;
		for (unsigned i = 1; i <= ALGA_BUNDLE_SUFFIX_MAX && r == -EEXIST; i++) {
			if (i == 1)
				snprintf(name, sizeof(name), ALGA_BUNDLE_NAME_PREFIX "%s.tar.gz", stamp);
			else
				snprintf(name, sizeof(name), ALGA_BUNDLE_NAME_PREFIX "%s-%u.tar.gz",
					 stamp, i);
			r = link_as(out, name);
		}
		if (r < 0)
			return r;
		if (out->tmp_name) {
			(void)unlinkat(out->dir_fd, out->tmp_name, 0);
			out->tmp_name = mfree(out->tmp_name);
		}
		(void)alga_fs_fsync_dir(out->dir_fd);
		prune_bundles(out->dir_fd);
		res->name = strdup(name);
	}
	if (!res->name)
		return -ENOMEM;
	if (asprintf(&res->path, "%s/%s", out->dir, res->name) < 0)
		return -ENOMEM;
	return 0;
}

static int spool_open(struct bundle *b)
{
	const char *tmp = getenv("TMPDIR");
	int fd = -EBADF;

	/* beside the output when it has a directory, so no other file system fills */
	if (b->out->dir_fd >= 0)
		fd = openat(b->out->dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = open(isempty(tmp) ? "/tmp" : tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = open("/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return negative_errno();
	b->spool_fd = fd;
	return 0;
}

static void bundle_done(struct bundle *b)
{
	if (b->ar)
		archive_write_free(b->ar);
	alga_sha256_free(b->sha);
	alga_redact_free(b->redact);
	if (b->manifest)
		json_object_put(b->manifest);
	safe_close(b->spool_fd);
	free(b->buf);
	alga_kube_free(b->kube);
	free(b->kube_error_msg);
	free(b->kubeconfig);
	alga_bundle_output_free(b->out);
}

static int bundle_collect(struct bundle *b)
{
	int r;

	r = archive_add_dir(b, "meta/");
	for (size_t i = 0; r >= 0 && i < ELEMENTSOF(state_files); i++)
		r = collect_state_file(b, state_files[i].entry, state_files[i].path);
	if (r >= 0)
		r = archive_add_dir(b, "host/");
	if (r >= 0)
		r = collect_journal(b, "host/appliance-journal.txt", JOURNAL_APPLIANCE);
	if (r >= 0)
		r = collect_agent_files(b);
	if (r >= 0)
		r = collect_units(b);
	if (r >= 0)
		r = collect_journal(b, "host/journal-errors.txt", JOURNAL_ERRORS);
	if (r >= 0)
		r = collect_journal(b, "host/kernel.txt", JOURNAL_KERNEL);
	if (r >= 0)
		r = collect_os(b);
	if (r >= 0 && !b->o->no_cluster)
		r = collect_cluster(b);
	if (r >= 0)
		r = write_manifest(b);
	if (r >= 0)
		r = write_summary(b);
	return r;
}

int alga_bundle_write(const struct alga_bundle_options *o, struct alga_bundle_output *out,
		      struct alga_bundle_result **ret)
{
	_cleanup_(alga_bundle_result_freep) struct alga_bundle_result *res = NULL;
	struct bundle b = {
		.o = o,
		.root = o->root,
		.out = out,
		.spool_fd = -EBADF,
	};
	uint8_t digest[ALGA_SHA256_SIZE];
	int r;

	b.start_usec = now_usec(CLOCK_MONOTONIC);
	b.deadline_usec = b.start_usec + (o->timeout_usec ?: ALGA_BUNDLE_TIMEOUT_USEC);
	b.now = time(NULL);

	res = calloc(1, sizeof(*res));
	b.buf = malloc(ALGA_BUNDLE_BUFFER);
	b.manifest = json_object_new_array();
	if (!res || !b.buf || !b.manifest) {
		r = -ENOMEM;
		goto finish;
	}
	r = alga_bundle_redact_new(o->root, redact_write_cb, &b, &b.redact);
	if (r >= 0)
		r = alga_sha256_new(&b.sha);
	if (r >= 0)
		r = spool_open(&b);
	if (r >= 0)
		r = archive_start(&b);
	if (r >= 0)
		r = bundle_collect(&b);
	if (r >= 0 && archive_write_close(b.ar) != ARCHIVE_OK)
		r = archive_error(&b);
	if (r < 0)
		goto finish;

	r = alga_sha256_final(b.sha, digest);
	if (r < 0)
		goto finish;
	alga_hex_encode(digest, sizeof(digest), res->sha256);
	r = publish(&b, res);
	if (r < 0)
		goto finish;

	res->bytes = b.out_bytes;
	res->files = b.n_files;
	res->failed = b.n_failed;
	res->duration_usec = now_usec(CLOCK_MONOTONIC) - b.start_usec;
	r = totals_to_json(&b, &res->redactions);
	if (r < 0)
		goto finish;
	*ret = TAKE_PTR(res);
	r = 0;
finish:
	bundle_done(&b);
	return r;
}
