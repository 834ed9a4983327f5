/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

/*
 * Test hook for crash-consistency tests (resolutions.md E7): when the suite
 * is built with -Dtest-hooks=true and $ALGA_TEST_CRASH_AT is "point" (or
 * "point:N", the Nth time the point is reached), the process kills itself
 * with SIGKILL there. Without test hooks this compiles to nothing, so
 * shipped binaries carry no crash hook.
 */
void alga_crash_point(const char *point);
