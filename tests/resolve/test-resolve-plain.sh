#!/usr/bin/env bash
# release.md §5 T01-T10, T13, T14, T16, T17, T25, T28-T33, T38, T39 against
# one plain docker-registry: every case gets its own repository, so the
# storage tampering of one cannot leak into another.
set -u
. "$ALGA_SOURCE_ROOT/tests/tap.sh"
. "$ALGA_SOURCE_ROOT/tests/resolve/lib.sh"

start_registry plain plain || skip_all "registry-up plain failed"
LOG=$REGISTRY_LOG

# ---- T01, T02, T31 -----------------------------------------------------------
if publish t01 $REPO --version 1.0.3 --channel stable; then
	md=$(jget "$W/t01.json" release.manifestDigest)
	cd_=$(jget "$W/t01.json" release.configDigest)
	m0=$(count_gets "$LOG" "/v2/$REPO/manifests/")
	b0=$(count_gets "$LOG" "/v2/$REPO/blobs/")
	resolve $(R) --repository $REPO --channel stable --json
	m1=$(count_gets "$LOG" "/v2/$REPO/manifests/")
	b1=$(count_gets "$LOG" "/v2/$REPO/blobs/")
	expect "T01 --channel stable --json exits 0" 0
	check "T01 manifestDigest is mkrelease's" test "$(jout manifestDigest)" = "$md"
	check "T01 configDigest is mkrelease's" test "$(jout configDigest)" = "$cd_"
	check "T01 release.version is 1.0.3" test "$(jout release.version)" = 1.0.3
	check "T01 source registry, not stale" test "$(jout source)/$(jout stale)" = registry/False
	check "T01 one manifest GET, one blob GET" test $((m1 - m0))/$((b1 - b0)) = 1/1

	resolve $(R) --repository $REPO --ref 1.0.3 --json
	expect "T02 --ref 1.0.3 exits 0" 0
	check "T02 --ref 1.0.3: same digests" test "$(jout manifestDigest) $(jout configDigest)" = "$md $cd_"
	resolve $(R) --repository $REPO --ref "$md" --json
	expect "T02 --ref <digest> exits 0" 0
	check "T02 --ref <digest>: same digests" test "$(jout manifestDigest) $(jout configDigest)" = "$md $cd_"

	b0=$(count_gets "$LOG" "/v2/$REPO/blobs/")
	resolve $(R) --repository $REPO --channel stable --json
	b1=$(count_gets "$LOG" "/v2/$REPO/blobs/")
	expect "T31 second resolve exits 0" 0
	check "T31 second resolve: no blob GET" test $((b1 - b0)) = 0
else
	fail "T01 publish"
fi

# ---- T03 ------------------------------------------------------------------------
before=$(cache_sum)
resolve $(R) --repository $REPO --channel nightly
expect "T03 absent nightly: exit 3 naming nightly, MANIFEST_UNKNOWN" 3 "nightly.*MANIFEST_UNKNOWN|MANIFEST_UNKNOWN.*nightly"
resolve $(R) --repository no/such --channel stable
expect "T03 --repository no/such: exit 3" 3
check "T03 cache unchanged" test "$(cache_sum)" = "$before"

# ---- T04, T05, T06: indexes ----------------------------------------------------------
if publish t04 t04 --index --channel stable; then
	pushed=$(python3 -c 'import json,sys
d=json.load(open(sys.argv[1]))
print([p["digest"] for p in d["pushed"] if p["reference"].endswith(":stable")][0])' "$W/t04.json")
	resolve $(R) --repository t04 --channel stable --json
	expect "T04 index via skopeo copy --all: exit 0" 0
	check "T04 indexDigest is the pushed index" test "$(jout indexDigest)" = "$pushed"
else
	fail "T04 publish"
fi
if publish t05 t05 --index --decoy --channel stable --push-method http; then
	m0=$(count_gets "$LOG" "/v2/t05/manifests/")
	resolve $(R) --repository t05 --channel stable --json
	m1=$(count_gets "$LOG" "/v2/t05/manifests/")
	expect "T05 decoy image + release: exit 0" 0
	check "T05 only the index and the release fetched" test $((m1 - m0)) = 2
	check "T05 indexDigest set" test -n "$(jout indexDigest)"
else
	fail "T05 publish"
fi
if publish t06a t06a --index --index-releases 2 --channel stable --push-method http; then
	resolve $(R) --repository t06a --channel stable
	expect "T06 two releases: exit 8 ambiguous index" 8 "ambiguous"
else
	fail "T06 publish"
fi
if publish t06b t06b --index --nest --channel stable --push-method http; then
	resolve $(R) --repository t06b --channel stable
	expect "T06 index of an index: exit 8" 8
else
	fail "T06 publish nested"
fi

# ---- T07, T08: storage tampering ------------------------------------------------------
if publish t07 t07 --channel stable; then
	cd7=$(jget "$W/t07.json" release.configDigest)
	f=$(blob_path "$cd7")
	python3 - "$f" <<'PY'
import sys
p = sys.argv[1]
b = open(p, 'rb').read()
open(p, 'wb').write(b.replace(b'1.0.3', b'6.6.6', 1))
PY
	got=$(sha_of <"$f")
	before=$(cache_sum)
	resolve $(R) --repository t07 --channel stable
	expect "T07 edited config blob: exit 7 digest mismatch" 7 "digest mismatch"
	check "T07 message names both digests" grep -q "${cd7#sha256:}.*${got#sha256:}\|${got#sha256:}.*${cd7#sha256:}" <<<"$ERR"
	check "T07 nothing on stdout" test -z "$OUT"
	check "T07 no cache write" test "$(cache_sum)" = "$before"
else
	fail "T07 publish"
fi
if publish t08 t08 --channel stable; then
	md8=$(jget "$W/t08.json" release.manifestDigest)
	cd8=$(jget "$W/t08.json" release.configDigest)
	f=$(blob_path "$md8")
	python3 - "$f" "${cd8#sha256:}" <<'PY'
import sys
p, hexd = sys.argv[1], sys.argv[2]
b = open(p, 'rb').read()
flip = b'0' if hexd[0] != '0' else b'1'
open(p, 'wb').write(b.replace(hexd.encode(), flip + hexd[1:].encode(), 1))
PY
	resolve $(R) --repository t08 --channel stable
	expect "T08 edited manifest, by tag: exit 7" 7
	resolve $(R) --repository t08 --ref "$md8"
	expect "T08 edited manifest, by digest: exit 7" 7
else
	fail "T08 publish"
fi

# ---- T09, T10: sizes -------------------------------------------------------------------
if publish t09 t09 --channel stable --pad 2097152; then
	b0=$(count_gets "$LOG" "/v2/t09/blobs/")
	resolve $(R) --repository t09 --channel stable
	b1=$(count_gets "$LOG" "/v2/t09/blobs/")
	expect "T09 2 MiB release JSON: exit 7" 7
	check "T09 no blob GET" test $((b1 - b0)) = 0
else
	fail "T09 publish"
fi
if publish t10a t10a --channel stable --pad 2097152 --config-size 300 --push-method http; then
	resolve $(R) --repository t10a --channel stable
	expect "T10 300 B declared for 2 MiB: exit 7 larger than its descriptor" 7 "larger than"
else
	fail "T10 publish 300"
fi
if publish t10b t10b --channel stable --config-size 2000 --set 'profileValues={}' --push-method http ||
	publish t10b t10b --channel stable --config-size 99999 --push-method http; then
	resolve $(R) --repository t10b --channel stable
	expect "T10 more declared than the blob holds: exit 7" 7
else
	fail "T10 publish 2000"
fi

# ---- T13: invalid JSON -------------------------------------------------------------------
"$MKRELEASE" --out "$W/L-t13" --no-bundle --json >"$W/t13.json" 2>/dev/null
good=$W/L-t13/blobs/sha256/$(jget "$W/t13.json" release.configDigest | sed 's/^sha256://')
head -c 100 "$good" >"$W/trunc.json"
{ cat "$good"; printf ' x'; } >"$W/trail.json"
if publish t13a t13a --channel stable --release "$W/trunc.json" --no-bundle; then
	resolve $(R) --repository t13a --channel stable
	expect "T13 truncated JSON: exit 9 invalid JSON" 9 "invalid JSON"
	check "T13 the message names the offset" grep -qiE "invalid JSON at offset [0-9]+" <<<"$ERR"
else
	fail "T13 publish truncated"
fi
if publish t13b t13b --channel stable --release "$W/trail.json" --no-bundle; then
	resolve $(R) --repository t13b --channel stable
	expect "T13 JSON + ' x': exit 9" 9
else
	fail "T13 publish trailing"
fi

# ---- T14: media types -----------------------------------------------------------------------
if publish t14a t14a --channel stable --artifact-type application/vnd.example.foreign.v1; then
	resolve $(R) --repository t14a --channel stable
	expect "T14 foreign artifactType: exit 8" 8
else
	fail "T14 publish foreign"
fi
if publish t14b t14b --channel stable --config-type application/vnd.oci.empty.v1+json; then
	resolve $(R) --repository t14b --channel stable
	expect "T14 empty config type: exit 8" 8
else
	fail "T14 publish empty"
fi
if publish t14c t14c --channel stable --config-type application/vnd.oci.image.config.v1+json --artifact-type ''; then
	resolve $(R) --repository t14c --channel stable
	expect "T14 image-config type without artifactType: exit 0 (compat)" 0
else
	fail "T14 publish compat"
fi

# ---- T16, T17: release rules in context ----------------------------------------------------
if publish t16 t16 --channel nightly --no-default-tags --tag stable; then
	md16=$(jget "$W/t16.json" release.manifestDigest)
	resolve $(R) --repository t16 --channel stable
	expect "T16 channel nightly as :stable: exit 9 naming channel" 9 "channel"
	resolve $(R) --repository t16 --ref "$md16"
	expect "T16 --ref <digest>: exit 0" 0
else
	fail "T16 publish"
fi
if publish t17 t17 --channel stable --min-host-version 99.0.0; then
	resolve $(R) --repository t17 --channel stable
	expect "T17 minHostVersion 99.0.0: exit 9 naming both versions" 9 "99\.0\.0.*[0-9]+\.[0-9]+\.[0-9]+"
else
	fail "T17 publish"
fi

# ---- T32, T33: usage and output ---------------------------------------------------------------
resolve --help
expect "T32 --help exits 0" 0
all=true
for o in channel ref registry repository ca-file insecure-registry dns-server timeout cached \
	fallback-cache no-cache verify-bundle json field raw verbose quiet config root; do
	grep -q -- "--$o" <<<"$OUT" || { all=false; diag "--help lacks --$o"; }
done
check "T32 --help lists every option" $all
resolve --no-such-option
expect "T32 bad option: exit 2" 2
resolve --channel beta
expect "T32 --channel beta: exit 2 naming the allowed values" 2 "stable, nightly"
resolve --ref 'a b'
expect "T32 --ref 'a b': exit 2" 2
resolve --channel stable --ref 1.0.3
expect "T32 --channel with --ref: exit 2" 2
printf 'mirror = x\n' >"$W/bad.conf"
resolve --config "$W/bad.conf" $(R) --repository $REPO
expect "T32 config line 'mirror = x': exit 2 naming line 1" 2 "bad.conf:1"
ALGA_RELEASE_CONF=$W/bad.conf resolve $(R) --repository $REPO
expect "T32 \$ALGA_RELEASE_CONF is read" 2 "bad.conf:1"
mkdir -p "$ROOT/etc/alga"
printf '# lab mirror\nregistry = %s\nrepository = %s\n\ninsecure-registry = true\nchannel = stable\n' \
	"$REGISTRY" "$REPO" >"$ROOT/etc/alga/release.conf"
resolve --field release.version
expect "T32 /etc/alga/release.conf under --root gives the defaults" 0
check "T32 release.conf: version 1.0.3" test "$OUT" = 1.0.3
rm -f "$ROOT/etc/alga/release.conf"

if [ -f "$W/t01.json" ]; then
	resolve $(R) --repository $REPO --channel stable --field config.digest
	expect "T33 --field config.digest exits 0" 0
	check "T33 --field config.digest prints the digest only" \
		test "$OUT" = "$(jget "$W/t01.json" release.configBundleDigest)"
	resolve $(R) --repository $REPO --channel stable --field x
	expect "T33 --field x: exit 2" 2
	resolve $(R) --repository $REPO --channel stable
	expect "T33 human output exits 0" 0
	check "T33 piped: no ANSI" test -z "$(grep -P '\x1b' <<<"$OUT")"
	check "T33 human output: aligned key value lines" grep -qE '^manifestDigest +sha256:' <<<"$OUT"
	resolve $(R) --repository $REPO --channel stable --raw
	check "T33 --raw is the verified blob" test "$(printf '%s' "$OUT" | sha_of)" = "$(jget "$W/t01.json" release.configDigest)"
fi

# ---- T38, T39: --verify-bundle --------------------------------------------------------------------
if publish t38 t38 --channel stable; then
	resolve $(R) --repository t38 --channel stable --verify-bundle --json
	expect "T38 --verify-bundle: exit 0" 0
	check "T38 lists base/kustomization.yaml" \
		python3 -c 'import json,sys; sys.exit(0 if "base/kustomization.yaml" in json.loads(sys.argv[1])["bundle"]["files"] else 1)' "$OUT"
	check "T38 six HelmReleases agree with charts" test "$(jout bundle.helmReleases)" = 6
else
	fail "T38 publish"
fi
if publish t39a t39a --channel stable --chart temporal=0.2.0; then
	resolve $(R) --repository t39a --channel stable --verify-bundle
	expect "T39 charts.temporal 0.2.0: exit 9 naming temporal" 9 "temporal"
else
	fail "T39 publish chart"
fi
python3 - "$W" <<'PY'
import io, sys, tarfile, gzip
w = sys.argv[1]
def mk(name, entries, level=6):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            t.addfile(*e)
    open(f'{w}/{name}', 'wb').write(gzip.compress(buf.getvalue(), compresslevel=level, mtime=0))
def f(path, data=b'x: 1\n'):
    i = tarfile.TarInfo(path); i.size = len(data); return (i, io.BytesIO(data))
def link(path, target):
    i = tarfile.TarInfo(path); i.type = tarfile.SYMTYPE; i.linkname = target; return (i,)
mk('dotdot.tgz', [f('base/kustomization.yaml'), f('../../etc/passwd', b'root::0:0::/:/bin/sh\n')])
mk('abs.tgz', [f('base/kustomization.yaml'), f('/abs', b'x\n')])
mk('symlink.tgz', [f('base/kustomization.yaml'), link('base/evil', '/etc/shadow')])
class Zeros(io.RawIOBase):
    def __init__(self, n): self.n = n
    def readinto(self, b):
        k = min(len(b), self.n); b[:k] = bytes(k); self.n -= k; return k
big = tarfile.TarInfo('base/zeros.bin'); big.size = 100 << 20
mk('zeros.tgz', [f('base/kustomization.yaml'), (big, Zeros(100 << 20))], level=1)
PY
for t in dotdot abs symlink; do
	if publish t39$t t39$t --channel stable --bundle-tar "$W/$t.tgz"; then
		resolve $(R) --repository t39$t --channel stable --verify-bundle
		expect "T39 bundle with $t entry: exit 7 unsafe path" 7 "unsafe path"
	else
		fail "T39 publish $t"
	fi
done
check "T39 nothing written outside the cache" test ! -e "$W/etc/passwd" -a ! -e "$ROOT/etc/passwd"
if publish t39zeros t39zeros --channel stable --bundle-tar "$W/zeros.tgz"; then
	resolve $(R) --repository t39zeros --channel stable --verify-bundle
	expect "T39 100 MiB of zeros: exit 7 at 64 MiB" 7 "more than 67108864"
else
	fail "T39 publish zeros"
fi

# ---- T28 (part 1): $STATE_DIRECTORY --------------------------------------------------------------
S=$W/state
mkdir -p "$S/releases"
grp=$(getent group nogroup >/dev/null && echo nogroup || echo users)
chgrp "$grp" "$S/releases" 2>/dev/null
chmod 2770 "$S/releases"
STATE_DIRECTORY=$S resolve $(R) --repository $REPO --channel stable --json
expect "T28 resolve with \$STATE_DIRECTORY: exit 0" 0
T28_MD=$(jout manifestDigest)
check "T28 cache file 0660 with the directory's group" \
	test "$(stat -c '%a %G' "$S/releases/release.json" 2>/dev/null)" = "660 $(stat -c %G "$S/releases")"
check "T28 cache document version 1" test "$(jget "$S/releases/release.json" version)" = 1

# ---- T29: SIGKILL at random --------------------------------------------------------------------------
valid_cache() {
	local f=$1
	[ ! -e "$f" ] || python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); assert d["version"]==1 and isinstance(d["entries"], list)' "$f"
}
R29=$W/root29
bad=0
for i in $(seq 50); do
	"$ALGA_RESOLVE_BIN" --root "$R29" $(R) --repository $REPO --channel stable -q >/dev/null 2>&1 &
	p=$!
	sleep "0.$(printf '%03d' $((RANDOM % 300)))"
	kill -9 $p 2>/dev/null
	wait $p 2>/dev/null
	valid_cache "$R29/var/lib/alga/releases/release.json" || bad=$((bad + 1))
done
check "T29 50 SIGKILLs: cache absent, old or new, and it parses ($bad bad)" test $bad = 0
"$ALGA_RESOLVE_BIN" --root "$R29" $(R) --repository $REPO --channel stable -q >/dev/null 2>&1
check "T29 no temp files after a clean run" \
	test -z "$(find "$R29/var/lib/alga/releases" -name '.release.json.*' 2>/dev/null)"

# the same at the two exact points, through the test hook (resolutions.md E7)
if [ "${ALGA_TEST_HOOKS:-0}" = 1 ]; then
	before=$(sha256sum "$R29/var/lib/alga/releases/release.json" | cut -d' ' -f1)
	ALGA_TEST_CRASH_AT=cache-write "$ALGA_RESOLVE_BIN" --root "$R29" $(R) --repository $REPO \
		--ref 1.0.3 -q >/dev/null 2>&1
	rc=$?
	check "T29 killed before the cache write: SIGKILL, cache unchanged" \
		test "$rc/$(sha256sum "$R29/var/lib/alga/releases/release.json" | cut -d' ' -f1)" = "137/$before"
	ALGA_TEST_CRASH_AT=cache-written "$ALGA_RESOLVE_BIN" --root "$R29" $(R) --repository $REPO \
		--ref 1.0.3 -q >/dev/null 2>&1
	check "T29 killed after the rename: the new entry is there" \
		grep -q "$REPO:1.0.3" "$R29/var/lib/alga/releases/release.json"
else
	skip "T29 crash points need -Dtest-hooks=true"
fi

# ---- T30: a tampered cache, an unwritable cache dir -------------------------------------------------
R30=$W/root30
"$ALGA_RESOLVE_BIN" --root "$R30" $(R) --repository $REPO --channel stable -q >/dev/null 2>&1
f30=$R30/var/lib/alga/releases/release.json
python3 - "$f30" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["entries"][-1]["config"] = d["entries"][-1]["config"].replace("62cdce38", "62cdce39", 1)
json.dump(d, open(sys.argv[1], "w"))
PY
ROOT=$R30 resolve --registry "$REGISTRY" --repository $REPO --channel stable --cached
expect "T30 --cached with an edited entry: exit 3 failed verification" 3 "failed verification"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
	R30b=$W/pub/root
	mkdir -p "$R30b/var/lib/alga/releases"
	chmod 0755 "$W" "$W/pub"
	chmod 0555 "$R30b/var/lib/alga/releases"
	OUT=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$ALGA_RESOLVE_BIN" --root "$R30b" \
		$(R) --repository $REPO --channel stable 2>"$W/err")
	rc=$?
	ERR=$(cat "$W/err")
	chmod 0700 "$W"
else
	R30b=$W/root30b
	mkdir -p "$R30b/var/lib/alga/releases"
	chmod 0555 "$R30b/var/lib/alga/releases"
	resolve $(R) --repository $REPO --channel stable
fi
expect "T30 unwritable cache dir: exit 0 and 'cache not updated'" 0 "cache not updated"

# ---- --dns-server: names resolved through the given server and pinned ------------------------
if [ "$(id -u)" = 0 ]; then
	"$ALGA_SOURCE_ROOT/tests/resolve/dns-stub" 127.0.0.77 "$W/dns.ready" >"$W/dns.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do [ -f "$W/dns.ready" ] && break; sleep 0.05; done
	resolve --registry "registry.alga.test:${REGISTRY#*:}" --insecure-registry --repository $REPO \
		--channel stable --dns-server 127.0.0.77 --no-cache --field release.version
	expect "--dns-server: a name only the given server knows resolves" 0
	check "--dns-server: the server was asked for it" grep -qx registry.alga.test "$W/dns.log"
else
	skip "--dns-server needs port 53 (root)"
fi

# ---- T25, T28 (part 2): the registry stops --------------------------------------------------------
stop_registry
start=$(date +%s)
resolve $(R) --repository $REPO --channel stable --timeout 5
elapsed=$(($(date +%s) - start))
expect "T25 registry stopped: exit 4" 4
check "T25 exit 4 within 15 s (${elapsed} s)" test $elapsed -le 15
resolve $(R) --repository $REPO --channel stable --fallback-cache --json
expect "T25 --fallback-cache with an entry: exit 10" 10
check "T25 source cache, stale true" test "$(jout source)/$(jout stale)" = cache/True
resolve $(R) --repository never/resolved --channel stable --fallback-cache
expect "T25 --fallback-cache without an entry: exit 4" 4
STATE_DIRECTORY=$S resolve --registry "$REGISTRY" --repository $REPO --channel stable --cached --json
expect "T28 --cached --json after the registry stopped: exit 0" 0
check "T28 --cached: same release and digests" \
	test "$(jout source) $(jout manifestDigest) $(jout release.version)" = "cache $T28_MD 1.0.3"

finish
