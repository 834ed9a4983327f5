/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * bench-kube: wall time of status.md §4.1's twelve wave-1 GETs against a
 * fakekube holding 200 pods, done concurrently through one CURLM, done
 * one after another, and done as twelve `kubectl get -o json` processes;
 * printed with the ratios beside the target (concurrent <= 1/20 of the
 * kubectl way). The 12th wave-1 request of status.md is the login probe,
 * not an API call; /version stands in for it.
 *
 * bench-kube [--runs N] [--pods N] [--kubectl PATH]
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kube.h"

#define PY "/usr/bin/python3"
#define TARGET_RATIO (1.0 / 20.0)

extern char **environ;

static const char *const paths[] = {
	"/api/v1/nodes?limit=16",
	"/api/v1/pods?limit=500",
	"/apis/batch/v1/namespaces/msp/jobs?limit=100",
	"/apis/apps/v1/namespaces/msp/deployments?limit=100",
	"/apis/apps/v1/namespaces/msp/statefulsets?limit=50",
	"/apis/helm.toolkit.fluxcd.io/v2/namespaces/alga-system/helmreleases?limit=50",
	"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/flux-system/kustomizations?limit=50",
	"/apis/source.toolkit.fluxcd.io/v1/namespaces/flux-system/ocirepositories?limit=50",
	"/api/v1/events?fieldSelector=type%3DWarning&limit=250",
	"/api/v1/namespaces/msp/events?limit=250",
	"/api/v1/namespaces/alga-system/configmaps/appliance-release-selection",
	"/version",
};

/* the same twelve as a user types them */
static const char *const kubectl_args[][9] = {
	{ "get", "nodes", "-o", "json", NULL },
	{ "get", "pods", "-A", "-o", "json", NULL },
	{ "get", "jobs", "-n", "msp", "-o", "json", NULL },
	{ "get", "deployments", "-n", "msp", "-o", "json", NULL },
	{ "get", "statefulsets", "-n", "msp", "-o", "json", NULL },
	{ "get", "helmreleases", "-n", "alga-system", "-o", "json", NULL },
	{ "get", "kustomizations", "-n", "flux-system", "-o", "json", NULL },
	{ "get", "ocirepositories", "-n", "flux-system", "-o", "json", NULL },
	{ "get", "events", "-A", "--field-selector", "type=Warning", "-o", "json", NULL },
	{ "get", "events", "-n", "msp", "-o", "json", NULL },
	{ "get", "configmap", "-n", "alga-system", "appliance-release-selection", "-o", "json", NULL },
	{ "version", "-o", "json", NULL },
};

static char *state_dir;
static pid_t fk_pid = -1;

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static int write_objects(const char *dir, unsigned pods)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/objects", dir);
	if (mkdir(path, 0700) < 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/objects/00-namespaces.json", dir);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[", f);
	for (int i = 0; i < 3; i++)
		fprintf(f, "%s{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"%s\"}}",
			i ? "," : "", (const char *[]){ "msp", "alga-system", "flux-system" }[i]);
	fputs("]}\n", f);
	fclose(f);

	snprintf(path, sizeof(path), "%s/objects/10-pods.json", dir);
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[", f);
	for (unsigned i = 0; i < pods; i++)
		fprintf(f,
			"%s{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"pod-%u\",\"namespace\":\"msp\","
			"\"labels\":{\"app\":\"alga-%u\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"ghcr.io/example/app:1.%u\","
			"\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"value\":\"2\"}]}]},"
			"\"status\":{\"phase\":\"Running\",\"startTime\":\"2026-01-01T00:00:00Z\",\"containerStatuses\":[{\"name\":\"app\","
			"\"ready\":true,\"restartCount\":0,\"image\":\"ghcr.io/example/app:1.%u\",\"state\":{\"running\":{}}}]}}",
			i ? "," : "", i, i % 10, i % 7, i % 7);
	fputs("]}\n", f);
	fclose(f);
	return 0;
}

static int copy_crds(const char *dir)
{
	static const char *const crds[] = { "helm-helmreleases.yaml", "kustomize-kustomizations.yaml",
					    "source-ocirepositories.yaml" };

	for (size_t i = 0; i < ELEMENTSOF(crds); i++) {
		char from[4096], to[4096], buf[65536];
		FILE *in, *out;
		size_t n;

		snprintf(from, sizeof(from), "%s/tests/fixtures/fakekube/crds/%s", BENCH_SOURCE_ROOT, crds[i]);
		snprintf(to, sizeof(to), "%s/objects/05-%s", dir, crds[i]);
		in = fopen(from, "re");
		if (!in)
			return -errno;
		out = fopen(to, "we");
		if (!out) {
			fclose(in);
			return -errno;
		}
		while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
			fwrite(buf, 1, n, out);
		fclose(in);
		fclose(out);
	}
	return 0;
}

static int fk_start(unsigned pods, unsigned *ret_port)
{
	char tmpl[] = "/tmp/bench-kube.XXXXXX", script[4096], objects[4096], out[4096];
	unsigned port = 0;
	int r;

	state_dir = strdup(mkdtemp(tmpl));
	if (!state_dir)
		return -errno;
	r = write_objects(state_dir, pods);
	if (r < 0)
		return r;
	r = copy_crds(state_dir);
	if (r < 0)
		return r;

	snprintf(script, sizeof(script), "%s/tests/fixtures/fakekube/fakekube", BENCH_SOURCE_ROOT);
	snprintf(objects, sizeof(objects), "%s/objects", state_dir);
	snprintf(out, sizeof(out), "%s/stdout", state_dir);

	fk_pid = fork();
	if (fk_pid < 0)
		return -errno;
	if (fk_pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		execl(PY, PY, script, "--state-dir", state_dir, "--objects", objects, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 600 && port == 0; i++) {
		FILE *f = fopen(out, "re");

		if (f) {
			if (fscanf(f, "READY %u", &port) != 1)
				port = 0;
			fclose(f);
		}
		if (port == 0)
			usleep(25000);
	}
	if (port == 0)
		return -ETIMEDOUT;
	*ret_port = port;
	return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	return remove(path);
}

static void fk_stop(void)
{
	if (fk_pid > 0) {
		kill(fk_pid, SIGTERM);
		waitpid(fk_pid, NULL, 0);
	}
	if (state_dir)
		nftw(state_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static unsigned n_done, n_bad;

static void on_done(struct alga_kube_request *req, int result, void *userdata)
{
	n_done++;
	if (result < 0 && alga_kube_request_http_status(req) != 404)
		n_bad++;
}

static int run_concurrent(struct alga_kube *kube, uint64_t *ret_usec)
{
	struct alga_kube_request *reqs[ELEMENTSOF(paths)] = {};
	uint64_t t0 = now_usec();
	int r = 0;

	n_done = n_bad = 0;
	for (size_t i = 0; i < ELEMENTSOF(paths) && r >= 0; i++) {
		r = alga_kube_request_new(kube, ALGA_KUBE_GET, paths[i], &reqs[i]);
		if (r >= 0) {
			alga_kube_request_set_deadline(reqs[i], t0 + 5 * USEC_PER_SEC);
			r = alga_kube_submit(kube, reqs[i], on_done, NULL);
		}
	}
	if (r >= 0)
		r = alga_kube_run(kube, t0 + 5 * USEC_PER_SEC);
	*ret_usec = now_usec() - t0;
	for (size_t i = 0; i < ELEMENTSOF(paths); i++)
		alga_kube_request_free(reqs[i]);
	if (r >= 0 && n_bad > 0)
		r = -EIO;
	return r;
}

static int run_sequential(struct alga_kube *kube, uint64_t *ret_usec)
{
	uint64_t t0 = now_usec();

	n_done = n_bad = 0;
	for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
		struct alga_kube_request *req = NULL;
		int r;

		r = alga_kube_request_new(kube, ALGA_KUBE_GET, paths[i], &req);
		if (r < 0)
			return r;
		r = alga_kube_submit(kube, req, on_done, NULL);
		if (r >= 0)
			r = alga_kube_run_until(kube, req, 0);
		alga_kube_request_free(req);
		if (r < 0)
			return r;
	}
	*ret_usec = now_usec() - t0;
	return n_bad > 0 ? -EIO : 0;
}

static int run_kubectl(const char *kubectl, uint64_t *ret_usec)
{
	posix_spawn_file_actions_t fa;
	uint64_t t0 = now_usec();
	int r = 0;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	for (size_t i = 0; i < ELEMENTSOF(kubectl_args) && r == 0; i++) {
		char *argv[12] = { (char *)kubectl };
		pid_t pid;
		int status;

		for (size_t j = 0; kubectl_args[i][j]; j++)
			argv[j + 1] = (char *)kubectl_args[i][j];
		r = posix_spawn(&pid, kubectl, &fa, NULL, argv, environ);
		if (r != 0) {
			r = -r;
			break;
		}
		if (waitpid(pid, &status, 0) < 0)
			r = -errno;
		/* the absent ConfigMap exits 1, as it should; a signal is a failure */
		else if (!WIFEXITED(status))
			r = -EIO;
	}
	posix_spawn_file_actions_destroy(&fa);
	*ret_usec = now_usec() - t0;
	return r;
}

static char *find_kubectl(const char *arg)
{
	const char *path = getenv("PATH");
	char *p, *save = NULL, *dup;

	if (arg)
		return strdup(arg);
	if (getenv("KUBECTL"))
		return strdup(getenv("KUBECTL"));
	dup = strdup(path ?: "/usr/bin");
	for (p = strtok_r(dup, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		char cand[4096], *real;

		snprintf(cand, sizeof(cand), "%s/kubectl", p);
		if (access(cand, X_OK) < 0)
			continue;
		/* gcloud's dispatcher: prefer the v1.32 beside it */
		real = realpath(cand, NULL);
		if (real) {
			char *slash = strrchr(real, '/'), v132[4096];

			*slash = '\0';
			snprintf(v132, sizeof(v132), "%s/kubectl.1.32", real);
			free(real);
			if (access(v132, X_OK) == 0) {
				free(dup);
				return strdup(v132);
			}
		}
		free(dup);
		return strdup(cand);
	}
	free(dup);
	return NULL;
}

static uint64_t best(const uint64_t *v, unsigned n)
{
	uint64_t b = UINT64_MAX;

	for (unsigned i = 0; i < n; i++)
		b = MIN(b, v[i]);
	return b;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "runs", required_argument, NULL, 'r' },
		{ "pods", required_argument, NULL, 'p' },
		{ "kubectl", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	unsigned runs = 5, pods = 200, port = 0;
	uint64_t conc[32], seq[32], kctl[32], c, s, k = 0;
	char kubeconfig[4096], home[4096], *kubectl = NULL, *arg_kubectl = NULL;
	struct alga_kube *kube = NULL;
	char *detail = NULL;
	int opt, r;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (opt) {
		case 'r':
			runs = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'p':
			pods = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'k':
			arg_kubectl = optarg;
			break;
		case 'h':
			printf("bench-kube [--runs N] [--pods N] [--kubectl PATH]\n");
			return 0;
		default:
			return 2;
		}
	if (runs < 1 || runs > 32) {
		fprintf(stderr, "bench-kube: --runs must be 1..32\n");
		return 2;
	}
	if (access(PY, X_OK) < 0 || system(PY " -c 'import yaml' >/dev/null 2>&1") != 0) {
		printf("bench-kube: SKIP: " PY " with python3-yaml is needed for fakekube\n");
		return 0;
	}

	r = fk_start(pods, &port);
	if (r < 0) {
		fprintf(stderr, "bench-kube: fakekube did not start: %s\n", strerror(-r));
		fk_stop();
		return 1;
	}
	snprintf(kubeconfig, sizeof(kubeconfig), "%s/kubeconfig", state_dir);
	snprintf(home, sizeof(home), "%s/home", state_dir);
	mkdir(home, 0700);
	setenv("KUBECONFIG", kubeconfig, 1);
	setenv("HOME", home, 1);

	r = alga_kube_new(&(struct alga_kube_options){ .kubeconfig = kubeconfig }, &kube, &detail);
	if (r < 0) {
		fprintf(stderr, "bench-kube: %s\n", detail ?: strerror(-r));
		fk_stop();
		return 1;
	}

	/* warm-up: connections, TLS, fakekube's caches, kubectl's discovery cache */
	(void)run_concurrent(kube, &c);
	kubectl = find_kubectl(arg_kubectl);
	if (kubectl)
		(void)run_kubectl(kubectl, &k);

	for (unsigned i = 0; i < runs; i++) {
		r = run_concurrent(kube, &conc[i]);
		if (r < 0) {
			fprintf(stderr, "bench-kube: concurrent run failed: %s\n", strerror(-r));
			goto out;
		}
		r = run_sequential(kube, &seq[i]);
		if (r < 0) {
			fprintf(stderr, "bench-kube: sequential run failed: %s\n", strerror(-r));
			goto out;
		}
		if (kubectl) {
			r = run_kubectl(kubectl, &kctl[i]);
			if (r < 0) {
				fprintf(stderr, "bench-kube: kubectl run failed: %s\n", strerror(-r));
				goto out;
			}
		}
	}
	c = best(conc, runs);
	s = best(seq, runs);
	printf("bench-kube: fakekube on port %u with %u pods; status.md wave 1 (12 GETs), best of %u\n",
	       port, pods, runs);
	printf("  %-38s %9.1f ms\n", "concurrent (lib/kube, one CURLM)", c / 1000.0);
	printf("  %-38s %9.1f ms   concurrent/sequential = %.3f\n", "sequential (lib/kube)", s / 1000.0,
	       (double)c / (double)s);
	if (kubectl) {
		k = best(kctl, runs);
		printf("  %-38s %9.1f ms   concurrent/kubectl = %.4f (1/%.0f), target <= %.3f (1/20): %s\n",
		       "12 x kubectl get -o json", k / 1000.0, (double)c / (double)k, (double)k / (double)c,
		       TARGET_RATIO, (double)c / (double)k <= TARGET_RATIO ? "PASS" : "FAIL");
	} else
		printf("  %-38s   SKIP: kubectl not found\n", "12 x kubectl get -o json");
	r = 0;
out:
	alga_kube_free(kube);
	free(kubectl);
	free(detail);
	fk_stop();
	free(state_dir);
	return r < 0 ? 1 : 0;
}
