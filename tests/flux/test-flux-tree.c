/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * release.md §4.7's rules on flux/ (T36, T37; resolutions.md C5, D12-D14,
 * E5). Objects are read from the source files each kustomization lists,
 * so a failure names the file; every kustomization must also build with
 * `kubectl kustomize` (default load restrictor) to the same objects.
 * kubectl is spawned here, by the test only; product code never does.
 */
#include <glib.h>
#include <stdbool.h>
#include <string.h>

#include <yaml.h>

static const char *const build_dirs[] = {
	"base", "base/platform", "base/core", "base/background", "profiles/single-node",
};

static const char *const api_versions[] = {
	"v1", "source.toolkit.fluxcd.io/v1", "kustomize.toolkit.fluxcd.io/v1",
	"helm.toolkit.fluxcd.io/v2", "rbac.authorization.k8s.io/v1",
};

/* name, chart, version, tier, dependsOn (R9's chart set) */
static const struct {
	const char *name, *chart, *version, *tier, *depends;
} releases[] = {
	{ "alga-core", "sebastian", "0.0.1", "core", "" },
	{ "pgbouncer", "pgbouncer", "0.1.0", "core", "alga-core" },
	{ "temporal", "temporal", "0.1.0", "background", "alga-core" },
	{ "workflow-worker", "workflow-worker", "0.1.0", "background", "alga-core,pgbouncer,temporal" },
	{ "email-service", "email-service", "0.1.0", "background", "alga-core,pgbouncer" },
	{ "temporal-worker", "temporal-worker", "0.1.0", "background", "alga-core,pgbouncer,temporal" },
};

struct object {
	char *file; /* relative to the tree */
	char *tier; /* the build dir that lists it */
	yaml_document_t doc;
};

static void object_free(gpointer p)
{
	struct object *o = p;

	yaml_document_delete(&o->doc);
	g_free(o->file);
	g_free(o->tier);
	g_free(o);
}

/* the value of the mapping n's key (which may hold dots) */
static yaml_node_t *get_key(yaml_document_t *d, yaml_node_t *n, const char *key)
{
	if (!n || n->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(d, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    strcmp((const char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

/* a dotted path of keys below n */
static yaml_node_t *get(yaml_document_t *d, yaml_node_t *n, const char *path)
{
	g_auto(GStrv) parts = g_strsplit(path, ".", -1);

	for (guint i = 0; parts[i] && n; i++)
		n = get_key(d, n, parts[i]);
	return n;
}

static const char *str(yaml_document_t *d, const char *path)
{
	yaml_node_t *n = get(d, yaml_document_get_root_node(d), path);

	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* the scalars of a sequence at path, or of the mapping field key of each item */
static GPtrArray *seq(yaml_document_t *d, yaml_node_t *from, const char *path, const char *key)
{
	GPtrArray *a = g_ptr_array_new();
	yaml_node_t *n = get(d, from ? from : yaml_document_get_root_node(d), path);

	if (!n || n->type != YAML_SEQUENCE_NODE)
		return a;
	for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
		yaml_node_t *e = yaml_document_get_node(d, *i);

		if (key)
			e = get(d, e, key);
		if (e && e->type == YAML_SCALAR_NODE)
			g_ptr_array_add(a, e->data.scalar.value);
	}
	return a;
}

static bool parse_docs(const char *text, size_t len, GPtrArray *out, const char *file,
		       const char *tier, GString *err)
{
	yaml_parser_t parser;
	bool ok = true;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	for (;;) {
		struct object *o = g_new0(struct object, 1);

		if (!yaml_parser_load(&parser, &o->doc)) {
			g_string_append_printf(err, "%s: not YAML: %s\n", file, parser.problem);
			g_free(o);
			ok = false;
			break;
		}
		if (!yaml_document_get_root_node(&o->doc)) {
			yaml_document_delete(&o->doc);
			g_free(o);
			break;
		}
		o->file = g_strdup(file);
		o->tier = g_strdup(tier);
		g_ptr_array_add(out, o);
	}
	yaml_parser_delete(&parser);
	return ok;
}

static bool has_dotdot(const char *path)
{
	g_auto(GStrv) parts = g_strsplit(path, "/", -1);

	for (guint i = 0; parts[i]; i++)
		if (strcmp(parts[i], "..") == 0)
			return true;
	return false;
}

/*
 * Reads dir's kustomization.yaml: resource files become objects; "../"
 * is allowed only for a directory resource that is itself a kustomization
 * inside the tree (profiles -> base), never for a file (D12).
 */
static void load_kustomization(const char *root, const char *dir, GPtrArray *objects,
			       GString *err)
{
	g_autofree char *kpath = g_build_filename(root, dir, "kustomization.yaml", NULL);
	g_autofree char *kfile = g_build_filename(dir, "kustomization.yaml", NULL);
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func(object_free);
	g_autofree char *text = NULL;
	gsize len;

	if (!g_file_get_contents(kpath, &text, &len, NULL)) {
		g_string_append_printf(err, "%s: missing\n", kfile);
		return;
	}
	if (!parse_docs(text, len, docs, kfile, dir, err) || docs->len != 1)
		return;

	struct object *k = docs->pdata[0];
	g_autoptr(GPtrArray) res = seq(&k->doc, NULL, "resources", NULL);
	yaml_node_t *gens = get(&k->doc, yaml_document_get_root_node(&k->doc), "configMapGenerator");

	for (guint i = 0; i < res->len; i++) {
		const char *r = res->pdata[i];
		g_autofree char *rel = g_build_filename(dir, r, NULL);
		g_autofree char *abs = g_build_filename(root, rel, NULL);
		g_autofree char *canon = g_canonicalize_filename(abs, NULL);
		g_autofree char *croot = g_canonicalize_filename(root, NULL);
		g_autofree char *ftext = NULL;
		gsize flen;

		if (!g_str_has_prefix(canon, croot)) {
			g_string_append_printf(err, "%s: resource '%s' leaves the tree\n", kfile, r);
			continue;
		}
		if (g_file_test(abs, G_FILE_TEST_IS_DIR)) {
			/* a directory resource: built on its own, as a build dir */
			if (!g_file_test(canon, G_FILE_TEST_IS_DIR))
				g_string_append_printf(err, "%s: resource '%s' missing\n", kfile, r);
			continue;
		}
		if (has_dotdot(r)) {
			g_string_append_printf(err,
					       "%s: file resource '%s' escapes its directory (D12)\n",
					       kfile, r);
			continue;
		}
		if (!g_file_get_contents(abs, &ftext, &flen, NULL)) {
			g_string_append_printf(err, "%s: resource '%s' missing\n", kfile, r);
			continue;
		}
		parse_docs(ftext, flen, objects, rel, dir, err);
	}

	if (gens && gens->type == YAML_SEQUENCE_NODE)
		for (yaml_node_item_t *i = gens->data.sequence.items.start;
		     i < gens->data.sequence.items.top; i++) {
			g_autoptr(GPtrArray) files =
				seq(&k->doc, yaml_document_get_node(&k->doc, *i), "files", NULL);

			for (guint f = 0; f < files->len; f++)
				if (has_dotdot(files->pdata[f]))
					g_string_append_printf(err, "%s: file '%s' escapes its directory\n",
							       kfile, (const char *)files->pdata[f]);
		}
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static bool ptr_has(GPtrArray *a, const char *s)
{
	for (guint i = 0; i < a->len; i++)
		if (strcmp(a->pdata[i], s) == 0)
			return true;
	return false;
}

static void expect(GString *err, struct object *o, const char *path, const char *want)
{
	const char *v = str(&o->doc, path);

	if (!v || strcmp(v, want) != 0)
		g_string_append_printf(err, "%s: %s/%s %s is '%s', want '%s'\n", o->file,
				       str(&o->doc, "kind"), str(&o->doc, "metadata.name"), path,
				       v ? v : "(absent)", want);
}

static bool prune_disabled(struct object *o)
{
	yaml_node_t *a = get(&o->doc, yaml_document_get_root_node(&o->doc), "metadata.annotations");
	yaml_node_t *v = get_key(&o->doc, a, "kustomize.toolkit.fluxcd.io/prune");

	return v && v->type == YAML_SCALAR_NODE &&
	       strcmp((const char *)v->data.scalar.value, "disabled") == 0;
}

static void check_rbac(struct object *o, GString *err)
{
	yaml_node_t *rules = get(&o->doc, yaml_document_get_root_node(&o->doc), "rules");

	if (!rules || rules->type != YAML_SEQUENCE_NODE) {
		g_string_append_printf(err, "%s: ClusterRole without rules\n", o->file);
		return;
	}
	for (yaml_node_item_t *i = rules->data.sequence.items.start; i < rules->data.sequence.items.top;
	     i++) {
		yaml_node_t *rule = yaml_document_get_node(&o->doc, *i);
		g_autoptr(GPtrArray) verbs = seq(&o->doc, rule, "verbs", NULL);
		g_autoptr(GPtrArray) res = seq(&o->doc, rule, "resources", NULL);

		for (guint v = 0; v < verbs->len; v++)
			if (!in_list((const char *const[]){ "get", "list", "watch" }, 3, verbs->pdata[v]))
				g_string_append_printf(err, "%s: ClusterRole verb '%s' is not read-only\n",
						       o->file, (const char *)verbs->pdata[v]);
		for (guint r = 0; r < res->len; r++)
			if (strcmp(res->pdata[r], "secrets") == 0 || strcmp(res->pdata[r], "*") == 0)
				g_string_append_printf(err, "%s: ClusterRole grants '%s'\n", o->file,
						       (const char *)res->pdata[r]);
		if (verbs->len == 0 || res->len == 0)
			g_string_append_printf(err, "%s: ClusterRole rule without verbs or resources\n",
					       o->file);
	}
}

static void check_kustomization_object(struct object *o, const char *root, GPtrArray *objects,
				       GString *err)
{
	const char *name = str(&o->doc, "metadata.name"), *path = str(&o->doc, "spec.path");
	g_autoptr(GPtrArray) deps = seq(&o->doc, NULL, "spec.dependsOn", "name");
	static const char *const tiers[][4] = {
		{ "alga-platform", "./base/platform", "10m", "" },
		{ "alga-core", "./base/core", "30m", "alga-platform" },
		{ "alga-background", "./base/background", "30m", "alga-core" },
	};
	size_t t;

	for (t = 0; t < G_N_ELEMENTS(tiers); t++)
		if (name && strcmp(tiers[t][0], name) == 0)
			break;
	if (t == G_N_ELEMENTS(tiers)) {
		g_string_append_printf(err, "%s: unknown Kustomization '%s'\n", o->file, name);
		return;
	}
	expect(err, o, "metadata.namespace", "flux-system");
	expect(err, o, "spec.path", tiers[t][1]);
	expect(err, o, "spec.interval", "5m");
	expect(err, o, "spec.retryInterval", "1m");
	expect(err, o, "spec.timeout", tiers[t][2]);
	expect(err, o, "spec.prune", "true");
	expect(err, o, "spec.wait", "true");
	expect(err, o, "spec.sourceRef.kind", "OCIRepository");
	expect(err, o, "spec.sourceRef.name", "alga-appliance");
	if (path) {
		g_autofree char *kdir = g_build_filename(root, path, "kustomization.yaml", NULL);

		if (!g_file_test(kdir, G_FILE_TEST_EXISTS))
			g_string_append_printf(err, "%s: Kustomization %s path '%s' does not exist\n",
					       o->file, name, path);
	}
	for (guint d = 0; d < deps->len; d++) {
		bool found = false;

		for (guint i = 0; i < objects->len; i++) {
			struct object *x = objects->pdata[i];
			const char *k = str(&x->doc, "kind"), *n = str(&x->doc, "metadata.name");

			if (k && n && strcmp(k, "Kustomization") == 0 && strcmp(n, deps->pdata[d]) == 0)
				found = true;
		}
		if (!found)
			g_string_append_printf(err, "%s: Kustomization %s dependsOn unknown '%s'\n",
					       o->file, name, (const char *)deps->pdata[d]);
	}
	if (deps->len != (*tiers[t][3] ? 1u : 0u) || (deps->len && strcmp(deps->pdata[0], tiers[t][3])))
		g_string_append_printf(err, "%s: Kustomization %s dependsOn is not '%s'\n", o->file,
				       name, tiers[t][3]);
	/* D13: removing alga-core from a bundle must not garbage-collect the database */
	if (strcmp(name, "alga-core") == 0 && !prune_disabled(o))
		g_string_append_printf(err, "%s: Kustomization alga-core lacks prune: disabled\n", o->file);
}

static void check_helmrelease(struct object *o, GPtrArray *objects, GPtrArray *values_keys,
			      GString *err)
{
	const char *name = str(&o->doc, "metadata.name");
	g_autoptr(GPtrArray) deps = seq(&o->doc, NULL, "spec.dependsOn", "name");
	g_autoptr(GPtrArray) vf_names = seq(&o->doc, NULL, "spec.valuesFrom", "name");
	g_autoptr(GPtrArray) vf_keys = seq(&o->doc, NULL, "spec.valuesFrom", "valuesKey");
	g_autofree char *cm = NULL, *key = NULL;
	g_auto(GStrv) want_deps = NULL;
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(releases); i++)
		if (name && strcmp(releases[i].name, name) == 0)
			break;
	if (i == G_N_ELEMENTS(releases)) {
		g_string_append_printf(err, "%s: unknown HelmRelease '%s'\n", o->file, name);
		return;
	}
	if (strcmp(o->tier, "base") != 0 &&
	    !g_str_has_suffix(o->tier, releases[i].tier))
		g_string_append_printf(err, "%s: HelmRelease %s belongs in base/%s\n", o->file, name,
				       releases[i].tier);
	expect(err, o, "metadata.namespace", "alga-system");
	expect(err, o, "spec.releaseName", name);
	expect(err, o, "spec.targetNamespace", "msp");
	expect(err, o, "spec.interval", "10m");
	expect(err, o, "spec.timeout", "30m");
	expect(err, o, "spec.install.createNamespace", "true");
	expect(err, o, "spec.chart.spec.chart", releases[i].chart);
	expect(err, o, "spec.chart.spec.version", releases[i].version);
	expect(err, o, "spec.chart.spec.interval", "10m");
	expect(err, o, "spec.chart.spec.reconcileStrategy", "Revision");
	expect(err, o, "spec.chart.spec.sourceRef.kind", "HelmRepository");
	expect(err, o, "spec.chart.spec.sourceRef.name", "alga-charts");
	expect(err, o, "spec.chart.spec.sourceRef.namespace", "flux-system");
	if (strcmp(name, "alga-core") == 0) {
		expect(err, o, "spec.install.remediation.retries", "0");
		expect(err, o, "spec.upgrade.remediation.retries", "0");
		expect(err, o, "spec.install.disableWait", "true");
		expect(err, o, "spec.upgrade.disableWait", "true");
		if (!prune_disabled(o))
			g_string_append_printf(err, "%s: HelmRelease alga-core lacks prune: disabled\n",
					       o->file);
	} else {
		expect(err, o, "spec.install.remediation.retries", "3");
		expect(err, o, "spec.upgrade.remediation.retries", "3");
		expect(err, o, "spec.upgrade.remediation.strategy", "rollback");
	}

	want_deps = g_strsplit(releases[i].depends, ",", -1);
	for (guint d = 0; d < deps->len; d++) {
		bool found = false;

		for (guint j = 0; j < objects->len; j++) {
			struct object *x = objects->pdata[j];
			const char *k = str(&x->doc, "kind"), *n = str(&x->doc, "metadata.name");

			if (k && n && strcmp(k, "HelmRelease") == 0 && strcmp(n, deps->pdata[d]) == 0)
				found = true;
		}
		if (!found)
			g_string_append_printf(err, "%s: HelmRelease %s dependsOn unknown '%s'\n",
					       o->file, name, (const char *)deps->pdata[d]);
	}
	if (deps->len != (*releases[i].depends ? g_strv_length(want_deps) : 0))
		g_string_append_printf(err, "%s: HelmRelease %s dependsOn is not '%s'\n", o->file,
				       name, releases[i].depends);

	cm = g_strdup_printf("appliance-values-%s", name);
	key = g_strdup_printf("%s.single-node.yaml", name);
	if (vf_names->len != 1 || vf_keys->len != 1 || strcmp(vf_names->pdata[0], cm) != 0 ||
	    strcmp(vf_keys->pdata[0], key) != 0)
		g_string_append_printf(err, "%s: HelmRelease %s valuesFrom must be %s key %s\n",
				       o->file, name, cm, key);
	else {
		g_autofree char *nk = g_strdup_printf("%s/%s", cm, key);

		if (!ptr_has(values_keys, nk))
			g_string_append_printf(err,
					       "%s: HelmRelease %s valuesFrom %s is not generated by "
					       "profiles/single-node\n",
					       o->file, name, nk);
	}
}

/* "ConfigMap-name/key" for each configMapGenerator file of the profile */
static GPtrArray *profile_values_keys(const char *root)
{
	g_autofree char *path = g_build_filename(root, "profiles/single-node/kustomization.yaml", NULL);
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func(object_free);
	g_autoptr(GString) ignore = g_string_new(NULL);
	g_autofree char *text = NULL;
	gsize len;
	yaml_node_t *gens;
	struct object *k;

	if (!g_file_get_contents(path, &text, &len, NULL) ||
	    !parse_docs(text, len, docs, "profiles", "profiles", ignore) || docs->len != 1)
		return out;
	k = docs->pdata[0];
	gens = get(&k->doc, yaml_document_get_root_node(&k->doc), "configMapGenerator");
	if (!gens || gens->type != YAML_SEQUENCE_NODE)
		return out;
	for (yaml_node_item_t *i = gens->data.sequence.items.start; i < gens->data.sequence.items.top;
	     i++) {
		yaml_node_t *g = yaml_document_get_node(&k->doc, *i);
		yaml_node_t *n = get(&k->doc, g, "name");
		g_autoptr(GPtrArray) files = seq(&k->doc, g, "files", NULL);

		if (!n || n->type != YAML_SCALAR_NODE)
			continue;
		for (guint f = 0; f < files->len; f++) {
			g_autofree char *base = g_path_get_basename(files->pdata[f]);
			g_autofree char *file = g_build_filename(root, "profiles/single-node",
								 (const char *)files->pdata[f], NULL);

			if (g_file_test(file, G_FILE_TEST_IS_REGULAR))
				g_ptr_array_add(out, g_strdup_printf("%s/%s", n->data.scalar.value, base));
		}
	}
	return out;
}

/* kubectl kustomize DIR; 0 when it builds, the text in *ret */
static int kustomize(const char *root, const char *dir, char **ret, GString *err)
{
	g_autofree char *abs = g_build_filename(root, dir, NULL);
	const char *argv[] = { "kubectl", "kustomize", abs, NULL };
	g_autofree char *out = NULL, *errout = NULL;
	g_autoptr(GError) error = NULL;
	int status;

	if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &errout,
			  &status, &error)) {
		g_string_append_printf(err, "%s: cannot run kubectl: %s\n", dir, error->message);
		return -1;
	}
	if (!g_spawn_check_wait_status(status, NULL)) {
		g_strchomp(errout);
		g_string_append_printf(err, "%s/kustomization.yaml: kubectl kustomize failed: %s\n", dir,
				       errout);
		return -1;
	}
	*ret = g_steal_pointer(&out);
	return 0;
}

/* all of §4.7's rules on the tree at root; failures appended to err, one per line */
static void check_tree(const char *root, GString *err)
{
	g_autoptr(GPtrArray) objects = g_ptr_array_new_with_free_func(object_free);
	g_autoptr(GPtrArray) values_keys = profile_values_keys(root);
	static const char *const namespaces[] = { "alga-system", "appliance-system", "msp" };
	unsigned n_hr = 0, n_ks = 0, n_ns = 0, n_rbac = 0;

	for (size_t i = 0; i < G_N_ELEMENTS(build_dirs); i++)
		if (!g_str_has_prefix(build_dirs[i], "profiles"))
			load_kustomization(root, build_dirs[i], objects, err);
	/* the profile's own resources are the base; read it for its escapes */
	{
		g_autoptr(GPtrArray) ignore = g_ptr_array_new_with_free_func(object_free);

		load_kustomization(root, "profiles/single-node", ignore, err);
	}

	for (guint i = 0; i < objects->len; i++) {
		struct object *o = objects->pdata[i];
		const char *api = str(&o->doc, "apiVersion"), *kind = str(&o->doc, "kind");

		if (!in_list(api_versions, G_N_ELEMENTS(api_versions), api)) {
			g_string_append_printf(err, "%s: apiVersion '%s' is not allowed\n", o->file,
					       api ? api : "(absent)");
			continue;
		}
		if (!kind)
			continue;
		if (strcmp(kind, "Secret") == 0 || strcmp(kind, "Deployment") == 0 ||
		    strcmp(kind, "Job") == 0 || strcmp(kind, "ConfigMap") == 0)
			g_string_append_printf(err, "%s: no %s belongs in base (D14)\n", o->file, kind);
		else if (strcmp(kind, "HelmRelease") == 0) {
			n_hr++;
			check_helmrelease(o, objects, values_keys, err);
		} else if (strcmp(kind, "Kustomization") == 0) {
			n_ks++;
			check_kustomization_object(o, root, objects, err);
		} else if (strcmp(kind, "Namespace") == 0) {
			const char *name = str(&o->doc, "metadata.name");

			n_ns++;
			if (!in_list(namespaces, G_N_ELEMENTS(namespaces), name))
				g_string_append_printf(err, "%s: unknown Namespace '%s'\n", o->file, name);
			if (!prune_disabled(o))
				g_string_append_printf(err, "%s: Namespace %s lacks prune: disabled (D13)\n",
						       o->file, name);
			if (name && strcmp(name, "alga-system") != 0)
				for (size_t m = 0; m < 3; m++) {
					static const char *const modes[] = { "enforce", "audit", "warn" };
					yaml_node_t *labels = get(&o->doc,
								  yaml_document_get_root_node(&o->doc),
								  "metadata.labels");
					g_autofree char *lk = g_strdup_printf(
						"pod-security.kubernetes.io/%s", modes[m]);
					yaml_node_t *v = get_key(&o->doc, labels, lk);

					if (!v || v->type != YAML_SCALAR_NODE ||
					    strcmp((const char *)v->data.scalar.value, "privileged"))
						g_string_append_printf(err, "%s: Namespace %s lacks %s\n",
								       o->file, name, lk);
				}
		} else if (strcmp(kind, "HelmRepository") == 0) {
			expect(err, o, "metadata.name", "alga-charts");
			expect(err, o, "metadata.namespace", "flux-system");
			expect(err, o, "spec.type", "oci");
			expect(err, o, "spec.interval", "5m0s");
			expect(err, o, "spec.url", "oci://ghcr.io/nine-minds/charts");
		} else if (strcmp(kind, "ClusterRole") == 0) {
			n_rbac++;
			expect(err, o, "metadata.name", "appliance-status-readonly");
			check_rbac(o, err);
		} else if (strcmp(kind, "ServiceAccount") == 0) {
			n_rbac++;
			expect(err, o, "metadata.name", "appliance-status");
			expect(err, o, "metadata.namespace", "appliance-system");
		} else if (strcmp(kind, "ClusterRoleBinding") == 0) {
			n_rbac++;
			expect(err, o, "metadata.name", "appliance-status-readonly");
			expect(err, o, "roleRef.name", "appliance-status-readonly");
		} else
			g_string_append_printf(err, "%s: unexpected kind %s\n", o->file, kind);

		/* RBAC only in the platform tier */
		if ((strcmp(kind, "ClusterRole") == 0 || strcmp(kind, "ServiceAccount") == 0 ||
		     strcmp(kind, "ClusterRoleBinding") == 0) &&
		    strcmp(o->file, "base/platform/appliance-status-rbac.yaml") != 0)
			g_string_append_printf(err, "%s: RBAC belongs in base/platform/appliance-status-rbac.yaml (C5)\n",
					       o->file);
	}
	if (n_hr != G_N_ELEMENTS(releases) || n_ks != 3 || n_ns != 3 || n_rbac != 3)
		g_string_append_printf(err,
				       "tree: %u HelmReleases, %u Kustomizations, %u Namespaces, %u RBAC "
				       "objects; want 6, 3, 3, 3\n",
				       n_hr, n_ks, n_ns, n_rbac);

	for (size_t i = 0; i < G_N_ELEMENTS(build_dirs); i++) {
		g_autofree char *out = NULL;

		if (kustomize(root, build_dirs[i], &out, err) < 0)
			continue;
		/* no image: in base; images come from values at install time */
		if (g_str_has_prefix(build_dirs[i], "base") && strstr(out, "image:"))
			g_string_append_printf(err, "%s: built output holds 'image:'\n", build_dirs[i]);
		if (strstr(out, "kind: Secret") || strstr(out, "kind: Deployment"))
			g_string_append_printf(err, "%s: built output holds a Secret or Deployment\n",
					       build_dirs[i]);
		if (strcmp(build_dirs[i], "base/platform") == 0) {
			g_autoptr(GPtrArray) docs = g_ptr_array_new_with_free_func(object_free);

			parse_docs(out, strlen(out), docs, build_dirs[i], build_dirs[i], err);
			for (guint d = 0; d < docs->len; d++) {
				struct object *o = docs->pdata[d];
				const char *kind = str(&o->doc, "kind");

				if (!in_list((const char *const[]){ "ServiceAccount", "ClusterRole",
								    "ClusterRoleBinding" },
					     3, kind))
					g_string_append_printf(err, "base/platform: built output holds %s\n",
							       kind ? kind : "(no kind)");
				else if (strcmp(kind, "ClusterRole") == 0)
					check_rbac(o, err);
			}
		}
	}
}

static const char *tree_root(void)
{
	static char *root;

	if (!root)
		root = g_build_filename(g_getenv("ALGA_SOURCE_ROOT") ?: "..", "flux", NULL);
	return root;
}

static bool have_kubectl(void)
{
	g_autofree char *k = g_find_program_in_path("kubectl");

	if (!k)
		g_test_skip("kubectl is not on PATH (scripts/install-deps installs it)");
	return k != NULL;
}

/* T36 */
static void test_tree(void)
{
	g_autoptr(GString) err = g_string_new(NULL);

	if (!have_kubectl())
		return;
	check_tree(tree_root(), err);
	if (err->len)
		g_error("flux tree:\n%s", err->str);
}

/* one copy of the tree with one file edited, and the file the failure must name */
static const struct {
	const char *name, *file, *from, *to, *names;
} mutations[] = {
	{ "unknown-depends-on", "base/background/temporal.yaml", "- name: alga-core",
	  "- name: alga-nowhere", "base/background/temporal.yaml" },
	{ "missing-values-key", "base/background/temporal-worker.yaml",
	  "valuesKey: temporal-worker.single-node.yaml", "valuesKey: temporal-worker.yaml",
	  "base/background/temporal-worker.yaml" },
	{ "v2beta1", "base/core/pgbouncer.yaml", "helm.toolkit.fluxcd.io/v2",
	  "helm.toolkit.fluxcd.io/v2beta1", "base/core/pgbouncer.yaml" },
	{ "dotdot-file", "base/core/kustomization.yaml", "  - pgbouncer.yaml",
	  "  - pgbouncer.yaml\n  - ../background/temporal.yaml", "base/core/kustomization.yaml" },
	{ "rbac-write", "base/platform/appliance-status-rbac.yaml", "verbs: [get]",
	  "verbs: [get, create]", "base/platform/appliance-status-rbac.yaml" },
	{ "rbac-secrets", "base/platform/appliance-status-rbac.yaml", "nodes, pods,",
	  "nodes, secrets, pods,", "base/platform/appliance-status-rbac.yaml" },
	{ "no-prune-annotation", "base/namespaces.yaml",
	  "  name: msp\n  labels:", "  name: msp\n  labels:\n    x: y", NULL },
	{ "core-prune", "base/core/alga-core.yaml", "prune: disabled", "prune: enabled",
	  "base/core/alga-core.yaml" },
	{ "status-deployment", "base/platform/appliance-status-rbac.yaml", "---\napiVersion: rbac",
	  "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: appliance-status-auth\n  namespace: "
	  "appliance-system\n---\napiVersion: rbac",
	  "base/platform/appliance-status-rbac.yaml" },
	{ "chart-version", "base/background/temporal.yaml", "version: 0.1.0", "version: 0.2.0",
	  "base/background/temporal.yaml" },
};

static void test_mutation(gconstpointer data)
{
	size_t i = GPOINTER_TO_SIZE(data);
	g_autoptr(GError) error = NULL;
	g_autoptr(GString) err = g_string_new(NULL);
	g_autofree char *tmp = NULL, *copy = NULL, *file = NULL, *text = NULL;
	g_autofree char *src = g_strdup(tree_root());
	const char *argv[] = { "cp", "-a", src, NULL, NULL };
	const char *rm[] = { "rm", "-rf", NULL, NULL };
	g_auto(GStrv) parts = NULL;
	int status;

	if (!have_kubectl())
		return;
	tmp = g_dir_make_tmp("flux-tree-XXXXXX", &error);
	g_assert_no_error(error);
	copy = g_build_filename(tmp, "flux", NULL);
	argv[3] = copy;
	g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL,
				   NULL, &status, &error));
	g_assert_true(g_spawn_check_wait_status(status, NULL));

	file = g_build_filename(copy, mutations[i].file, NULL);
	g_assert_true(g_file_get_contents(file, &text, NULL, &error));
	g_assert_nonnull(strstr(text, mutations[i].from));
	parts = g_strsplit(text, mutations[i].from, 2);
	g_free(text);
	text = g_strjoin(mutations[i].to, parts[0], parts[1], NULL);
	if (mutations[i].names == NULL) {
		/* drop the msp namespace's annotation instead of adding a label */
		char *a = strstr(text, "  name: msp");

		g_assert_nonnull(a);
		a = strstr(a, "  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled");
		g_assert_nonnull(a);
		memset(a, ' ', strlen("  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled"));
		a[0] = '#';
	}
	g_assert_true(g_file_set_contents(file, text, -1, &error));

	check_tree(copy, err);
	if (g_test_verbose())
		g_test_message("%s", err->str);
	g_assert_cmpuint(err->len, >, 0);
	g_assert_nonnull(strstr(err->str, mutations[i].names ? mutations[i].names : "base/namespaces.yaml"));

	rm[2] = tmp;
	g_spawn_sync(NULL, (char **)rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
}

int main(int argc, char *argv[])
{
	g_test_init(&argc, &argv, NULL);

	g_test_add_func("/flux/tree/rules", test_tree);
	for (size_t i = 0; i < G_N_ELEMENTS(mutations); i++) {
		g_autofree char *path = g_strdup_printf("/flux/tree/refuses/%s", mutations[i].name);

		g_test_add_data_func(path, GSIZE_TO_POINTER(i), test_mutation);
	}
	return g_test_run();
}
