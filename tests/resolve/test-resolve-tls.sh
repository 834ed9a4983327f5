#!/usr/bin/env bash
# release.md §5 T21 (http realm under https), T22 (trust) and T24 (https to
# http redirect) against the real docker-registry over TLS.
set -u
. "$ALGA_SOURCE_ROOT/tests/tap.sh"
. "$ALGA_SOURCE_ROOT/tests/resolve/lib.sh"

# ---- T22 ----------------------------------------------------------------------
if start_registry tls tls && publish t22 $REPO --channel stable; then
	resolve --registry "$REGISTRY" --repository $REPO --channel stable
	expect "T22 own CA, no --ca-file: exit 5" 5
	resolve --registry "$REGISTRY" --ca-file "$REGISTRY_CA" --repository $REPO --channel stable --json
	expect "T22 with --ca-file: exit 0" 0
	check "T22 with --ca-file: mkrelease's digest" \
		test "$(jout manifestDigest)" = "$(jget "$W/t22.json" release.manifestDigest)"
	resolve --registry "$REGISTRY" --ca-file "$REGISTRY_OTHER_CA" --repository $REPO --channel stable
	expect "T22 another CA: exit 5" 5
	stop_registry
else
	fail "T22 registry or publish"
fi
if start_registry tls-san tls --cert-san DNS:localhost; then
	resolve --registry "$REGISTRY" --ca-file "$REGISTRY_CA" --repository $REPO --channel stable
	expect "T22 SAN localhost reached as 127.0.0.1: exit 5" 5
	stop_registry
else
	fail "T22 registry with SAN localhost"
fi

# ---- T21: an http realm under an https registry ------------------------------------
if start_registry tls-token token --tls --issuer-http; then
	resolve $(R) --repository $REPO --channel stable
	expect "T21 http:// realm under https: exit 6 realm must be https" 6 "https"
	stop_registry
else
	fail "T21 registry"
fi

# ---- T24: https registry redirecting blobs to http:// ---------------------------------
if start_registry tls-redirect redirect --tls --blobhost-scheme http &&
	publish t24 $REPO --channel stable; then
	n0=$(grep -c 'GET /docker/' "$BLOBHOST_LOG")
	resolve $(R) --repository $REPO --channel stable
	expect "T24 https to http redirect: exit 7" 7 "https.*http"
	check "T24 the http origin got no GET" test "$(grep -c 'GET /docker/' "$BLOBHOST_LOG")" = "$n0"
	stop_registry
else
	fail "T24 registry or publish"
fi

finish
