#!/usr/bin/env bash
# release.md T47: the staged root the ISO installs (`meson install
# --destdir` and overlay/, laid over a Debian 12 root file system), set up
# with systemd-sysusers, systemd-tmpfiles --create, systemctl preset and
# systemd-analyze verify, each with --root, as the installer's late
# commands do before the first boot. A preset unit that is not built yet is
# skipped by name; every one that is built must come out enabled.
set -u
. "$ALGA_SOURCE_ROOT/tests/tap.sh"
. "$ALGA_SOURCE_ROOT/tests/e2e/rootfs.sh"

e2e_prepare
preset=$ALGA_SOURCE_ROOT/overlay/usr/lib/systemd/system-preset/80-alga.preset
cp -a "$ALGA_SOURCE_ROOT/overlay/." "$R/"
unitdir=$R/usr/lib/systemd/system

check "T47: systemd-sysusers --root" systemd-sysusers --root="$R"
check "T47: group alga is GID 10001" grep -qx 'alga:x:10001:' "$R/etc/group"
check "T47: user alga is UID 10001, no login" \
	grep -qx 'alga:x:10001:10001:Alga appliance services:/:/usr/sbin/nologin' "$R/etc/passwd"

check "T47: systemd-tmpfiles --root --create" systemd-tmpfiles --root="$R" --create
mode() { stat -c '%a %u %g' "$R$1"; }
check "T47: /var/lib/alga is 0750 root:alga" test "$(mode /var/lib/alga)" = "750 0 10001"
check "T47: /var/lib/alga/secrets is 0750 root:alga" test "$(mode /var/lib/alga/secrets)" = "750 0 10001"
# resolutions.md A8: the release cache is releases/ 0750 alga:alga, not cache/ 2770
check "T47: /var/lib/alga/releases is 0750 alga:alga (A8)" \
	test "$(mode /var/lib/alga/releases)" = "750 10001 10001"
check "T47: /var/lib/alga/support-bundles is 0750 alga:alga" \
	test "$(mode /var/lib/alga/support-bundles)" = "750 10001 10001"
check "T47: the issue.d link points at the banner" \
	test "$(readlink "$R/etc/issue.d/50-alga.issue")" = /run/alga-banner/issue
before=$(find "$R/var/lib/alga" "$R/etc/issue.d" -printf '%p %m %u %g %l\n' | sort)
check "T47: a second tmpfiles --create changes nothing" eval \
	'systemd-tmpfiles --root="$R" --create && test "$(find "$R/var/lib/alga" "$R/etc/issue.d" -printf "%p %m %u %g %l\n" | sort)" = "$before"'

built=()
for u in $(sed -n 's/^enable //p' "$preset"); do
	if [ -f "$unitdir/$u" ]; then
		built+=("$u")
	else
		skip "T47: $u enabled: $u is not built yet"
	fi
done
[ ${#built[@]} -gt 0 ] || { fail "T47: no unit of the preset is installed"; finish; exit 1; }
check "T47: systemctl --root preset of ${#built[@]} built units" systemctl --root="$R" preset "${built[@]}"
for u in "${built[@]}"; do
	check "T47: $u is enabled" test "$(systemctl --root="$R" is-enabled "$u")" = enabled
done

mapfile -t ours < <(cd "$unitdir" && ls alga-*.service alga-*.socket alga-*.timer alga-*.path 2>/dev/null)
check "T47: systemd-analyze verify --root of ${#ours[@]} units is clean" eval \
	'out=$(systemd-analyze verify --man=no --root="$R" "${ours[@]}" 2>&1) && test -z "$out" || { echo "$out"; false; }'

finish
