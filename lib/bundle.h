/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "macro.h"
#include "redact.h"

/*
 * The support bundle writer of host.md §4.5, used by alga-bundle and by
 * alga-agent's POST /v1/support-bundles.
 *
 * Streaming: each collector writes through lib/redact (line rules, 64 KiB
 * buffers) into one O_TMPFILE spool (tar needs each entry's size first;
 * ALGA_BUNDLE_ENTRY_MAX bytes per entry, then ALGA_BUNDLE_TRUNCATED_MARKER),
 * which is copied into a libarchive pax + gzip stream on an O_TMPFILE in
 * the output directory. Once complete it is fsync'd and linked in under
 * alga-appliance-support-<YYYYMMDDTHHMMSSZ>[-N].tar.gz, so a crash leaves
 * no bundle-named file and no leftover. Memory does not grow with the size
 * of the journal or the logs.
 *
 * Entries carry no top directory, uid/gid 0, mode 0600 (0700 for the
 * directories), in a fixed order; meta/manifest.json and meta/summary.txt
 * come last because they describe the others. Collector failures are
 * recorded in the manifest (ok false, error) and in the file itself; only
 * a failure of the archive or its output fails the bundle. Files on the
 * denylist (ALGA_BUNDLE_DENYLIST) are never read, whatever path or symlink
 * leads to them.
 *
 * Library code: logs at debug only; not thread-safe per bundle, but
 * bundles on different threads are independent.
 */

#define ALGA_BUNDLE_ENTRY_MAX (8u * 1024u * 1024u)           /* bytes per entry */
#define ALGA_BUNDLE_TOTAL_MAX (256u * 1024u * 1024u)         /* uncompressed bytes */
#define ALGA_BUNDLE_BUFFER (64u * 1024u)                     /* spool and copy buffers */
#define ALGA_BUNDLE_KEEP 10u                                 /* newest bundles kept in a dir */
#define ALGA_BUNDLE_SUFFIX_MAX 1000u                         /* -2 ... in one second */
#define ALGA_BUNDLE_JOURNAL_LINES_DEFAULT 1000u
#define ALGA_BUNDLE_JOURNAL_LINES_MAX 20000u
#define ALGA_BUNDLE_LOG_LINES_DEFAULT 500u
#define ALGA_BUNDLE_LOG_LINES_MAX 5000u
#define ALGA_BUNDLE_LOG_BYTES_MAX (1024u * 1024u)            /* per container log */
#define ALGA_BUNDLE_CONTAINERS_MAX 200u
#define ALGA_BUNDLE_JOURNAL_ERRORS 500u
#define ALGA_BUNDLE_KERNEL_LINES 300u
#define ALGA_BUNDLE_EVENTS_MAX 500u
#define ALGA_BUNDLE_NAMESPACES_MAX 100u                      /* secrets.txt walks these */
#define ALGA_BUNDLE_MESSAGE_MAX (8u * 1024u)                 /* one journal MESSAGE */
#define ALGA_BUNDLE_STATE_MAX (1024u * 1024u)                /* a meta/ state file */
#define ALGA_BUNDLE_API_TIMEOUT_USEC (15u * USEC_PER_SEC)    /* per API call */
#define ALGA_BUNDLE_TIMEOUT_USEC (120u * USEC_PER_SEC)       /* the whole bundle */

#define ALGA_BUNDLE_TRUNCATED_MARKER "[truncated by alga-bundle]"
#define ALGA_BUNDLE_NAME_PREFIX "alga-appliance-support-"
#define ALGA_BUNDLE_NAME_RE "^alga-appliance-support-[0-9]{8}T[0-9]{6}Z(-[0-9]+)?\\.tar\\.gz$"
#define ALGA_BUNDLE_DIR "/var/lib/alga/support-bundles"
#define ALGA_BUNDLE_KUBECONFIG "/var/lib/alga/kubeconfig"
#define ALGA_BUNDLE_K3S_KUBECONFIG "/etc/rancher/k3s/k3s.yaml"

/*
 * The host files beyond what lib/bundle collects itself: alga-agent's
 * collectors (tools/alga-agent/collect.c). Returns 0 with *ret a JSON
 * array of {"path":"host/x.txt","ok","status","content","truncated",
 * "source"}, or a negative errno (recorded, the bundle goes on).
 */
typedef int (*alga_bundle_host_fn)(void *userdata, struct json_object **ret);

struct alga_bundle_options {
	const char *root;        /* NULL: the real root (--root) */
	const char *journal_dir; /* NULL: the system journal */
	const char *kubeconfig;  /* NULL: root's ALGA_BUNDLE_KUBECONFIG */
	bool no_cluster;         /* skip cluster/ and logs/ (files say so) */
	unsigned journal_lines;  /* host/appliance-journal.txt; 0: default */
	unsigned log_lines;      /* per container; 0: default */
	uint64_t timeout_usec;   /* 0: ALGA_BUNDLE_TIMEOUT_USEC */
	const char *generator;   /* "alga-bundle", "alga-agent" (summary.txt) */
	alga_bundle_host_fn host; /* NULL: those host files are absent */
	void *host_userdata;
	/* 0: ALGA_BUNDLE_ENTRY_MAX, ALGA_BUNDLE_TOTAL_MAX; only ever lowered (tests) */
	uint64_t entry_max;
	uint64_t total_max;
};

/* where the archive goes */
struct alga_bundle_output;

/*
 * Opens dir (made 0750 when missing) for a new bundle: an O_TMPFILE there,
 * mode 0640, linked in by alga_bundle_write(). Failing here means the
 * output cannot be created (-EACCES, -EROFS, -ENOENT, -ENOTDIR, -EPERM ...):
 * alga-bundle's exit 73.
 */
int alga_bundle_output_open_dir(const char *dir, struct alga_bundle_output **ret);
/* the same for one file path, replaced atomically by rename when it exists */
int alga_bundle_output_open_file(const char *path, struct alga_bundle_output **ret);
/* the archive is written straight to fd (not owned), e.g. stdout */
int alga_bundle_output_open_fd(int fd, struct alga_bundle_output **ret);
/* discards an unpublished output (its O_TMPFILE vanishes); takes NULL, returns NULL */
struct alga_bundle_output *alga_bundle_output_free(struct alga_bundle_output *out);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_bundle_output *, alga_bundle_output_free);

struct alga_bundle_result {
	char *name;         /* file name in the directory; NULL for fd output */
	char *path;         /* full path; NULL for fd output */
	uint64_t bytes;     /* of the .tar.gz */
	char sha256[65];    /* hex of the .tar.gz */
	unsigned files;     /* regular entries */
	unsigned failed;    /* entries whose collector failed */
	uint64_t duration_usec;
	struct json_object *redactions; /* {"T7":3,...} over the bundle */
};

struct alga_bundle_result *alga_bundle_result_free(struct alga_bundle_result *res);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_bundle_result *, alga_bundle_result_free);

/*
 * Collects, redacts and writes one bundle to out, then publishes it (fsync,
 * linkat under the next free name, the directory fsync'd, all but the
 * newest ALGA_BUNDLE_KEEP bundles removed). Returns 0 with *ret, or a
 * negative errno when the archive failed (-ENOSPC, -EIO, ...): then
 * nothing was published. out is consumed either way.
 */
int alga_bundle_write(const struct alga_bundle_options *o, struct alga_bundle_output *out,
		      struct alga_bundle_result **ret);

/*
 * True when path (resolved through symlinks under root) is on the
 * denylist of host.md §4.5 and resolutions.md A14: setup-token, secrets/,
 * setup/admin-credential.json and every 0600 file of setup/, the alga
 * kubeconfig, k3s.yaml, /var/lib/rancher/k3s/server/{token,tls,cred}.
 * A path that cannot be resolved is denied.
 */
bool alga_bundle_path_is_denied(const char *root, const char *path);

/* true when name is a bundle file name (ALGA_BUNDLE_NAME_RE) */
bool alga_bundle_name_is_valid(const char *name);

/*
 * A redaction context with every rule and, for T0, the values of the
 * known secrets under root that this process can read (setup token,
 * session secret, auth key, k3s server token). write as in
 * alga_redact_new().
 */
int alga_bundle_redact_new(const char *root, alga_redact_write_t write, void *userdata,
			   struct alga_redact **ret);
