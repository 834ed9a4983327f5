#!/usr/bin/env bash
# Boots the installed suite in a Debian 12 container with alga-agent.socket
# enabled, as the ISO's preset does, and asks the agent for a support
# bundle through `alga-bundle --via-agent`: socket activation, the unit's
# hardening with User=alga, and the sd-bus and journal collectors all run
# against a real systemd (host.md §4.1, §4.4, test 46's agent half).
set -u
. "$ALGA_SOURCE_ROOT/tests/tap.sh"
. "$ALGA_SOURCE_ROOT/tests/e2e/rootfs.sh"

e2e_prepare
[ -f "$R/usr/lib/systemd/system/alga-agent.socket" ] || skip_all "alga-agent is not built"

mkdir -p "$R/etc/systemd/system/sockets.target.wants" "$R/e2e"
ln -sf /usr/lib/systemd/system/alga-token.service \
	"$R/etc/systemd/system/multi-user.target.wants/alga-token.service"
ln -sf /usr/lib/systemd/system/alga-agent.socket \
	"$R/etc/systemd/system/sockets.target.wants/alga-agent.socket"
cat >"$R/usr/local/sbin/alga-e2e-probe" <<'PROBE'
#!/bin/sh
systemctl is-active alga-agent.socket >/e2e/socket
stat -c '%A %U %G' /run/alga/agent.sock >/e2e/sock-mode
alga-bundle --via-agent --json >/e2e/bundle.json 2>/e2e/bundle.err; echo $? >/e2e/bundle.rc
systemctl show alga-agent.service -p User -p ActiveState >/e2e/agent-unit
cp /var/lib/alga/setup-token /e2e/
for f in /var/lib/alga/support-bundles/*.tar.gz; do
	stat -c '%U %G %a' "$f" >/e2e/bundle-owner
	cp "$f" /e2e/bundle.tar.gz
done
systemctl poweroff
PROBE
chmod 0755 "$R/usr/local/sbin/alga-e2e-probe"
cat >"$R/etc/systemd/system/alga-e2e-probe.service" <<'UNIT'
[Unit]
After=multi-user.target alga-token.service alga-agent.socket
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/alga-e2e-probe
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/alga-e2e-probe.service \
	"$R/etc/systemd/system/multi-user.target.wants/alga-e2e-probe.service"

e2e_boot "$R" 120
check "the container boots, runs the probe and powers off" test -s "$R/e2e/bundle.rc"
[ -s "$R/e2e/bundle.rc" ] || { diag "$(tail -20 "$R.console")"; finish; exit 1; }

check "alga-agent.socket is active" grep -qx active "$R/e2e/socket"
check "the socket is srw-rw---- root:alga" grep -qx 'srw-rw---- root alga' "$R/e2e/sock-mode"
check "alga-bundle --via-agent exits 0" grep -qx 0 "$R/e2e/bundle.rc"
[ "$(cat "$R/e2e/bundle.rc")" = 0 ] || diag "$(cat "$R/e2e/bundle.err")"
check "the agent ran as User=alga" grep -qx 'User=alga' "$R/e2e/agent-unit"
check "the bundle is the agent's: alga:alga 640" grep -qx 'alga alga 640' "$R/e2e/bundle-owner"

X=$W/bundle
mkdir -p "$X"
tar -xzf "$R/e2e/bundle.tar.gz" -C "$X" 2>/dev/null
check "the bundle unpacks" test -f "$X/meta/manifest.json"
check "units.txt has the running agent from sd-bus" \
	grep -qE '^alga-agent\.service +loaded +active +running' "$X/host/units.txt"
check "units.txt has the token service, exited" \
	grep -qE '^alga-token\.service +loaded +active +exited' "$X/host/units.txt"
check "a unit the image lacks reads LoadState=not-found" \
	grep -qx 'LoadState=not-found' "$X/host/appliance-bootstrap-status.txt"
check "the journal file holds alga-token's lines" grep -q 'alga-token' "$X/host/appliance-journal.txt"
token=$(tr -d '\n' <"$R/e2e/setup-token")
check "the container's setup token is nowhere in the bundle" \
	test "$(grep -rlF -- "$token" "$X" | wc -l)" = 0

finish
