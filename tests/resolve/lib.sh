# shellcheck shell=bash
# Shared helpers of the alga-resolve acceptance tests (release.md §5):
# sourced after tests/tap.sh. Each script starts its registries with
# start_registry, publishes with publish, and drives the binary with
# resolve, which leaves $rc, $OUT and $ERR behind.
set -u

: "${ALGA_RESOLVE_BIN:?}"
FIX=$ALGA_SOURCE_ROOT/tests/fixtures/registry
FIXBIN=${REGISTRY_FIXTURE_BIN:-$ALGA_BUILD_ROOT/tests/fixtures/registry}
MKRELEASE=$ALGA_SOURCE_ROOT/scripts/mkrelease
REPO=alga-appliance-release

for t in docker-registry skopeo openssl curl setpriv python3; do
	command -v $t >/dev/null || skip_all "$t is not installed"
done
for b in token-issuer blobhost; do
	[ -x "$FIXBIN/$b" ] || skip_all "$b is not built"
done

W=$(mktemp -d "${TMPDIR:-/tmp}/alga-resolve-test.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

# start_registry NAME registry-up-args...: sources NAME's env
UP_PID=
start_registry() {
	local name=$1 i
	shift
	mkdir -p "$W/$name"
	"$FIX/registry-up" "$@" --bin-dir "$FIXBIN" --state-dir "$W/$name" \
		>"$W/$name.out" 2>"$W/$name.err" </dev/null &
	UP_PID=$!
	PIDS+=($UP_PID)
	for i in $(seq 400); do
		[ -f "$W/$name/env" ] && break
		kill -0 $UP_PID 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -f "$W/$name/env" ]; then
		diag "registry-up $* failed:"
		tail -n 5 "$W/$name.err" | sed 's/^/# /'
		return 1
	fi
	unset BLOBHOST BLOBHOST_URL BLOBHOST_LOG TOKEN_REALM TOKEN_LOG PUSH_CREDS REGISTRY_CA
	# shellcheck disable=SC1091
	. "$W/$name/env"
}

stop_registry() {
	kill "$UP_PID" 2>/dev/null
	wait "$UP_PID" 2>/dev/null
	return 0
}

# start_blobhost NAME args...: a blobhost on 127.0.0.2; sets HADDR, HPID, HLOG
HADDR=
HPID=
HLOG=
start_blobhost() {
	local name=$1 i
	shift
	rm -f "$W/$name.addr"
	HLOG=$W/$name.log
	"$FIXBIN/blobhost" "$@" --ready-file "$W/$name.addr" --log "$HLOG" >"$W/$name.out" 2>&1 &
	HPID=$!
	PIDS+=($HPID)
	for i in $(seq 200); do
		[ -s "$W/$name.addr" ] && break
		sleep 0.02
	done
	HADDR=$(cat "$W/$name.addr" 2>/dev/null)
	[ -n "$HADDR" ]
}

stop_blobhost() {
	kill "$HPID" 2>/dev/null
	wait "$HPID" 2>/dev/null
	return 0
}

# publish NAME REPO mkrelease-args...: pushes to $REGISTRY/REPO, JSON in $W/NAME.json
publish() {
	local name=$1 repo=$2
	shift 2
	local extra=()
	[ -n "${PUSH_CREDS:-}" ] && extra+=(--creds "$PUSH_CREDS")
	[ "${REGISTRY_SCHEME:-http}" = https ] && extra+=(--cert-dir "$REGISTRY_CERT_DIR")
	if ! "$MKRELEASE" --out "$W/L-$name" --force --config-repository "$REGISTRY/$repo-config" \
		--push "$REGISTRY/$repo" "${extra[@]}" "$@" --json >"$W/$name.json" 2>"$W/$name.err"; then
		diag "mkrelease $* failed:"
		tail -n 5 "$W/$name.err" | sed 's/^/# /'
		return 1
	fi
}

# jget FILE dotted.path
jget() {
	python3 -c 'import json,sys
v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v=v[int(k)] if isinstance(v,list) else v[k]
print("" if v is None else v)' "$1" "$2"
}

# jout dotted.path: from the last resolve's stdout
jout() {
	printf '%s' "$OUT" >"$W/out.json"
	jget "$W/out.json" "$1" 2>/dev/null
}

# resolve args...: runs alga-resolve with a scratch root; $rc, $OUT, $ERR
ROOT=$W/root
resolve() {
	OUT=$("$ALGA_RESOLVE_BIN" --root "$ROOT" "$@" 2>"$W/err")
	rc=$?
	ERR=$(cat "$W/err")
}

# R: the §5 registry options for the current registry
R() {
	if [ "${REGISTRY_SCHEME:-http}" = http ]; then
		echo --registry "$REGISTRY" --insecure-registry
	else
		echo --registry "$REGISTRY" --ca-file "$REGISTRY_CA"
	fi
}

# expect DESC CODE [PATTERN]: the last resolve exited CODE and stderr matches PATTERN
expect() {
	local what=$1 code=$2 pat=${3:-}
	if [ "$rc" = "$code" ] && { [ -z "$pat" ] || grep -qiE -- "$pat" <<<"$ERR$OUT"; }; then
		ok "$what"
	else
		fail "$what (exit $rc, want $code${pat:+, /$pat/})"
		tail -n 3 <<<"$ERR" | sed 's/^/# stderr: /'
	fi
}

# count_gets LOG PATTERN: GET lines of a log matching PATTERN
count_gets() {
	grep -c -- "\"GET .*$2" "$1" 2>/dev/null || true
}

cache_file() {
	echo "$ROOT/var/lib/alga/releases/release.json"
}

cache_sum() {
	sha256sum "$(cache_file)" 2>/dev/null | cut -d' ' -f1
}

sha_of() {
	sha256sum | sed 's/ .*//; s/^/sha256:/'
}

# blob_path DIGEST: the registry storage file of a blob
blob_path() {
	local hex=${1#sha256:}
	echo "$REGISTRY_STORAGE/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}
