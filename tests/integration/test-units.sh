#!/usr/bin/env bash
# host.md tests 1 and 2: every installed unit passes systemd-analyze verify
# silently, and every service scores at or under its §4.1 exposure
# (thresholds in tenths, resolutions.md B5).
set -u
. "$ALGA_SOURCE_ROOT/tests/tap.sh"

command -v systemd-analyze >/dev/null || skip_all "systemd-analyze is absent"

scratch
D=$SCRATCH
if ! meson install -C "$ALGA_BUILD_ROOT" --destdir "$D" --no-rebuild --quiet >/dev/null 2>&1; then
	skip_all "meson install --destdir failed"
fi
U=$(find "$D" -path '*/systemd/system/alga-token.service' -printf '%h\n' | head -1)
# the host's units, so that sysinit.target and friends resolve under
# --root; they go under /etc so they never mix with ours under the prefix
mkdir -p "$D/etc/systemd"
cp -a /lib/systemd/system "$D/etc/systemd/"
rm -f "$D"/etc/systemd/system/alga-*
[ -n "$U" ] || skip_all "no alga units installed"

declare -A threshold=(
	[alga-token.service]=15 [alga-bootstrap.service]=25 [alga-banner.service]=13
	[alga-agent.service]=17 [alga-kubeconfig.service]=22 [alga-setup.service]=15
	[alga-setup-resume.service]=15
)

verify() {
	local out rc
	out=$(systemd-analyze verify --man=no --root="$D" "$1" 2>&1)
	rc=$?
	[ -n "$out" ] && diag "$out"
	[ $rc -eq 0 ] && [ -z "$out" ]
}

exposure() {
	systemd-analyze security --offline=true --root="$D" "$1" 2>/dev/null |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p'
}

for unit in "$U"/alga-*; do
	name=$(basename "$unit")
	check "verify $name is clean and silent" verify "$unit"
done

typo="$U/alga-typo.service"
sed 's/^ProtectSystem=/ProtectSytem=/' "$U/alga-token.service" > "$typo"
if verify "$typo" >/dev/null 2>&1; then fail "verify catches a typo'd key"; else ok "verify catches a typo'd key"; fi
rm -f "$typo"

for unit in "$U"/alga-*.service; do
	name=$(basename "$unit")
	t=${threshold[$name]:-}
	if [ -z "$t" ]; then fail "$name has an exposure threshold in host.md §4.1"; continue; fi
	check "$name exposure $(exposure "$unit") <= ${t%?}.${t: -1}" \
		quiet systemd-analyze security --offline=true --root="$D" --threshold="$t" "$unit"
done

# the threshold check can fail: without ProtectSystem= the score rises, and
# without the sandbox it is refused
bare="$U/alga-bare.service"
grep -v '^ProtectSystem=' "$U/alga-token.service" > "$bare"
before=$(exposure "$U/alga-token.service")
after=$(exposure "$bare")
check "without ProtectSystem= exposure rises ($before -> $after)" \
	awk -v a="$before" -v b="$after" 'BEGIN { exit !(b > a) }'
grep -vE '^(Protect|Private|Restrict|SystemCall|CapabilityBoundingSet|NoNewPrivileges|IPAddress|MemoryDeny|LockPersonality)' \
	"$U/alga-token.service" > "$bare"
if systemd-analyze security --offline=true --root="$D" --threshold=15 "$bare" >/dev/null 2>&1; then
	fail "an unsandboxed service fails --threshold=15"
else
	ok "an unsandboxed service fails --threshold=15 ($(exposure "$bare"))"
fi
rm -f "$bare"

finish
