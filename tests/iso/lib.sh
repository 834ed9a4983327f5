# shellcheck shell=bash
# lib.sh: helpers shared by the ISO tests (sourced, bash).
#
# TAP output, the synthetic base image (make-base.sh) and the staged tree
# the builder takes: `meson install --destdir` from the build dir when it
# was configured with --prefix=/usr and installs the whole suite, else a
# small fake tree with every file release.md §4.8 requires.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcroot=${ALGA_SOURCE_ROOT:-$(cd "$here/../.." && pwd)}
builder=$srcroot/iso/build-iso

tap_n=0
tap_failed=0
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); tap_failed=$((tap_failed + 1)); echo "not ok $tap_n - $*"; }
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP $2"; }
diag() { sed 's/^/# /'; }
# check NAME CMD...: one test point from a command's status, its output as
# diagnostics when it fails
check()
{
	local name=$1 out; shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name"
		printf '%s\n' "$out" | tail -n 40 | diag
	fi
}
tap_end() { echo "1..$tap_n"; [[ $tap_failed == 0 ]]; }

# skip everything (TAP plan 0) when a tool is absent
require_tools()
{
	local t
	for t in "$@"; do
		if ! command -v "$t" > /dev/null; then
			echo "1..0 # SKIP $t not installed"
			exit 0
		fi
	done
}

# skip everything when a file of a Debian package is absent: require_files PKG FILE...
require_files()
{
	local pkg=$1 f; shift
	for f in "$@"; do
		if [[ ! -e $f ]]; then
			echo "1..0 # SKIP $pkg not installed ($f missing)"
			exit 0
		fi
	done
}
grub_files=(/usr/lib/grub/i386-pc/boot_hybrid.img /usr/lib/grub/i386-pc/cdboot.img
	/usr/lib/grub/x86_64-efi/kernel.img)

readonly fake_bins=(alga-token alga-bootstrap alga-resolve alga-setup alga-status alga-bundle)
readonly fake_units=(alga-token.service alga-bootstrap.service alga-banner.service alga-banner.path
	alga-kubeconfig.service alga-kubeconfig.timer alga-setup.socket alga-setup.service
	alga-setup-resume.service alga-agent.socket alga-agent.service)

# whole_suite DIR: every binary the builder requires is installed in DIR
whole_suite()
{
	local f
	for f in "${fake_bins[@]}"; do
		[[ -x $1/usr/bin/$f ]] || return 1
	done
	[[ -x $1/usr/libexec/alga/alga-agent ]]
}

# stage_tree DIR: the suite as `meson install --destdir DIR` lays it out
stage_tree()
{
	local d=$1 b=${ALGA_BUILD_ROOT:-} prefix f
	mkdir -p "$d"
	if [[ -n $b && -f $b/meson-private/coredata.dat ]] && command -v meson > /dev/null; then
		prefix=$(meson introspect --buildoptions "$b" 2> /dev/null |
			python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])' \
			2> /dev/null || true)
		if [[ $prefix == /usr ]] && meson install -C "$b" --no-rebuild --quiet --destdir "$d" > /dev/null 2>&1 &&
			whole_suite "$d"; then
			staged_by="meson install"
			return 0
		fi
		rm -rf "$d"; mkdir -p "$d"
	fi
	staged_by="fake tree (meson install of a --prefix=/usr build with the whole suite unavailable)"
	mkdir -p "$d/usr/bin" "$d/usr/libexec/alga" "$d/usr/lib/systemd/system" "$d/usr/lib/sysusers.d" \
		"$d/usr/lib/tmpfiles.d" "$d/usr/share/man/man8" "$d/usr/share/alga/flux/base"
	for f in "${fake_bins[@]}" alga-agent; do
		printf '#!/bin/sh\necho "%s 0.1.0 (test fake)"\n' "$f" > "$d/usr/bin/$f"
		chmod 0755 "$d/usr/bin/$f"
		printf '.TH %s 8\n' "$f" > "$d/usr/share/man/man8/$f.8"
	done
	mv "$d/usr/bin/alga-agent" "$d/usr/libexec/alga/alga-agent"
	for f in "${fake_units[@]}"; do
		printf '[Unit]\nDescription=%s (test fake)\n' "$f" > "$d/usr/lib/systemd/system/$f"
	done
	printf 'g alga 10001 -\nu alga 10001:10001 "Alga appliance services" - -\n' > "$d/usr/lib/sysusers.d/alga.conf"
	printf 'd /var/lib/alga 0750 root alga -\n' > "$d/usr/lib/tmpfiles.d/alga.conf"
	printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n' \
		> "$d/usr/share/alga/flux/base/kustomization.yaml"
}
