/* SPDX-License-Identifier: AGPL-3.0-or-later */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "alga-config.h"
#include "crash.h"

#if ALGA_TEST_HOOKS
void alga_crash_point(const char *point)
{
	static unsigned hits; /* test builds only: counts hits of the armed point */
	const char *e, *colon;
	size_t n;
	unsigned long want = 1;

	e = getenv("ALGA_TEST_CRASH_AT");
	if (!e)
		return;

	colon = strchr(e, ':');
	n = colon ? (size_t)(colon - e) : strlen(e);
	if (n != strlen(point) || strncmp(e, point, n) != 0)
		return;
	if (colon)
		want = strtoul(colon + 1, NULL, 10);

	if (++hits >= want)
		(void)raise(SIGKILL);
}
#else
void alga_crash_point(const char *point)
{
}
#endif
