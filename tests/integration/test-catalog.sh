#!/usr/bin/env bash
# The journal catalog parses with the real journalctl and explains every
# MESSAGE_ID lib/log.h defines (resolutions.md gaps 6).
set -u
. "$ALGA_SOURCE_ROOT/tests/tap.sh"

command -v journalctl >/dev/null || skip_all "journalctl is absent"
scratch
D=$SCRATCH
meson install -C "$ALGA_BUILD_ROOT" --destdir "$D" --no-rebuild --quiet >/dev/null 2>&1 ||
	skip_all "meson install --destdir failed"
check "journalctl --update-catalog accepts the catalog" quiet journalctl --root="$D" --update-catalog
list=$(journalctl --root="$D" --list-catalog 2>/dev/null)
ids=$(sed -nE 's/^#define ALGA_MESSAGE_([A-Z_]+) "([0-9a-f]{32})"$/\1 \2/p' "$ALGA_SOURCE_ROOT/lib/log.h")
check "lib/log.h defines message ids" test -n "$ids"
while read -r name id; do
	check "catalog explains $name ($id)" grep -q "^$id alga: " <<<"$list"
done <<<"$ids"
finish
