#!/bin/bash
# SPDX-License-Identifier: MIT
# The real kubectl, with its default flags, against fakekube: every
# behaviour lib/kube relies on is checked here, so the fake cannot drift
# into agreeing only with our own client. TAP output.
set -u

. "$(dirname "$0")/lib.sh"

K=$(find_kubectl) || skip_all "kubectl not found"
command -v openssl >/dev/null || skip_all "openssl not found"
"$PY" -c 'import yaml' 2>/dev/null || skip_all "python3-yaml not installed"

trap 'fk_stop' EXIT
fk_start --objects "$FIDELITY_DIR/fixtures" || { echo "1..1"; echo "not ok 1 - fakekube starts"; exit 1; }
ok "fakekube starts (port $FK_PORT), kubectl is $("$K" version --client -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])')"

W=$FK_STATE/work
mkdir -p "$W"

k() { "$K" "$@"; }
jget() { "$PY" -c 'import json,sys
d=json.load(sys.stdin)
for p in sys.argv[1].split("."):
	d = d[int(p)] if isinstance(d, list) else d[p]
print(d if not isinstance(d,(dict,list)) else json.dumps(d))' "$1"; }
rv_of() { k get "$@" -o jsonpath='{.metadata.resourceVersion}'; }
expect_fail() {  # expect_fail PATTERN CMD...: CMD fails and its output matches PATTERN
	local pat=$1 out
	shift
	if out=$("$@" 2>&1); then
		echo "unexpected success: $out"
		return 1
	fi
	grep -Eq -- "$pat" <<<"$out" || { echo "output does not match /$pat/: $out"; return 1; }
}
reqs() { "$PY" -c 'import json,sys,re
pat=re.compile(sys.argv[2]); n=0
for l in open(sys.argv[1]):
	r=json.loads(l)
	if pat.search(r["method"]+" "+r["path"]+"?"+r["query"]): n+=1
print(n)' "$FK_STATE/requests.jsonl" "$1"; }

# --- discovery -------------------------------------------------------------
t_version() {
	k version -o json | jget serverVersion.gitVersion | grep -qx 'v1.31.5+k3s1'
}
check "kubectl version reads /version" t_version

t_api_resources() {
	local out
	out=$(k api-resources) || return 1
	for r in namespaces pods secrets configmaps events deployments statefulsets jobs \
		clusterroles rolebindings storageclasses customresourcedefinitions; do
		grep -Eq "^$r " <<<"$out" || { echo "missing $r"; return 1; }
	done
	grep -q fluxcd <<<"$out" && { echo "flux kinds before their CRDs"; return 1; }
	k api-resources --api-group=events.k8s.io -o name | grep -qx 'events.events.k8s.io'
}
check "api-resources lists the built-in groups and no Flux kinds" t_api_resources

t_crds() {
	k apply --server-side -f "$FK_DIR/crds/" >/dev/null || return 1
	k wait --for=condition=Established crd --all --timeout=10s >/dev/null || return 1
	local out
	out=$(k api-resources --api-group=source.toolkit.fluxcd.io -o name; k api-resources -o name | grep toolkit)
	for r in ocirepositories.source helmrepositories.source gitrepositories.source \
		kustomizations.kustomize helmreleases.helm; do
		grep -q "^$r.toolkit.fluxcd.io$" <<<"$out" || { echo "missing $r: $out"; return 1; }
	done
	k get crd helmreleases.helm.toolkit.fluxcd.io -o jsonpath='{.status.acceptedNames.kind}' | grep -qx HelmRelease
}
check "applying the Flux CRDs makes their kinds discoverable (Established)" t_crds

t_crd_name() {
	sed 's/name: helmreleases.helm.toolkit.fluxcd.io/name: wrong.helm.toolkit.fluxcd.io/' \
		"$FK_DIR/crds/helm-helmreleases.yaml" >"$W/badcrd.yaml"
	expect_fail 'is invalid' k apply --server-side -f "$W/badcrd.yaml"
}
check "a CRD whose name is not plural.group is Invalid (422)" t_crd_name

# --- server-side apply -----------------------------------------------------
cat >"$W/deploy.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: msp
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: registry.example/web:1
          env: [{name: MODE, value: recover}]
          ports: [{containerPort: 8080}]
EOF

t_apply_twice() {
	k apply --server-side -f "$W/deploy.yaml" | grep -q 'deployment.apps/web serverside-applied' || return 1
	local rv1 rv2 gen
	rv1=$(rv_of -n msp deploy/web)
	k apply --server-side -f "$W/deploy.yaml" >/dev/null || return 1
	rv2=$(rv_of -n msp deploy/web)
	[ -n "$rv1" ] && [ "$rv1" = "$rv2" ] || { echo "rv $rv1 -> $rv2"; return 1; }
	gen=$(k get -n msp deploy/web -o jsonpath='{.metadata.generation}')
	[ "$gen" = 1 ] || { echo "generation $gen"; return 1; }
	k diff --server-side -f "$W/deploy.yaml"
}
check "apply --server-side twice: second is unchanged (same resourceVersion, diff empty)" t_apply_twice

t_metadata() {
	local j
	j=$(k get -n msp deploy/web -o json --show-managed-fields) || return 1
	for f in uid resourceVersion generation creationTimestamp; do
		jget "metadata.$f" <<<"$j" >/dev/null || { echo "no metadata.$f"; return 1; }
	done
	[ "$(jget metadata.managedFields.0.manager <<<"$j")" = kubectl ] || return 1
	[ "$(jget metadata.managedFields.0.operation <<<"$j")" = Apply ] || return 1
	jget metadata.managedFields.0.fieldsV1 <<<"$j" | grep -q '"f:replicas"' || return 1
	jget metadata.managedFields.0.fieldsV1 <<<"$j" | grep -q 'k:{\\"name\\":\\"web\\"}'
}
check "objects carry uid, resourceVersion, generation, creationTimestamp, managedFields" t_metadata

t_conflict() {
	sed 's/replicas: 2/replicas: 3/' "$W/deploy.yaml" >"$W/deploy3.yaml"
	expect_fail 'conflict with "kubectl".*spec.replicas' \
		k apply --server-side --field-manager=other -f "$W/deploy3.yaml" || return 1
	[ "$(k get -n msp deploy/web -o jsonpath='{.spec.replicas}')" = 2 ] || return 1
	k apply --server-side --field-manager=other --force-conflicts -f "$W/deploy3.yaml" >/dev/null || return 1
	[ "$(k get -n msp deploy/web -o jsonpath='{.spec.replicas}')" = 3 ] || return 1
	[ "$(k get -n msp deploy/web -o jsonpath='{.metadata.generation}')" = 2 ] || return 1
	# ownership moved: kubectl no longer owns replicas, "other" does
	local j
	j=$(k get -n msp deploy/web -o json --show-managed-fields)
	"$PY" -c 'import json,sys
mf={e["manager"]: json.dumps(e["fieldsV1"]) for e in json.load(sys.stdin)["metadata"]["managedFields"]}
assert "f:replicas" in mf["other"], mf
assert "f:replicas" not in mf["kubectl"], mf' <<<"$j"
}
check "conflicting apply fails without --force-conflicts (409) and moves ownership with it" t_conflict

t_shared() {
	# the same value under another manager is shared, not a conflict
	k apply --server-side --field-manager=third -f "$W/deploy3.yaml" >/dev/null
}
check "applying an identical value under another manager co-owns it" t_shared

t_drop_fields() {
	cat >"$W/ns1.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: appliance-system
  labels:
    app.kubernetes.io/managed-by: alga
    pod-security.kubernetes.io/enforce: privileged
EOF
	cat >"$W/ns2.yaml" <<'EOF'
apiVersion: v1
kind: Namespace
metadata:
  name: appliance-system
  labels:
    app.kubernetes.io/managed-by: alga
EOF
	k apply --server-side --field-manager=alga-bootstrap -f "$W/ns1.yaml" >/dev/null || return 1
	# another manager sending a subset leaves bootstrap's label alone
	k apply --server-side --field-manager=alga-setup -f "$W/ns2.yaml" >/dev/null || return 1
	k get ns appliance-system -o jsonpath='{.metadata.labels}' | grep -q pod-security || { echo "other manager stripped label"; return 1; }
	# the same manager sending a subset drops what it stopped sending... unless co-owned
	k apply --server-side --field-manager=alga-bootstrap -f "$W/ns2.yaml" >/dev/null || return 1
	k get ns appliance-system -o jsonpath='{.metadata.labels}' | grep -q pod-security && { echo "label kept"; return 1; }
	k get ns appliance-system -o jsonpath='{.metadata.labels}' | grep -q managed-by
}
check "a manager that stops sending a field it alone owned removes it (C3)" t_drop_fields

t_dry_run() {
	local rv
	rv=$(rv_of -n msp deploy/web)
	sed 's/replicas: 3/replicas: 5/' "$W/deploy3.yaml" >"$W/deploy5.yaml"
	k apply --server-side --field-manager=other --force-conflicts --dry-run=server -f "$W/deploy5.yaml" -o jsonpath='{.spec.replicas}' | grep -qx 5 || return 1
	[ "$(k get -n msp deploy/web -o jsonpath='{.spec.replicas}')" = 3 ] || return 1
	[ "$(rv_of -n msp deploy/web)" = "$rv" ] || return 1
	k create configmap dry -n msp --from-literal=a=b --dry-run=server >/dev/null || return 1
	expect_fail 'NotFound|not found' k get -n msp cm/dry
}
check "dryRun=All changes nothing and returns the would-be object" t_dry_run

t_client_side_apply() {
	cat >"$W/csa.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: csa
  namespace: msp
data:
  a: "1"
EOF
	local out
	out=$(k apply -f "$W/csa.yaml" 2>&1) && grep -q 'configmap/csa created' <<<"$out" || { echo "$out"; return 1; }
	sed -i 's/"1"/"2"/' "$W/csa.yaml"
	out=$(k apply -f "$W/csa.yaml" 2>&1) && [ "$out" = "configmap/csa configured" ] || { echo "$out"; return 1; }
	[ "$(k get -n msp cm/csa -o jsonpath='{.data.a}')" = 2 ] || return 1
	# moving to server-side apply migrates kubectl-client-side-apply's fields
	out=$(k apply --server-side -f "$W/csa.yaml" 2>&1) || { echo "$out"; return 1; }
	k get -n msp cm/csa -o json --show-managed-fields | "$PY" -c 'import json,sys
mf=json.load(sys.stdin)["metadata"]["managedFields"]
assert any(e["manager"]=="kubectl" and e["operation"]=="Apply" and "f:a" in json.dumps(e["fieldsV1"]) for e in mf), mf'
}
check "client-side kubectl apply (create, configure), then --server-side migration" t_client_side_apply

t_watch_table() {
	k get cm -n msp -w --request-timeout=3s >"$W/watch.out" 2>&1 &
	local pid=$!
	sleep 0.8
	k create configmap watched -n msp >/dev/null || return 1
	sleep 0.5
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	head -n1 "$W/watch.out" | grep -Eq '^NAME +DATA +AGE$' || { cat "$W/watch.out"; return 1; }
	grep -Eq '^watched +0 ' "$W/watch.out" || { cat "$W/watch.out"; return 1; }
}
check "kubectl get -w prints table rows from watch events" t_watch_table

t_many_pods() {
	"$PY" -c 'import json
print(json.dumps({"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bulk"}}]+[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p-%03d"%i,"namespace":"bulk","labels":{"i":str(i%7)}},"spec":{"containers":[{"name":"c","image":"x"}]},"status":{"phase":"Running"}} for i in range(200)]}))' >"$W/pods.json"
	fkctl load "$W/pods.json" >/dev/null || return 1
	[ "$(k get pods -n bulk -o name | wc -l)" = 200 ] || return 1
	[ "$(k get pods -n bulk -o name -l i=3 | wc -l)" = 29 ] || return 1
	[ "$(k get pods -n bulk --chunk-size=50 --no-headers | wc -l)" = 200 ]
}
check "200 pods: list, selector, chunked table" t_many_pods

# --- get: json, yaml, table ------------------------------------------------
t_get_formats() {
	k get -n msp deploy/web -o json | jget kind | grep -qx Deployment || return 1
	k get -n msp deploy/web -o yaml | "$PY" -c 'import yaml,sys; d=yaml.safe_load(sys.stdin); assert d["spec"]["replicas"]==3' || return 1
	local out
	out=$(k get -n msp deploy) || return 1
	head -n1 <<<"$out" | grep -Eq '^NAME +READY +UP-TO-DATE +AVAILABLE +AGE$' || { echo "$out"; return 1; }
	grep -Eq '^web +0/3 +0 +0 ' <<<"$out" || { echo "$out"; return 1; }
	out=$(k get pods -n msp -o wide) || return 1
	grep -Eq '^alga-core-0 +2/2 +Running +2 ' <<<"$out" || { echo "$out"; return 1; }
	k get ns msp | grep -Eq '^msp +Active '
}
check "get -o json, -o yaml and the server-side table" t_get_formats

t_secret_table() {
	local out
	out=$(k get secrets -n msp) || return 1
	grep -Eq '^alga-psa-shared +Opaque +2 ' <<<"$out" || { echo "$out"; return 1; }
	# a Table asked for without objects must not carry the secret's data
	"$PY" - "$FK_STATE" <<'EOF'
import json, ssl, sys, urllib.request
d = sys.argv[1]
ctx = ssl.create_default_context(cafile=d + "/tls/server-ca.crt")
ctx.load_cert_chain(d + "/tls/client.crt", d + "/tls/client.key")
port = int(open(d + "/port").read())
for inc, want in (("None", None), ("Metadata", "PartialObjectMetadata"), ("Object", "Secret")):
	r = urllib.request.Request("https://127.0.0.1:%d/api/v1/namespaces/msp/secrets?includeObject=%s" % (port, inc),
		headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
	body = urllib.request.urlopen(r, context=ctx).read()
	t = json.loads(body)
	assert t["kind"] == "Table", t
	row = t["rows"][0]
	if want is None:
		assert "object" not in row and b"c2VjcmV0" not in body and b"ALGA_AUTH_KEY" not in body, body
	else:
		assert row["object"]["kind"] == want, row
		assert (b"c2VjcmV0" in body) == (inc == "Object"), body
EOF
}
check "get secrets table; includeObject=None carries no object or data" t_secret_table

t_paging() {
	local before after names
	before=$(reqs 'GET /api/v1/namespaces/paging/configmaps\?.*limit=2')
	names=$(k get cm -n paging --chunk-size=2 -o name | tr '\n' ' ')
	[ "$names" = "configmap/cm-00 configmap/cm-01 configmap/cm-02 configmap/cm-03 configmap/cm-04 configmap/cm-05 configmap/cm-06 " ] || { echo "$names"; return 1; }
	after=$(reqs 'GET /api/v1/namespaces/paging/configmaps\?.*limit=2')
	[ $((after - before)) -eq 4 ] || { echo "pages: $((after - before))"; return 1; }
	[ "$(reqs 'GET /api/v1/namespaces/paging/configmaps\?.*continue=')" -ge 3 ] || return 1
	k get cm -n paging --chunk-size=3 | grep -c '^cm-' | grep -qx 7
}
check "list paging with --chunk-size (limit/continue), for -o name and the table" t_paging

t_selectors() {
	s() { k get cm -n paging -o name -l "$1" | sed 's,configmap/,,' | tr '\n' ' '; }
	[ "$(s tier=web)" = "cm-00 cm-03 " ] || { echo "= $(s tier=web)"; return 1; }
	[ "$(s tier==db)" = "cm-01 cm-04 " ] || return 1
	[ "$(s 'tier!=web')" = "cm-01 cm-02 cm-04 cm-05 cm-06 " ] || { echo "!= $(s 'tier!=web')"; return 1; }
	[ "$(s 'tier in (web,cache)')" = "cm-00 cm-02 cm-03 cm-05 " ] || return 1
	[ "$(s 'tier notin (web,cache)')" = "cm-01 cm-04 cm-06 " ] || return 1
	[ "$(s tier)" = "cm-00 cm-01 cm-02 cm-03 cm-04 cm-05 " ] || return 1
	[ "$(s '!tier')" = "cm-06 " ] || return 1
	[ "$(s 'tier=web,tier!=db')" = "cm-00 cm-03 " ] || return 1
	[ "$(k get pods -n msp -o name --field-selector status.phase=Running)" = "pod/alga-core-0" ] || return 1
	[ "$(k get pods -n msp -o name --field-selector metadata.name=db-0)" = "pod/db-0" ] || return 1
	[ "$(k get pods -A -o name --field-selector metadata.namespace=msp,status.phase!=Running | wc -l)" = 2 ] || return 1
	[ "$(k get pods -n msp -o name -l job-name=setup)" = "pod/job-x" ]
}
check "label selectors (=, ==, !=, in, notin, exists, !exists) and field selectors" t_selectors

# --- patch -----------------------------------------------------------------
t_patch_merge() {
	local gen
	gen=$(k get -n msp deploy/web -o jsonpath='{.metadata.generation}')
	k patch -n msp deploy/web --type merge -p '{"metadata":{"labels":{"patched":"yes"}}}' | grep -q patched || return 1
	[ "$(k get -n msp deploy/web -o jsonpath='{.metadata.labels.patched}')" = yes ] || return 1
	[ "$(k get -n msp deploy/web -o jsonpath='{.metadata.generation}')" = "$gen" ] || { echo "metadata patch bumped generation"; return 1; }
	k patch -n msp deploy/web --type merge -p '{"spec":{"paused":true}}' >/dev/null || return 1
	[ "$(k get -n msp deploy/web -o jsonpath='{.metadata.generation}')" = $((gen + 1)) ] || return 1
	k patch -n msp deploy/web --type merge -p '{"metadata":{"labels":{"patched":null}}}' >/dev/null || return 1
	k get -n msp deploy/web -o jsonpath='{.metadata.labels}' | grep -q patched && return 1
	k get -n msp deploy/web -o json --show-managed-fields | grep -q '"manager": "kubectl-patch"'
}
check "patch --type merge (label set, null deletes, generation on spec only, kubectl-patch manager)" t_patch_merge

t_patch_json() {
	k patch -n msp deploy/web --type json -p '[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"registry.example/web:2"},{"op":"add","path":"/metadata/annotations","value":{"a":"b"}}]' >/dev/null || return 1
	[ "$(k get -n msp deploy/web -o jsonpath='{.spec.template.spec.containers[0].image}')" = registry.example/web:2 ] || return 1
	expect_fail 'Invalid|missing|nonexistent|test' k patch -n msp deploy/web --type json -p '[{"op":"remove","path":"/spec/nothing"}]'
}
check "patch --type json (replace, add; a bad path fails 422)" t_patch_json

t_patch_strategic() {
	k label -n msp deploy/web tier=front >/dev/null || return 1
	k annotate -n msp deploy/web note=hi >/dev/null || return 1
	[ "$(k get -n msp deploy/web -o jsonpath='{.metadata.labels.tier}{.metadata.annotations.note}')" = fronthi ]
}
check "kubectl label / annotate (strategic merge patch)" t_patch_strategic

t_reconcile_annotation() {
	k patch -n alga-system hr/alga-core --type merge -p '{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":"2025-01-01T00:00:00Z"}}}' >/dev/null 2>&1 && return 0
	k create ns alga-system >/dev/null 2>&1
	cat >"$W/hr.yaml" <<'EOF'
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: alga-core
  namespace: alga-system
spec:
  interval: 5m
  chart: {spec: {chart: alga-core, version: 1.2.3}}
EOF
	k apply --server-side -f "$W/hr.yaml" >/dev/null || return 1
	k patch -n alga-system hr/alga-core --type merge -p '{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":"2025-01-01T00:00:00Z"}}}' >/dev/null || return 1
	[ "$(k get -n alga-system hr/alga-core -o jsonpath='{.metadata.generation}')" = 1 ]
}
check "create ns (protobuf body), apply a HelmRelease, merge-patch reconcile annotation" t_reconcile_annotation

# --- status via the control API, wait ---------------------------------------
t_wait_hr() {
	k wait --for=condition=Ready -n alga-system hr/alga-core --timeout=15s >"$W/wait.out" 2>&1 &
	local pid=$!
	sleep 0.7
	fkctl status HelmRelease alga-system/alga-core --preset ready >/dev/null || return 1
	wait $pid || { cat "$W/wait.out"; return 1; }
	grep -q 'condition met' "$W/wait.out" || return 1
	fkctl status HelmRelease alga-system/alga-core --preset not-ready --reason InstallFailed --message 'install failed: boom' >/dev/null || return 1
	k wait --for=condition=Ready=False -n alga-system hr/alga-core --timeout=5s >/dev/null || return 1
	k wait --for=jsonpath='{.status.conditions[?(@.type=="Ready")].reason}'=InstallFailed -n alga-system hr/alga-core --timeout=5s >/dev/null || return 1
	k get hr -n alga-system | grep -Eq '^alga-core +[0-9]+s +False +install failed: boom'
}
check "wait --for=condition=Ready on a HelmRelease after status set through the control API" t_wait_hr

t_wait_deploy() {
	fkctl status Deployment msp/web --preset available >/dev/null || return 1
	k wait --for=condition=Available -n msp deploy/web --timeout=5s >/dev/null || return 1
	k rollout status -n msp deploy/web --timeout=5s | grep -q 'successfully rolled out' || return 1
	k get -n msp deploy | grep -Eq '^web +3/3 +3 +3 '
}
check "Deployment Available via control API: wait, rollout status, table" t_wait_deploy

t_oci_revision() {
	k apply --server-side -n flux-system -f "$FIDELITY_DIR/kustomize/flux.yaml" >/dev/null 2>&1
	k create ns flux-system >/dev/null 2>&1
	k apply --server-side -n flux-system -f "$FIDELITY_DIR/kustomize/flux.yaml" >/dev/null || return 1
	fkctl status OCIRepository flux-system/alga-appliance --artifact-revision 'v1.2.3@sha256:abcd' --preset ready >/dev/null || return 1
	[ "$(k get -n flux-system ocirepository/alga-appliance -o jsonpath='{.status.artifact.revision}')" = 'v1.2.3@sha256:abcd' ] || return 1
	k get -n flux-system ocirepositories | grep -Eq '^alga-appliance +oci://registry.example/alga/appliance +[0-9]+s +True '
}
check "OCIRepository artifact revision and Ready through the control API" t_oci_revision

t_status_subresource() {
	# the main endpoint ignores status; /status changes only status
	k patch -n alga-system hr/alga-core --type merge -p '{"status":{"observedGeneration":99}}' >/dev/null || return 1
	[ "$(k get -n alga-system hr/alga-core -o jsonpath='{.status.observedGeneration}')" != 99 ] || return 1
	k patch -n alga-system hr/alga-core --subresource=status --type merge -p '{"status":{"observedGeneration":99},"spec":{"suspend":true}}' >/dev/null || return 1
	[ "$(k get -n alga-system hr/alga-core -o jsonpath='{.status.observedGeneration}/{.spec.suspend}')" = 99/ ]
}
check "status subresource: main endpoint ignores status, /status ignores spec" t_status_subresource

# --- logs ------------------------------------------------------------------
t_logs() {
	[ "$(k logs -n msp alga-core-0 -c server --tail=2)" = "$(printf 'server line 9\nserver line 10')" ] || return 1
	[ "$(k logs -n msp alga-core-0 -c server --limit-bytes=13)" = "server line 1" ] || return 1
	[ "$(k logs -n msp alga-core-0 -c server --previous)" = "previous crash line" ] || return 1
	[ "$(k logs -n msp alga-core-0 -c bootstrap)" = "bootstrap done" ] || return 1
	[ "$(k logs -n msp alga-core-0 --tail=1 2>/dev/null)" = "server line 10" ] || return 1
	k logs -n msp alga-core-0 -c server --tail=1 --timestamps | grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T.* server line 10$' || return 1
	expect_fail 'not found|NotFound' k logs -n msp nope || return 1
	expect_fail 'previous terminated container' k logs -n msp db-0 --previous || return 1
	fkctl log msp db-0 postgres 'ready to accept connections' >/dev/null || return 1
	[ "$(k logs -n msp db-0)" = "ready to accept connections" ]
}
check "kubectl logs: --tail, --limit-bytes, --previous, -c, --timestamps, errors" t_logs

# --- errors ----------------------------------------------------------------
t_errors() {
	expect_fail 'NotFound.*configmaps "nope" not found' k get cm nope -n msp || return 1
	k create configmap twice -n msp >/dev/null || return 1
	expect_fail 'already exists' k create configmap twice -n msp || return 1
	expect_fail 'is invalid' k create configmap Bad_Name -n msp || return 1
	expect_fail 'namespaces "ghost" not found' k create configmap x -n ghost || return 1
	expect_fail 'the server doesn.t have a resource type' k get widgets
}
check "Status errors: NotFound, AlreadyExists, Invalid, missing namespace, unknown kind" t_errors

t_auth() {
	[ "$(k --context fakekube-token get ns msp -o name)" = namespace/msp ] || return 1
	expect_fail 'Unauthorized|must be logged in' k --context fakekube-token --token wrong get ns || return 1
	grep -q '"user":"alga"' "$FK_STATE/requests.jsonl" && grep -q '"user":"token-user"' "$FK_STATE/requests.jsonl"
}
check "client-cert context (CN alga) and bearer-token context; a bad token is 401" t_auth

# --- delete ----------------------------------------------------------------
t_delete_wait() {
	k create configmap gone -n msp >/dev/null || return 1
	k delete -n msp cm/gone --wait | grep -q 'deleted' || return 1
	expect_fail 'NotFound' k get -n msp cm/gone
}
check "delete --wait" t_delete_wait

t_foreground() {
	k create configmap owner -n msp >/dev/null || return 1
	local uid
	uid=$(k get -n msp cm/owner -o jsonpath='{.metadata.uid}')
	cat >"$W/dep.json" <<EOF
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dependent","namespace":"msp",
 "finalizers":["fidelity.test/hold"],
 "ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"owner","uid":"$uid","blockOwnerDeletion":true}]}}
EOF
	k create -f "$W/dep.json" >/dev/null || return 1
	k delete -n msp cm/owner --cascade=foreground --wait=false >/dev/null || return 1
	sleep 0.3
	k get -n msp cm/owner -o jsonpath='{.metadata.deletionTimestamp} {.metadata.finalizers}' | grep -q 'Z \["foregroundDeletion"\]' || return 1
	k get -n msp cm/dependent -o jsonpath='{.metadata.deletionTimestamp}' | grep -q Z || return 1
	k patch -n msp cm/dependent --type json -p '[{"op":"remove","path":"/metadata/finalizers"}]' >/dev/null || return 1
	k wait --for=delete -n msp cm/owner --timeout=10s >/dev/null || return 1
	expect_fail NotFound k get -n msp cm/dependent
}
check "delete --cascade=foreground keeps the owner (foregroundDeletion) until dependents go" t_foreground

t_background_gc() {
	k create configmap parent -n msp >/dev/null || return 1
	local uid
	uid=$(k get -n msp cm/parent -o jsonpath='{.metadata.uid}')
	printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"child","namespace":"msp","ownerReferences":[{"apiVersion":"v1","kind":"ConfigMap","name":"parent","uid":"%s"}]}}' "$uid" >"$W/child.json"
	k create -f "$W/child.json" >/dev/null || return 1
	k delete -n msp cm/parent >/dev/null || return 1
	k wait --for=delete -n msp cm/child --timeout=10s >/dev/null
}
check "background deletion garbage-collects dependents" t_background_gc

t_namespace_delete() {
	k create ns doomed >/dev/null || return 1
	k create configmap a -n doomed >/dev/null || return 1
	k create secret generic b -n doomed --from-literal=x=y >/dev/null || return 1
	k apply --server-side -n doomed -f "$W/deploy.yaml" >/dev/null 2>&1
	sed 's/namespace: msp/namespace: doomed/' "$W/deploy.yaml" | k apply --server-side -f - >/dev/null || return 1
	k delete ns doomed >/dev/null || return 1
	expect_fail NotFound k get ns doomed || return 1
	[ -z "$(k get cm,secret,deploy -n doomed -o name 2>/dev/null)" ]
}
check "namespace delete with contents (waits until the namespace is gone)" t_namespace_delete

t_namespace_terminating() {
	k create ns slow >/dev/null || return 1
	printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"held","namespace":"slow","finalizers":["fidelity.test/hold"]}}' | k create -f - >/dev/null || return 1
	k delete ns slow --wait=false >/dev/null || return 1
	sleep 0.3
	k get ns slow | grep -Eq '^slow +Terminating ' || return 1
	expect_fail 'forbidden|Forbidden|being terminated' k create configmap new -n slow || return 1
	k patch -n slow cm/held --type merge -p '{"metadata":{"finalizers":null}}' >/dev/null || return 1
	k wait --for=delete ns/slow --timeout=10s >/dev/null
}
check "namespace goes Terminating, refuses new content, disappears once empty" t_namespace_terminating

# --- kustomize -------------------------------------------------------------
t_kustomize() {
	local dir=$1 rvs1 rvs2
	k kustomize "$dir" >"$W/kz.yaml" || return 1
	k apply --server-side -f "$W/kz.yaml" >/dev/null || return 1
	rvs1=$(k get -f "$W/kz.yaml" -o jsonpath='{range .items[*]}{.metadata.resourceVersion} {end}') || return 1
	k kustomize "$dir" | k apply --server-side -f - >/dev/null || return 1
	rvs2=$(k get -f "$W/kz.yaml" -o jsonpath='{range .items[*]}{.metadata.resourceVersion} {end}') || return 1
	[ "$rvs1" = "$rvs2" ] || { echo "rv changed: $rvs1 -> $rvs2"; return 1; }
	k diff --server-side -f "$W/kz.yaml"
}
check "kubectl kustomize tests/fidelity/kustomize | kubectl apply --server-side -f - (twice, unchanged)" \
	t_kustomize "$FIDELITY_DIR/kustomize"

# the config bundle's entry point (release.md §4.7): the profile the
# alga-appliance Kustomization builds, which pulls in base/
if [ -f "$SRCROOT/flux/profiles/single-node/kustomization.yaml" ]; then
	check "kubectl kustomize flux/profiles/single-node | kubectl apply --server-side -f -" \
		t_kustomize "$SRCROOT/flux/profiles/single-node"
else
	ok "kubectl kustomize flux/ | kubectl apply --server-side -f - # SKIP no flux/profiles/single-node yet"
fi

# --- faults ----------------------------------------------------------------
fault_clear() { fkctl clear-faults >/dev/null; }

t_fault_500() {
	fkctl fault status --status 500 --path '/api/v1/namespaces/msp/configmaps$' --count 1 >/dev/null || return 1
	expect_fail 'InternalError|Internal error|injected 500' k get cm -n msp || return 1
	k get cm -n msp >/dev/null
}
check "fault: HTTP 500 is an error for kubectl, the next request succeeds" t_fault_500

t_fault_401_403() {
	fkctl fault status --status 401 --path '/namespaces/msp/secrets' >/dev/null || return 1
	expect_fail 'Unauthorized|must be logged in' k get secrets -n msp || return 1
	fkctl fault status --status 403 --path '/namespaces/msp/secrets' >/dev/null || return 1
	expect_fail 'Forbidden|forbidden' k get secrets -n msp
}
check "fault: 401 and 403 reach kubectl as Unauthorized / Forbidden" t_fault_401_403

t_fault_429() {
	local before after
	before=$(reqs 'GET /api/v1/namespaces/msp/pods/db-0\?')
	fkctl fault status --status 429 --retry-after 1 --path '/pods/db-0$' --count 1 >/dev/null || return 1
	k get -n msp pod/db-0 -o name | grep -qx pod/db-0 || return 1
	after=$(reqs 'GET /api/v1/namespaces/msp/pods/db-0\?')
	[ $((after - before)) -eq 2 ] || { echo "requests: $((after - before))"; return 1; }
	grep -q '"status":429' "$FK_STATE/requests.jsonl"
}
check "fault: 429 with Retry-After is retried by kubectl and then succeeds" t_fault_429

t_fault_delay() {
	fkctl fault delay --ms 300 --path '/namespaces/msp/pods/db-0$' >/dev/null || return 1
	k get -n msp pod/db-0 -o name >/dev/null || return 1
	grep '"fault":"delay"' "$FK_STATE/requests.jsonl" | grep -q '"durationMs":[3-9][0-9][0-9]' || return 1
	fkctl fault delay --ms 3000 --path '/namespaces/msp/pods/db-0$' >/dev/null || return 1
	expect_fail 'Timeout|timeout|deadline|exceeded' k get -n msp pod/db-0 --request-timeout=1s
}
check "fault: delay is served late; beyond --request-timeout it is a timeout" t_fault_delay

t_fault_hang() {
	fkctl fault hang --path '/namespaces/msp/pods/db-0$' >/dev/null || return 1
	local t0=$SECONDS
	expect_fail 'Timeout|timeout|deadline|exceeded' k get -n msp pod/db-0 --request-timeout=1s || return 1
	[ $((SECONDS - t0)) -lt 10 ] || return 1
	fault_clear
}
check "fault: hang makes kubectl time out" t_fault_hang

t_fault_reset() {
	fkctl fault reset --bytes 40 --path '/namespaces/msp/pods/db-0$' --count 3 >/dev/null || return 1
	expect_fail 'EOF|reset|broken|closed|error' k get -n msp pod/db-0 --request-timeout=5s || return 1
	fault_clear
}
check "fault: connection reset after N bytes is an error" t_fault_reset

t_fault_malformed() {
	fkctl fault malformed --path '/namespaces/msp/pods/db-0$' --count 1 >/dev/null || return 1
	expect_fail 'unexpected end|EOF|invalid|error|couldn' k get -n msp pod/db-0 -o json || return 1
	fault_clear
}
check "fault: malformed body is an error" t_fault_malformed

t_fault_oversize() {
	fkctl fault oversize --bytes 3000000 --path '/namespaces/msp/pods/db-0$' --count 1 >/dev/null || return 1
	local n
	n=$(k get -n msp pod/db-0 -o json | wc -c) || return 1
	[ "$n" -gt 2900000 ] || { echo "got $n bytes"; return 1; }
	[ "$(grep '"fault":"oversize"' "$FK_STATE/requests.jsonl" | grep -o '"responseBytes":[0-9]*' | cut -d: -f2)" -ge 3000000 ]
}
check "fault: oversize body (valid JSON padded to N bytes) reaches kubectl whole" t_fault_oversize

t_request_log() {
	"$PY" - "$FK_STATE/requests.jsonl" <<'EOF'
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
keys = {"method", "path", "query", "contentType", "userAgent", "bodySize", "status", "fieldManager", "force", "dryRun"}
assert all(keys <= set(r) for r in rs), rs[0]
ssa = [r for r in rs if r["contentType"].startswith("application/apply-patch+yaml")]
assert ssa and all(r["fieldManager"] for r in ssa)
assert any(r["force"] == "true" for r in ssa) and any(r["dryRun"] == "All" for r in rs)
assert any(r["userAgent"].startswith("kubectl") for r in rs)
assert any(r["path"] == "/openapi/v3" for r in rs)
EOF
}
check "requests.jsonl records method, path, query, type, agent, size, status, SSA params" t_request_log

trap - EXIT
fk_stop || not_ok "fakekube exits 0 on SIGTERM"
tap_end
