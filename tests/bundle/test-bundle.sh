#!/usr/bin/env bash
# host.md tests 40-44 and the canary test: the real alga-bundle against a
# --root tree, journals made by systemd-journal-remote from export text and
# fakekube; bundles are unpacked with python's tarfile and searched.
set -u
. "$ALGA_SOURCE_ROOT/tests/tap.sh"
. "$ALGA_SOURCE_ROOT/tests/find-kubectl.sh"

BUNDLE=${ALGA_BUNDLE_BIN:?}
JREMOTE=/usr/lib/systemd/systemd-journal-remote
PY=${PYTHON3:-python3}
FK=${FAKEKUBE:?}

[ -x "$JREMOTE" ] || skip_all "systemd-journal-remote is absent"
"$PY" -c 'import yaml' 2>/dev/null || skip_all "python3-yaml (fakekube) is absent"

scratch
D=$SCRATCH
FK_PID=
cleanup() {
	[ -n "$FK_PID" ] && kill "$FK_PID" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT

"$PY" "$ALGA_SOURCE_ROOT/tests/bundle/make-fixtures.py" "$D/fx"
mkdir -p "$D/journal"
"$JREMOTE" -o "$D/journal/fixture.journal" - <"$D/fx/journal.export" 2>/dev/null ||
	skip_all "systemd-journal-remote cannot write journal files"
R=$D/fx/root

fk_start() {
	mkdir -p "$D/fk"
	"$PY" "$FK" --state-dir "$D/fk" --objects "$D/fx" >"$D/fk/stdout" 2>"$D/fk/stderr" &
	FK_PID=$!
	for _ in $(seq 400); do
		grep -q '^READY ' "$D/fk/stdout" 2>/dev/null && return 0
		kill -0 "$FK_PID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

# unpack BUNDLE DIR
unpack() {
	rm -rf "$2" && mkdir -p "$2" &&
		"$PY" - "$1" "$2" <<'PYEOF'
import os, sys, tarfile
t = tarfile.open(sys.argv[1])
for m in t.getmembers():
    assert not m.name.startswith("/") and ".." not in m.name.split("/"), m.name
    assert m.isfile() or m.isdir(), m.name
t.extractall(sys.argv[2])
PYEOF
}

# the bundle named in a --json reply
bpath() {
	sed -nE 's/.*"path":"([^"]+)".*/\1/p' <<<"$1"
}

# 40: layout, owners, modes, manifest; same second -> -2
mkdir -p "$D/out40"
out=$("$BUNDLE" --root "$R" --journal-dir "$D/journal" --no-cluster --no-network-checks \
	-o "$D/out40" --json)
rc=$?
check "40: exit 0" test $rc -eq 0
B=$(bpath "$out")
check "40: --json names the bundle, sha256 and counts" \
	eval 'grep -q "\"version\":1" <<<"$out" && grep -q "\"sha256\":\"[0-9a-f]\{64\}\"" <<<"$out" && test -f "$B"'
check "40: name alga-appliance-support-<UTC stamp>.tar.gz" \
	eval 'basename "$B" | grep -qE "^alga-appliance-support-[0-9]{8}T[0-9]{6}Z\.tar\.gz$"'
check "40: sha256 matches the file" \
	test "$(sha256sum "$B" | cut -d' ' -f1)" = "$(sed -nE 's/.*"sha256":"([0-9a-f]+)".*/\1/p' <<<"$out")"
check "40: the bundle is 0640" test "$(stat -c %a "$B")" = 640
listing=$(tar -tzvf "$B" 2>&1)
check "40: tar -tzvf lists it" test -n "$listing"
check "40: no absolute or .. paths" eval '! tar -tzf "$B" | grep -qE "^/|(^|/)\.\.(/|$)"'
check "40: no top directory" eval 'tar -tzf "$B" | grep -qx "meta/summary.txt"'
check "40: every entry root/root" eval '! awk "{print \$2}" <<<"$listing" | grep -vqx "root/root"'
check "40: files 0600, directories 0700" \
	eval '! grep -vE "^(-rw-------|drwx------) " <<<"$listing"'
for p in meta/bootstrap.json meta/setup-state.json meta/release-selection.json meta/build-info.json \
	host/appliance-journal.txt host/k3s-service-status.txt host/disk-usage.txt host/ip-addresses.txt \
	host/routes.txt host/resolv-conf.txt host/dns-lookup-ghcr.txt host/https-ghcr.txt \
	host/units.txt host/journal-errors.txt host/kernel.txt host/os.txt meta/manifest.json; do
	check "40: has $p" eval 'tar -tzf "$B" | grep -qx "$p"'
done
unpack "$B" "$D/x40"
check "40: manifest lists every file with its size" "$PY" - "$D/x40" <<'PYEOF'
import json, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, "meta/manifest.json")))
paths = set()
for f in m["files"]:
    for k in ["path", "source", "ok", "status", "bytes", "truncated", "redactions", "ms", "error"]:
        assert k in f, (k, f)
    assert os.path.getsize(os.path.join(d, f["path"])) == f["bytes"], f["path"]
    paths.add(f["path"])
files = set()
for root, dirs, names in os.walk(d):
    for n in names:
        files.add(os.path.relpath(os.path.join(root, n), d))
assert files - paths == {"meta/manifest.json", "meta/summary.txt"}, files ^ paths
PYEOF
check "40: summary.txt is key=value" \
	eval 'grep -q "^generator=alga-bundle" "$D/x40/meta/summary.txt" && grep -q "^rulesVersion=" "$D/x40/meta/summary.txt"'
check "40: the state file is structurally redacted" \
	eval 'grep -q "\"adminPassword\": \"\[REDACTED\]\"" "$D/x40/meta/setup-state.json"'

# same second: two bundles started together; one of them is -2
same=no
for _ in 1 2 3 4 5; do
	rm -rf "$D/out40b" && mkdir -p "$D/out40b"
	for i in 1 2; do
		"$BUNDLE" --root "$R" --journal-dir "$D/journal" --no-cluster --no-network-checks \
			-o "$D/out40b" -q &
	done
	wait
	n=$(ls "$D/out40b" | sed -E 's/Z(-[0-9]+)?\.tar\.gz$//' | sort -u | wc -l)
	if [ "$n" = 1 ]; then same=yes; break; fi
done
if [ $same = yes ]; then
	check "40: same second -> -2" eval 'ls "$D/out40b" | grep -qE "Z-2\.tar\.gz$" && test "$(ls "$D/out40b" | wc -l)" = 2'
else
	skip "40: same second -> -2 (two runs never landed in one second)"
fi

# retention: the newest 10 are kept
mkdir -p "$D/out40c"
for i in $(seq 1 11); do
	: >"$D/out40c/alga-appliance-support-20200101T0000$(printf %02d "$i")Z.tar.gz"
done
"$BUNDLE" --root "$R" --no-cluster --no-network-checks -o "$D/out40c" -q
check "40: newest 10 kept" eval 'test "$(ls "$D/out40c" | wc -l)" = 10 && ! test -e "$D/out40c/alga-appliance-support-20200101T000002Z.tar.gz"'

# 41: a big journal: truncation marker, truncated:true, peak RSS
SIZE_MIB=${ALGA_BUNDLE_BIG_JOURNAL_MIB:-300}
"$PY" "$ALGA_SOURCE_ROOT/tests/bundle/make-big-export.py" "$D/big.export" "$SIZE_MIB"
mkdir -p "$D/bigj" "$D/out41"
"$JREMOTE" -o "$D/bigj/big.journal" - <"$D/big.export" 2>/dev/null
rm -f "$D/big.export"
diag "41: journal of $(du -sm "$D/bigj" | cut -f1) MiB on disk (${SIZE_MIB} MiB of export text)"
res=$("$PY" -c '
import resource, subprocess, sys
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)
print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' \
	"$BUNDLE" --root "$R" --journal-dir "$D/bigj" --journal-lines 20000 --no-cluster \
	--no-network-checks -o "$D/out41")
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	mkdir -p "$D/full"
	unshare -m "$BASH" -c 'mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2" --root "$3" --journal-dir "$4" --journal-lines 20000 --no-cluster --no-network-checks -o "$1" -q' \
		_ "$D/full" "$BUNDLE" "$R" "$D/bigj" 2>/dev/null
	check "44: full 1 MiB tmpfs -> 1" test $? -eq 1
else
	skip "44: full 1 MiB tmpfs needs root and a mount namespace"
fi
rm -rf "$D/bigj"
check "41: exit 0" test "${res% *}" = 0
diag "41: peak RSS ${res#* } KiB"
check "41: peak RSS < 64 MiB" test "${res#* }" -lt 65536
unpack "$D"/out41/*.tar.gz "$D/x41"
check "41: the truncation marker" grep -q '^\[truncated by alga-bundle\]' "$D/x41/host/appliance-journal.txt"
check "41: the entry stays within 8 MiB" test "$(stat -c %s "$D/x41/host/appliance-journal.txt")" -le 8388608
check "41: truncated:true in the manifest" "$PY" -c '
import json, sys
m = json.load(open(sys.argv[1]))
f = [f for f in m["files"] if f["path"] == "host/appliance-journal.txt"][0]
assert f["truncated"] is True' "$D/x41/meta/manifest.json"
check "41: the newest line is kept and redacted" \
	eval 'tail -n 1 "$D/x41/host/appliance-journal.txt" | grep -q "password=\[REDACTED\]"'
rm -rf "$D/x41" "$D/out41"

# 43 and the canary test: fakekube with the fixture cluster, k3s.yaml
if fk_start; then
	cp "$D/fk/kubeconfig" "$R/etc/rancher/k3s/k3s.yaml"
	mkdir -p "$D/out43"
	"$BUNDLE" --root "$R" --journal-dir "$D/journal" --kubeconfig "$R/etc/rancher/k3s/k3s.yaml" \
		--no-network-checks -o "$D/out43" -q
	check "43: exit 0" test $? -eq 0
	unpack "$D"/out43/*.tar.gz "$D/x43"
	check "43: Secrets read only as Table with includeObject=None" "$PY" - "$D/fk/requests.jsonl" <<'PYEOF'
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
sec = [r for r in reqs if "secrets" in r["path"]]
assert sec, "no secrets request"
for r in sec:
    assert "as=Table" in (r["accept"] or ""), r
    assert "includeObject=None" in (r["query"] or ""), r
PYEOF
	check "43: secrets.txt lists names, no values" \
		eval 'grep -q alga-psa-shared "$D/x43/cluster/secrets.txt"'
	check "43: HelmRelease values.db.password -> [REDACTED]" "$PY" -c '
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
hr = [i for i in d["items"] if i["metadata"]["name"] == "alga-core"][0]
assert hr["spec"]["values"]["db"]["password"] == "[REDACTED]", hr["spec"]["values"]
assert hr["spec"]["values"]["db"]["host"] == "db"' "$D/x43/cluster/helmreleases.yaml"
	# PyYAML resolves by YAML 1.1, the reader most eager to retype a plain string
	check "43: the Flux YAML reads back with every value of its type (PyYAML)" "$PY" - "$D/x43/cluster" <<'PYEOF'
import sys, yaml
d = sys.argv[1]
hr = yaml.safe_load(open(d + "/helmreleases.yaml"))
assert hr["kind"] == "List", hr
v = [i for i in hr["items"] if i["metadata"]["name"] == "alga-core"][0]["spec"]["values"]
want = {"enabled": "yes", "version": "1.0", "date": "2001-12-14", "octal": "0o17", "empty": "",
        "tilde": "~", "port": 5432, "ratio": 0.5, "on": True}
assert v["ambiguous"] == want, v["ambiguous"]
assert v["config"] == "db:\n  password: [REDACTED]\nmode: fast\n", repr(v["config"])
assert v["apiKey"] == "[REDACTED]" and v["smtp"]["credentials"] == "[REDACTED]", v
src = yaml.safe_load(open(d + "/flux-sources.yaml"))
assert [i["kind"] for i in src["items"]] == ["OCIRepository"], src
assert "[REDACTED]@ghcr.io" in src["items"][0]["spec"]["url"], src
ks = yaml.safe_load(open(d + "/flux-kustomizations.yaml"))
assert ks["items"][0]["spec"]["postBuild"]["substitute"]["ADMIN_TOKEN"] == "[REDACTED]", ks
PYEOF
	if K=$(find_kubectl); then
		check "43: kubectl reads the Flux YAML" eval '"$K" --kubeconfig "$D/fk/kubeconfig" \
			create --dry-run=client --validate=false -o name \
			-f "$D/x43/cluster/helmreleases.yaml" -f "$D/x43/cluster/flux-sources.yaml" \
			-f "$D/x43/cluster/flux-kustomizations.yaml" | grep -qx "helmrelease.helm.toolkit.fluxcd.io/alga-core"'
	else
		skip "43: kubectl reads the Flux YAML: kubectl is not installed"
	fi
	check "43: no managedFields or last-applied anywhere" \
		eval '! grep -rqE "managedFields|last-applied-configuration" "$D/x43"'
	check "43: configmaps.txt has names and keys" \
		eval 'grep -q "^msp/alga-config: DATABASE_URL mode" "$D/x43/cluster/configmaps.txt"'
	check "43: pod logs, previous included" \
		eval 'test -f "$D/x43/logs/msp_web-0_web.log" -a -f "$D/x43/logs/msp_web-0_web-previous.log" -a -f "$D/x43/logs/msp_web-0_side.log"'
	check "43: cluster tables" eval 'grep -q web-0 "$D/x43/cluster/pods.txt" && grep -q msp "$D/x43/cluster/namespaces.txt"'
	check "canary: every file searched, no canary survives" "$PY" - "$D/x43" "$D/fx/canaries" <<'PYEOF'
import os, sys
d, cf = sys.argv[1], sys.argv[2]
canaries = [l.strip() for l in open(cf) if l.strip()]
found = []
n = 0
for root, dirs, names in os.walk(d):
    for name in names:
        data = open(os.path.join(root, name), "rb").read()
        n += 1
        for c in canaries:
            if c.encode() in data:
                found.append((os.path.relpath(os.path.join(root, name), d), c))
assert n > 30, n
assert not found, found
PYEOF
	check "canary: the log shapes were collected (redacted)" \
		eval 'grep -q "\[REDACTED PRIVATE KEY\]" "$D/x43/logs/msp_web-0_web.log" && grep -q "\[REDACTED KNOWN\]" "$D/x43/logs/msp_web-0_web.log"'

	# 42: the API stopped
	kill "$FK_PID"
	wait "$FK_PID" 2>/dev/null
	FK_PID=
	mkdir -p "$D/out42"
	"$BUNDLE" --root "$R" --journal-dir "$D/journal" --kubeconfig "$R/etc/rancher/k3s/k3s.yaml" \
		--no-network-checks -o "$D/out42" -q
	check "42: API down, exit 0" test $? -eq 0
	check "42: the archive is valid" eval 'tar -tzf "$D"/out42/*.tar.gz >/dev/null'
	unpack "$D"/out42/*.tar.gz "$D/x42"
	check "42: cluster/ files hold the error" \
		eval 'grep -q "Kubernetes API" "$D/x42/cluster/version.txt" && grep -q "Kubernetes API" "$D/x42/cluster/pods.txt"'
	check "42: manifest ok:false for cluster/" "$PY" -c '
import json, sys
m = json.load(open(sys.argv[1]))
c = [f for f in m["files"] if f["path"].startswith("cluster/")]
assert c and all(not f["ok"] and f["error"] for f in c), c' "$D/x42/meta/manifest.json"
else
	skip "43: fakekube did not start"
	skip "canary: fakekube did not start"
	skip "42: fakekube did not start"
fi

# 44: denylist via symlink, crash mid-archive, read-only dir, full disk
check "44: denylisted file via symlink skipped" \
	eval 'grep -q "skipped: the file is on the bundle denylist" "$D/x40/meta/bootstrap.json" && ! grep -rq CANARYADMINCRED "$D/x40"'
if [ "${ALGA_TEST_HOOKS:-0}" = 1 ]; then
	mkdir -p "$D/out44"
	ALGA_TEST_CRASH_AT=bundle-archive:6 "$BUNDLE" --root "$R" --no-cluster --no-network-checks \
		-o "$D/out44" -q 2>/dev/null
	rc=$?
	check "44: kill -9 mid-archive (rc $rc)" test $rc -eq 137
	check "44: no bundle-named file or leftover" test -z "$(ls -A "$D/out44")"
else
	skip "44: kill -9 mid-archive needs -Dtest-hooks=true"
fi
mkdir -p "$D/ro"
if [ "$(id -u)" = 0 ]; then
	if unshare -m true 2>/dev/null; then
		unshare -m "$BASH" -c 'mount --bind -o ro "$1" "$1" && exec "$2" --root "$3" --no-cluster --no-network-checks -o "$1" -q' \
			_ "$D/ro" "$BUNDLE" "$R" 2>/dev/null
		check "44: read-only dir -> 73" test $? -eq 73
	else
		skip "44: read-only dir (root and no mount namespace)"
	fi
else
	chmod 0555 "$D/ro"
	"$BUNDLE" --root "$R" --no-cluster --no-network-checks -o "$D/ro" -q 2>/dev/null
	check "44: read-only dir -> 73" test $? -eq 73
fi
check "44: nothing left in the read-only dir" test -z "$(ls -A "$D/ro")"

# redact and rules
check "redact: a line on stdin" \
	test "$(echo 'password=hunter2' | "$BUNDLE" redact)" = "password=[REDACTED]"
check "rules --json lists T0..T12" eval '"$BUNDLE" rules --json | grep -q "\"id\":\"T12\""'

finish
