/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-bus.h>

#include "units.h"

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define UNIT_IFACE "org.freedesktop.systemd1.Unit"
#define SERVICE_IFACE "org.freedesktop.systemd1.Service"

struct alga_unit_info *alga_unit_info_free(struct alga_unit_info *i)
{
	if (!i)
		return NULL;
	free(i->id);
	free(i->load_state);
	free(i->active_state);
	free(i->sub_state);
	free(i->result);
	free(i->status_text);
	free(i);
	return NULL;
}

static bool name_is_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= ALGA_UNITS_NAME_MAX || !strchr(name, '.'))
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(":-_.\\@", *p)))
			return false;
	return true;
}

static int get_string(sd_bus *bus, const char *path, const char *iface, const char *prop,
		      char **ret)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	char *s = NULL;
	int r;

	r = sd_bus_get_property_string(bus, SYSTEMD_DEST, path, iface, prop, &error, &s);
	sd_bus_error_free(&error);
	if (r < 0)
		return r;
	if (strlen(s) > ALGA_UNITS_STRING_MAX)
		s[ALGA_UNITS_STRING_MAX] = '\0';
	*ret = s;
	return 0;
}

static int get_trivial(sd_bus *bus, const char *path, const char *iface, const char *prop,
		       char type, void *ret)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_get_property_trivial(bus, SYSTEMD_DEST, path, iface, prop, &error, type, ret);
	sd_bus_error_free(&error);
	return r;
}

int alga_units_get_info(sd_bus *bus, const char *name, struct alga_unit_info **ret)
{
	_cleanup_(alga_unit_info_freep) struct alga_unit_info *i = NULL;
	_cleanup_free_ char *path = NULL;
	const char *u = UNIT_IFACE, *s = SERVICE_IFACE;
	size_t n;
	int r;

	if (!name_is_valid(name))
		return -EINVAL;

	r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", name, &path);
	if (r < 0)
		return r;

	i = calloc(1, sizeof(*i));
	if (!i)
		return -ENOMEM;
	i->id = strdup(name);
	if (!i->id)
		return -ENOMEM;
	i->memory_current = UINT64_MAX;

	/* systemd loads a unit when its object is first looked at */
	r = get_string(bus, path, u, "LoadState", &i->load_state);
	if (r < 0)
		return r;
	if ((r = get_string(bus, path, u, "ActiveState", &i->active_state)) < 0 ||
	    (r = get_string(bus, path, u, "SubState", &i->sub_state)) < 0 ||
	    (r = get_trivial(bus, path, u, "ActiveEnterTimestamp", 't', &i->active_enter_usec)) < 0 ||
	    (r = get_trivial(bus, path, u, "ActiveExitTimestamp", 't', &i->active_exit_usec)) < 0 ||
	    (r = get_trivial(bus, path, u, "InactiveEnterTimestamp", 't',
			     &i->inactive_enter_usec)) < 0 ||
	    (r = get_trivial(bus, path, u, "StateChangeTimestamp", 't', &i->state_change_usec)) < 0)
		return r;

	n = strlen(name);
	i->is_service = n > 8 && streq(name + n - 8, ".service");
	if (i->is_service && !streq(i->load_state, "not-found")) {
		if ((r = get_string(bus, path, s, "Result", &i->result)) < 0 ||
		    (r = get_string(bus, path, s, "StatusText", &i->status_text)) < 0 ||
		    (r = get_trivial(bus, path, s, "ExecMainStatus", 'i', &i->exec_main_status)) < 0 ||
		    (r = get_trivial(bus, path, s, "NRestarts", 'u', &i->n_restarts)) < 0 ||
		    (r = get_trivial(bus, path, s, "MainPID", 'u', &i->main_pid)) < 0 ||
		    (r = get_trivial(bus, path, s, "MemoryCurrent", 't', &i->memory_current)) < 0 ||
		    (r = get_trivial(bus, path, s, "ExecMainStartTimestamp", 't',
				     &i->exec_main_start_usec)) < 0 ||
		    (r = get_trivial(bus, path, s, "ExecMainExitTimestamp", 't',
				     &i->exec_main_exit_usec)) < 0)
			return r;
	}

	*ret = TAKE_PTR(i);
	return 0;
}

static void format_usec(uint64_t usec, char *buf, size_t size)
{
	time_t t = (time_t)(usec / USEC_PER_SEC);
	struct tm tm;

	if (usec == 0 || usec == UINT64_MAX || !gmtime_r(&t, &tm)) {
		snprintf(buf, size, "n/a");
		return;
	}
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int alga_unit_info_format(const struct alga_unit_info *info, char **ret)
{
	char ae[32], ax[32], ie[32], sc[32], ms[32], mx[32], mem[32];
	char *s = NULL;
	int r;

	format_usec(info->active_enter_usec, ae, sizeof(ae));
	format_usec(info->active_exit_usec, ax, sizeof(ax));
	format_usec(info->inactive_enter_usec, ie, sizeof(ie));
	format_usec(info->state_change_usec, sc, sizeof(sc));
	format_usec(info->exec_main_start_usec, ms, sizeof(ms));
	format_usec(info->exec_main_exit_usec, mx, sizeof(mx));
	if (info->memory_current == UINT64_MAX)
		snprintf(mem, sizeof(mem), "[not set]");
	else
		snprintf(mem, sizeof(mem), "%" PRIu64, info->memory_current);

	if (info->is_service)
		r = asprintf(&s,
			     "Id=%s\nLoadState=%s\nActiveState=%s\nSubState=%s\nResult=%s\n"
			     "ExecMainStatus=%" PRIi32 "\nNRestarts=%" PRIu32 "\nMainPID=%" PRIu32 "\n"
			     "MemoryCurrent=%s\nStatusText=%s\nActiveEnterTimestamp=%s\n"
			     "ActiveExitTimestamp=%s\nInactiveEnterTimestamp=%s\n"
			     "StateChangeTimestamp=%s\nExecMainStartTimestamp=%s\n"
			     "ExecMainExitTimestamp=%s\n",
			     info->id, strna(info->load_state), strna(info->active_state),
			     strna(info->sub_state), strna(info->result), info->exec_main_status,
			     info->n_restarts, info->main_pid, mem, strempty(info->status_text), ae,
			     ax, ie, sc, ms, mx);
	else
		r = asprintf(&s,
			     "Id=%s\nLoadState=%s\nActiveState=%s\nSubState=%s\n"
			     "ActiveEnterTimestamp=%s\nActiveExitTimestamp=%s\n"
			     "InactiveEnterTimestamp=%s\nStateChangeTimestamp=%s\n",
			     info->id, strna(info->load_state), strna(info->active_state),
			     strna(info->sub_state), ae, ax, ie, sc);
	if (r < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}
