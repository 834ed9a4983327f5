#!/usr/bin/env bash
# host.md tests 3-5: sysusers/alga.conf and tmpfiles/alga.conf applied by the
# real systemd-sysusers and systemd-tmpfiles under --root.
set -u
. "$ALGA_SOURCE_ROOT/tests/tap.sh"

command -v systemd-sysusers >/dev/null || skip_all "systemd-sysusers is absent"
command -v systemd-tmpfiles >/dev/null || skip_all "systemd-tmpfiles is absent"
[ "$(id -u)" = 0 ] || skip_all "needs root to create files owned by alga"

SYSUSERS="$ALGA_SOURCE_ROOT/sysusers/alga.conf"
TMPFILES="$ALGA_SOURCE_ROOT/tmpfiles/alga.conf"
scratch
T=$SCRATCH

new_root() {
	local r="$T/$1"
	mkdir -p "$r/etc"
	echo 'root:x:0:0:root:/root:/bin/sh' > "$r/etc/passwd"
	echo 'root:x:0:' > "$r/etc/group"
	echo "$r"
}

# test 3
R=$(new_root sysusers)
systemd-sysusers --root="$R" "$SYSUSERS" >/dev/null 2>&1
check "sysusers creates user alga 10001:10001 with nologin" \
	grep -qx 'alga:x:10001:10001:Alga appliance services:/:/usr/sbin/nologin' "$R/etc/passwd"
check "sysusers creates group alga 10001" grep -qx 'alga:x:10001:' "$R/etc/group"
sum1=$(cat "$R/etc/passwd" "$R/etc/group" | sha256sum)
out=$(systemd-sysusers --root="$R" "$SYSUSERS" 2>&1)
sum2=$(cat "$R/etc/passwd" "$R/etc/group" | sha256sum)
check "sysusers re-run is a no-op" test "$sum1" = "$sum2" -a -z "$out"

R=$(new_root gid2000)
echo 'alga:x:2000:' >> "$R/etc/group"
out=$(systemd-sysusers --root="$R" "$SYSUSERS" 2>&1)
diag "$out"
check "an existing GID-2000 alga is kept" grep -qx 'alga:x:2000:' "$R/etc/group"
check "the GID-2000 alga is reported" grep -q 'GID 2000' <<<"$out"

# test 4
R=$(new_root tmpfiles)
systemd-sysusers --root="$R" "$SYSUSERS" >/dev/null 2>&1
check "tmpfiles --create succeeds" systemd-tmpfiles --root="$R" --create "$TMPFILES"

listing() {
	(cd "$R" && find var/lib/alga run etc/issue.d etc/motd.d var/lib/rancher var/mnt \
		-printf '%p %M %U %G %l\n' | sort)
}
# numeric ids: the names live in the sandbox's /etc, not the host's
id_of() { case $1 in root) echo 0 ;; alga) echo 10001 ;; esac; }
expect_entry() {
	local path=$1 mode=$2 owner=$3 group=$4 want
	want="$path $mode $(id_of "$owner") $(id_of "$group")"
	check "$path is $mode $owner:$group" grep -q "^$want" <<<"$(listing)"
}
expect_entry var/lib/alga drwxr-x--- root alga
expect_entry var/lib/alga/secrets drwxr-x--- root alga
expect_entry var/lib/alga/setup drwxr-x--- alga alga
expect_entry var/lib/alga/releases drwxr-x--- alga alga
expect_entry var/lib/alga/support-bundles drwxr-x--- alga alga
expect_entry run/alga drwxr-x--- root alga
expect_entry run/alga/setup drwx------ alga alga
expect_entry run/alga-appliance drwxr-x--- root alga
expect_entry run/agetty.reload -rw--w---- root alga
expect_entry var/lib/rancher/k3s/agent/images drwx------ root root
expect_entry var/mnt/alga-data/local-path-provisioner drwx--x--x root root
check "issue.d link points at /run/alga-banner/issue" \
	test "$(readlink "$R/etc/issue.d/50-alga.issue")" = /run/alga-banner/issue
check "motd.d link points at /run/alga-banner/motd" \
	test "$(readlink "$R/etc/motd.d/50-alga.motd")" = /run/alga-banner/motd

before=$(cd "$R" && find . -printf '%p %M %u %g %l %i %T@\n' | sort)
out=$(systemd-tmpfiles --root="$R" --create "$TMPFILES" 2>&1)
after=$(cd "$R" && find . -printf '%p %M %u %g %l %i %T@\n' | sort)
check "tmpfiles re-run is a no-op" test "$before" = "$after" -a -z "$out"

chmod 0600 "$R/run/agetty.reload"
chown root:root "$R/run/agetty.reload"
systemd-tmpfiles --root="$R" --create "$TMPFILES" >/dev/null 2>&1
expect_entry run/agetty.reload -rw--w---- root alga

# test 5
B="$R/var/lib/alga/support-bundles"
touch -d '31 days ago' "$B/alga-appliance-support-20261031T000000Z.tar.gz"
touch -d '1 day ago' "$B/alga-appliance-support-20261130T000000Z.tar.gz"
systemd-tmpfiles --root="$R" --clean "$TMPFILES" >/dev/null 2>&1
check "a bundle aged 31 d is cleaned" test ! -e "$B/alga-appliance-support-20261031T000000Z.tar.gz"
check "a bundle aged 1 d is kept" test -e "$B/alga-appliance-support-20261130T000000Z.tar.gz"

finish
