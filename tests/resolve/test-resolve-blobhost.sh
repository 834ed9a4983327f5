#!/usr/bin/env bash
# release.md §5 T11, T12, T21 (Basic), T24 (hops, file://), T26 and T27:
# blobhost serves a mkrelease --tree as a read-only registry with the
# hostile modes the cases name.
set -u
. "$ALGA_SOURCE_ROOT/tests/tap.sh"
. "$ALGA_SOURCE_ROOT/tests/resolve/lib.sh"

tree() { # NAME mkrelease-args...: a fresh tree in $W/NAME
	local name=$1
	shift
	rm -rf "$W/$name"
	"$MKRELEASE" --out "$W/L-$name" --force --no-bundle --channel stable --tree "$W/$name" \
		"$@" --json >"$W/$name.json" 2>"$W/$name.err" ||
		{ diag "mkrelease --tree failed"; return 1; }
}
bh() { # NAME DIR args...: blobhost for DIR; REGISTRY is its address
	local name=$1 dir=$2
	shift 2
	start_blobhost "$name" --dir "$dir" "$@" || return 1
	REGISTRY=$HADDR
	REGISTRY_SCHEME=http
}
M=v2/$REPO/manifests

tree base || skip_all "mkrelease --tree failed"
tree pad --pad 204800 || skip_all "mkrelease --tree failed"

# the tree itself resolves
if bh ok "$W/base"; then
	resolve $(R) --repository $REPO --channel stable --json
	expect "blobhost tree resolves: exit 0" 0
	stop_blobhost
fi

# ---- T11 ---------------------------------------------------------------------------
if bh t11 "$W/base" --oversize 5242880 --match /manifests/; then
	resolve $(R) --repository $REPO --channel stable
	expect "T11 5 MiB manifest: exit 7 at 4 MiB" 7 "4194304|4 MiB|limit|larger|over"
	stop_blobhost
fi

# ---- T12 ---------------------------------------------------------------------------
cp -a "$W/base" "$W/t12a"
head -c 120 "$W/base/$M/stable" >"$W/t12a/$M/stable"
cp -a "$W/base" "$W/t12b"
python3 - "$W/t12b/$M/stable" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["manifests"] = []
open(p, "w").write(json.dumps(d))
PY
cp -a "$W/base" "$W/t12c"
sed -i '/^Content-Type:/d' "$W/t12c/$M/stable.headers" 2>/dev/null
echo 'Content-Type: application/vnd.oci.image.index.v1+json' >>"$W/t12c/$M/stable.headers"
for c in a:truncated b:manifests+layers c:"mediaType != Content-Type"; do
	if bh "t12${c%%:*}" "$W/t12${c%%:*}"; then
		resolve $(R) --repository $REPO --channel stable
		expect "T12 ${c#*:} manifest: exit 8" 8
		stop_blobhost
	fi
done

# ---- T21: Basic only ------------------------------------------------------------------
if bh t21 "$W/base" --basic-challenge; then
	resolve $(R) --repository $REPO --channel stable
	expect "T21 Basic challenge: exit 6 requires credentials" 6 "requires credentials"
	stop_blobhost
fi

# ---- T24: too many hops, a file:// target ---------------------------------------------
if bh t24chain "$W/base" --redirect-chain 6 --match /blobs/; then
	resolve $(R) --repository $REPO --channel stable
	expect "T24 six redirects: exit 4" 4
	stop_blobhost
fi
if bh t24file "$W/base" --redirect-to file:///etc/passwd --match /blobs/; then
	resolve $(R) --repository $REPO --channel stable
	expect "T24 redirect to file:///etc/passwd: exit 7" 7
	check "T24 file:// redirect: nothing of /etc/passwd printed" test -z "$(grep 'root:' <<<"$OUT$ERR")"
	stop_blobhost
fi

# ---- T26: a stalled then killed origin, a slow one ------------------------------------
if bh t26stall "$W/pad" --stall-after 100 --match /blobs/; then
	before=$(cache_sum)
	"$ALGA_RESOLVE_BIN" --root "$ROOT" $(R) --repository $REPO --channel stable >"$W/t26.out" 2>"$W/t26.err" &
	p=$!
	sleep 1
	kill -9 "$HPID"
	wait "$HPID" 2>/dev/null
	wait $p
	rc=$?
	ERR=$(cat "$W/t26.err")
	expect "T26 stalled origin killed with -9: exit 4" 4
	check "T26 cache unchanged" test "$(cache_sum)" = "$before"
fi
if bh t26slow "$W/pad" --slow --match /blobs/; then
	start=$(date +%s)
	resolve $(R) --repository $REPO --channel stable
	elapsed=$(($(date +%s) - start))
	expect "T26 --slow origin: exit 4" 4
	check "T26 --slow: within 35 s (${elapsed} s)" test $elapsed -le 35
	stop_blobhost
fi

# ---- T27: retries ---------------------------------------------------------------------
if bh t27a "$W/base" --fail-first 429 --match /manifests/; then
	resolve $(R) --repository $REPO --channel stable --no-cache
	expect "T27 one 429 with Retry-After 1: exit 0" 0
	check "T27 one retry: 2 manifest GETs" test "$(grep -c "^GET /$M/" "$HLOG")" = 2
	stop_blobhost
fi
if bh t27b "$W/base" --status 503 --match /manifests/; then
	resolve $(R) --repository $REPO --channel stable --no-cache
	expect "T27 503 every time: exit 4" 4
	check "T27 503: two retries, 3 manifest GETs" test "$(grep -c "^GET /$M/" "$HLOG")" = 3
	stop_blobhost
fi

finish
