/* SPDX-License-Identifier: AGPL-3.0-or-later */
#pragma once

/* helpers shared by the g_test programs; test code only */

#include <glib.h>
#include <unistd.h>

/* removes a scratch tree without following symlinks out of it */
static inline void alga_test_rm_rf(const char *path)
{
	GDir *dir = g_dir_open(path, 0, NULL);
	const char *n;

	while (dir && (n = g_dir_read_name(dir))) {
		g_autofree char *p = g_build_filename(path, n, NULL);

		if (g_file_test(p, G_FILE_TEST_IS_DIR) && !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			alga_test_rm_rf(p);
		else
			(void)unlink(p);
	}
	if (dir)
		g_dir_close(dir);
	(void)rmdir(path);
}
