#!/usr/bin/env bash
# release.md §5 T18-T20 and T23: the anonymous bearer flow against the
# real docker-registry in token mode, with token-issuer's hostile modes,
# and blobs redirected to another origin.
set -u
. "$ALGA_SOURCE_ROOT/tests/tap.sh"
. "$ALGA_SOURCE_ROOT/tests/resolve/lib.sh"

# ---- T18 ----------------------------------------------------------------------
if start_registry token token && publish t18 $REPO --channel stable; then
	n0=$(wc -l <"$TOKEN_LOG")
	resolve $(R) --repository $REPO --channel stable --json -v
	expect "T18 token registry: exit 0" 0
	pulls=$(tail -n +$((n0 + 1)) "$TOKEN_LOG")
	check "T18 one token request after the 401" test "$(wc -l <<<"$pulls")" = 1
	check "T18 token request: service=alga-test-registry&scope=repository:$REPO:pull" \
		grep -qE "^GET /token\?service=alga-test-registry&scope=repository(:|%3A)$REPO(:|%3A)pull auth=none$" <<<"$pulls"
	[ "$(wc -l <<<"$pulls")" = 1 ] || diag "$pulls"
	check "T18 no token on stdout or stderr" test -z "$(grep -o 'eyJ[A-Za-z0-9_-]*\.' <<<"$OUT$ERR")"
	check "T18 -v shows Bearer <redacted>" grep -q "Bearer <redacted>" <<<"$ERR"
	stop_registry
else
	fail "T18 registry or publish"
fi

# ---- T19 ------------------------------------------------------------------------
# a rejected token fails before the manifest is looked at: nothing to publish
if start_registry badkey token --issuer-arg --bad-key; then
	m0=$(count_gets "$REGISTRY_LOG" "/v2/$REPO/manifests/")
	resolve $(R) --repository $REPO --channel stable
	m1=$(count_gets "$REGISTRY_LOG" "/v2/$REPO/manifests/")
	expect "T19 --bad-key: exit 6" 6
	check "T19 exactly 2 manifest GETs ($((m1 - m0)))" test $((m1 - m0)) = 2
	stop_registry
else
	fail "T19 registry"
fi

# ---- T20 --------------------------------------------------------------------------
for mode in "--status 500" --garbage --huge --space-token; do
	args=()
	for a in $mode; do args+=(--issuer-arg "$a"); done
	if start_registry "t20${mode// /}" token "${args[@]}"; then
		resolve $(R) --repository $REPO --channel stable
		expect "T20 issuer $mode: exit 6" 6
		stop_registry
	else
		fail "T20 registry $mode"
	fi
done

# ---- T23 ------------------------------------------------------------------------------
if start_registry redirect redirect --token && publish t23 $REPO --channel stable; then
	t0=$(wc -l <"$TOKEN_LOG")
	resolve $(R) --repository $REPO --channel stable --no-cache --json
	expect "T23 redirect registry (token) to blobhost: exit 0" 0
	check "T23 blobhost served the blob without Authorization" \
		grep -qE "^GET /docker/registry/v2/blobs/sha256/.*/data.* auth=no$" "$BLOBHOST_LOG"
	check "T23 blobhost never saw Authorization" test -z "$(grep 'auth=yes' "$BLOBHOST_LOG")"
	check "T23 the registry got the token (one anonymous pull token)" \
		test "$(tail -n +$((t0 + 1)) "$TOKEN_LOG" | grep -c 'auth=none')" = 1
	stop_registry
else
	fail "T23 registry or publish"
fi

finish
