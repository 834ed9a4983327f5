/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "macro.h"

/* suite-wide exit codes beyond 0/1/2 (resolutions.md E1, sysexits.h values) */
#define ALGA_EXIT_FAILURE 1
#define ALGA_EXIT_USAGE 2
#define ALGA_EXIT_CANTCREAT 73
#define ALGA_EXIT_BUSY 75
#define ALGA_EXIT_NOPERM 77

/* the group every service shares files through (host.md §2.1) */
#define ALGA_GROUP "alga"
#define ALGA_USER "alga"

/*
 * Maps run()'s result to an exit code: 0..255 pass through, -EINVAL
 * (misuse, bad input) is 2, every other error 1.
 */
int alga_exit_status(int r);

/* one verb of a tool: "alga-token ensure" */
struct alga_verb {
	const char *name;
	unsigned min_args; /* after the verb itself */
	unsigned max_args;
	int (*run)(int argc, char *argv[], void *userdata);
};

/*
 * Runs the verb named by argv[0] (argc counts from the verb) from the
 * table, which ends with a { NULL } entry; default_verb when argc is 0
 * (NULL: a verb is required). Unknown verbs and wrong argument counts are
 * logged and return -EINVAL.
 */
int alga_verb_dispatch(const struct alga_verb *verbs, const char *default_verb, int argc,
		       char *argv[], void *userdata);

/*
 * The root every host path is taken under: arg (from --root) if set, else
 * $ALGA_ROOT, else NULL for the real root. "/" also means the real root.
 */
const char *alga_root_pick(const char *arg);

/*
 * Resolves a user or group name as systemd-tmpfiles --root does: against
 * root's etc/passwd and etc/group when root is set, through NSS otherwise.
 * -ESRCH when there is no such name.
 */
int alga_lookup_user(const char *root, const char *name, uid_t *ret_uid, gid_t *ret_gid);
int alga_lookup_group(const char *root, const char *name, gid_t *ret_gid);

/* prints "<program> <suite version>" on stdout */
int alga_print_version(const char *program);

/* true when stdin and stdout are a terminal (for confirmations, progress) */
bool alga_on_tty(void);
