/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

#include <stdint.h>

#include <systemd/sd-bus.h>

#include "macro.h"

/*
 * Unit facts from systemd over sd-bus (resolutions.md gap 8), for the
 * agent's *-status.txt, alga-bundle's units.txt and alga-status.
 */

#define ALGA_UNITS_NAME_MAX 256u
/* a property string longer than this is cut (StatusText comes from the service) */
#define ALGA_UNITS_STRING_MAX 4096u

struct alga_unit_info {
	char *id;
	char *load_state;
	char *active_state;
	char *sub_state;
	char *result;      /* services only, else NULL */
	char *status_text; /* services only */
	int32_t exec_main_status;
	uint32_t n_restarts;
	uint32_t main_pid;
	uint64_t memory_current; /* UINT64_MAX when not accounted */
	uint64_t active_enter_usec;
	uint64_t active_exit_usec;
	uint64_t inactive_enter_usec;
	uint64_t state_change_usec;
	uint64_t exec_main_start_usec;
	uint64_t exec_main_exit_usec;
	bool is_service;
};

struct alga_unit_info *alga_unit_info_free(struct alga_unit_info *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct alga_unit_info *, alga_unit_info_free);

/*
 * Reads the properties of unit name (loading it if systemd has not, so an
 * absent unit reads LoadState=not-found). The bus's method timeout applies
 * to each call. -EINVAL for a bad name, sd-bus errors as -errno.
 */
int alga_units_get_info(sd_bus *bus, const char *name, struct alga_unit_info **ret);

/*
 * Formats info as "Key=value\n" lines in systemctl show's names
 * (timestamps ISO 8601 UTC, "n/a" when 0). *ret is the caller's.
 */
int alga_unit_info_format(const struct alga_unit_info *info, char **ret);
