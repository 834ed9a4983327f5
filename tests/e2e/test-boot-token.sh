#!/usr/bin/env bash
# Boots the installed suite in a Debian 12 container (systemd-nspawn -b) as
# the appliance boots: systemd-sysusers and systemd-tmpfiles from our
# files, then alga-token.service. Checks host.md test 14's journal half (no
# token in `journalctl -o export`), that the tools log structured fields to
# the journal, and that a reboot keeps the token and key.
set -u
. "$ALGA_SOURCE_ROOT/tests/tap.sh"
. "$ALGA_SOURCE_ROOT/tests/e2e/rootfs.sh"

e2e_prepare

# what the ISO's preset does for this unit, and a probe that records the
# result and powers the container off
ln -sf /usr/lib/systemd/system/alga-token.service \
	"$R/etc/systemd/system/multi-user.target.wants/alga-token.service"
mkdir -p "$R/e2e"
cat >"$R/usr/local/sbin/alga-e2e-probe" <<'PROBE'
#!/bin/sh
# the probe is part of the boot, so it cannot wait for the boot to end
systemctl list-units --failed --plain --no-legend >/e2e/failed 2>&1
systemctl show alga-token.service -p Result -p ActiveState >/e2e/unit
stat -c '%a %U %G' /var/lib/alga/setup-token >/e2e/mode
alga-token check --json >/e2e/check.json 2>/e2e/check.err; echo $? >/e2e/check.rc
cp /var/lib/alga/setup-token /var/lib/alga/secrets/session-secret /e2e/ 2>/dev/null
journalctl --sync
journalctl -o export >/e2e/journal.export
systemctl poweroff
PROBE
chmod 0755 "$R/usr/local/sbin/alga-e2e-probe"
cat >"$R/etc/systemd/system/alga-e2e-probe.service" <<'UNIT'
[Unit]
After=multi-user.target alga-token.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/alga-e2e-probe
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/alga-e2e-probe.service \
	"$R/etc/systemd/system/multi-user.target.wants/alga-e2e-probe.service"
# a persistent journal, so the export holds both boots
mkdir -p "$R/var/log/journal"

boot() {
	rm -f "$R"/e2e/*
	e2e_boot "$R" 120
	[ -s "$R/e2e/journal.export" ]
}

check "first boot reaches the probe and powers off" boot
[ -s "$R/e2e/journal.export" ] || { diag "$(tail -20 "$R.console")"; finish; exit 1; }
check "no unit failed" test ! -s "$R/e2e/failed"
[ -s "$R/e2e/failed" ] && diag "$(cat "$R/e2e/failed")"
check "alga-token.service succeeded" grep -qx 'Result=success' "$R/e2e/unit"
check "setup token is 640 root:alga" grep -qx '640 root alga' "$R/e2e/mode"
check "alga-token check passes in the booted system" grep -qx 0 "$R/e2e/check.rc"
token=$(tr -d '\n' <"$R/e2e/setup-token")
key=$(tr -d '\n' <"$R/e2e/session-secret")
check "the token has its format" grep -qE '^[0-9]{4}(-[0-9]{4}){4}$' <<<"$token"
check "no token in journalctl -o export" test "$(grep -c -F -- "$token" "$R/e2e/journal.export")" = 0
check "no session secret in the journal" test "$(grep -c -F -- "$key" "$R/e2e/journal.export")" = 0
check "alga-token logs to the journal with its identifier" \
	grep -q '^SYSLOG_IDENTIFIER=alga-token$' "$R/e2e/journal.export"
check "the creation is an audit event with its MESSAGE_ID" \
	grep -q '^MESSAGE_ID=4f7a2c1e9b6d4e58a3c0d1e2f3a4b5c6$' "$R/e2e/journal.export"
check "journal entries carry CODE_FILE" grep -q '^CODE_FILE=.*alga-token' "$R/e2e/journal.export"

check "second boot" boot
check "reboot keeps the token" test "$(tr -d '\n' <"$R/e2e/setup-token")" = "$token"
check "reboot keeps the session secret" test "$(tr -d '\n' <"$R/e2e/session-secret")" = "$key"
check "alga-token.service succeeded again" grep -qx 'Result=success' "$R/e2e/unit"
check "still no token in the journal after two boots" \
	test "$(grep -c -F -- "$token" "$R/e2e/journal.export")" = 0

finish
