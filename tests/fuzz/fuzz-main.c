/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Corpus replay for builds without libFuzzer: runs the fuzzer's entry
 * point once per file named on the command line, or per file in each
 * directory named, printing TAP.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define FUZZ_INPUT_MAX (4u * 1024u * 1024u)

static unsigned n_run;

static int run_file(const char *path)
{
	FILE *f;
	uint8_t *buf;
	size_t n;

	f = fopen(path, "rbe");
	if (!f) {
		printf("not ok %u - %s: %s\n", ++n_run, path, strerror(errno));
		return -1;
	}
	buf = malloc(FUZZ_INPUT_MAX);
	if (!buf) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, FUZZ_INPUT_MAX, f);
	fclose(f);

	/* a copy of exactly n bytes, so ASan sees reads past the input */
	uint8_t *exact = malloc(n ? n : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, n);
	free(buf);

	(void)LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	printf("ok %u - %s\n", ++n_run, path);
	fflush(stdout);
	return 0;
}

static int run_path(const char *path)
{
	struct dirent **names;
	struct stat st;
	int n, r = 0;

	if (stat(path, &st) < 0) {
		printf("not ok %u - %s: %s\n", ++n_run, path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);

	n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		char *p;

		if (names[i]->d_name[0] != '.' && asprintf(&p, "%s/%s", path, names[i]->d_name) >= 0) {
			if (run_file(p) < 0)
				r = -1;
			free(p);
		}
		free(names[i]);
	}
	free(names);
	return r;
}

int main(int argc, char *argv[])
{
	int r = 0;

	for (int i = 1; i < argc; i++)
		if (run_path(argv[i]) < 0)
			r = 1;
	printf("1..%u\n", n_run);
	return r;
}
