# shellcheck shell=bash
# A cached Debian 12 root file system for the nspawn boot tests: made once
# per machine with debootstrap from the configured Debian mirror, under a
# lock, complete or not at all (built in a temp dir, then renamed).
#
# e2e_rootfs: prints the cache path, building it when missing; fails with a
# reason on stderr when it cannot be had.
E2E_CACHE=${ALGA_E2E_CACHE:-/var/cache/alga-tests}
E2E_ROOTFS=$E2E_CACHE/bookworm-rootfs
E2E_PACKAGES=systemd,systemd-sysv,dbus,libjson-c5,libcurl4,libyaml-0-2,libarchive13,libmicrohttpd12,libssl3

e2e_mirror() {
	local m
	m=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
	[ -n "$m" ] || m=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
	echo "${m:-http://deb.debian.org/debian}"
}

e2e_rootfs() {
	local tmp
	mkdir -p "$E2E_CACHE" || return 1
	exec 9>"$E2E_CACHE/.lock"
	flock 9
	if [ ! -x "$E2E_ROOTFS/usr/lib/systemd/systemd" ]; then
		tmp=$(mktemp -d "$E2E_CACHE/.rootfs.XXXXXX")
		if ! debootstrap --variant=minbase --include="$E2E_PACKAGES" bookworm "$tmp" \
			"$(e2e_mirror)" >"$tmp.log" 2>&1; then
			echo "debootstrap of Debian 12 failed: $(tail -1 "$tmp.log")" >&2
			rm -rf "$tmp" "$tmp.log"
			flock -u 9
			return 1
		fi
		rm -f "$tmp.log"
		rm -rf "$E2E_ROOTFS"
		mv "$tmp" "$E2E_ROOTFS"
	fi
	flock -u 9
	echo "$E2E_ROOTFS"
}

# e2e_boot ROOT TIMEOUT: boots ROOT with systemd-nspawn until it powers
# itself off; the console goes to ROOT.console
e2e_boot() {
	SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=0 timeout "$2" systemd-nspawn -q -D "$1" \
		--register=no --keep-unit -b --console=pipe </dev/null >"$1.console" 2>&1
}

# e2e_prepare: the boot tests' common start. Skips the whole test unless
# it runs as root with systemd-nspawn and debootstrap, the build has
# --prefix=/usr and a root file system can be had; then sets $W (the
# test's scratch dir) and $R (a copy of the cached root with the build
# installed into it).
e2e_prepare() {
	local c prefix base err
	[ "$(id -u)" = 0 ] || skip_all "needs root for systemd-nspawn"
	for c in systemd-nspawn debootstrap; do
		command -v $c >/dev/null || skip_all "$c is absent"
	done
	prefix=$(meson introspect --buildoptions "$ALGA_BUILD_ROOT" 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
	[ "$prefix" = /usr ] || skip_all "build is configured with --prefix=$prefix, the boot test needs /usr"
	err="${TMPDIR:-/tmp}/e2e-rootfs.$$"
	base=$(e2e_rootfs 2>"$err") || skip_all "no Debian 12 root file system: $(cat "$err")"
	rm -f "$err"

	scratch
	W=$SCRATCH
	R=$W/root
	cp -a "$base" "$R"
	meson install -C "$ALGA_BUILD_ROOT" --destdir "$R" --no-rebuild --quiet >/dev/null 2>&1 ||
		{ fail "meson install into the container"; finish; exit 1; }
}
