#!/bin/bash
# test-build.sh: acceptance tests T40-T46 of release.md for iso/build-iso,
# on a synthetic Ubuntu 24.04-like base made by make-base.sh (TAP).
set -uo pipefail
source "$(dirname "$0")/lib.sh"

require_tools xorriso mkfs.fat mcopy grub-mkimage sha256sum python3
require_files "grub-pc-bin, grub-efi-amd64-bin" "${grub_files[@]}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/alga-iso-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export SOURCE_DATE_EPOCH=1700000000
ver=1.0.3
name=alga-appliance-ubuntu-$ver.iso

if ! "$here/make-base.sh" "$tmp/base.iso" > "$tmp/make-base.log" 2>&1; then
	echo "Bail out! cannot build the synthetic base image"
	diag < "$tmp/make-base.log"
	exit 1
fi
stage_tree "$tmp/dest"
echo "# staged tree: $staged_by"

build() # build OUTDIR [extra options]: the builder with the T40 inputs
{
	local out=$1; shift
	"$builder" --base-iso "$tmp/base.iso" --release-version "$ver" --destdir "$tmp/dest" \
		--allow-missing-k3s --output-dir "$out" "$@"
}

# ---------------------------------------------------------------- T40
t0=$(date +%s)
build "$tmp/out" > "$tmp/build.log" 2>&1
rc=$?
iso=$tmp/out/$name
if [[ $rc == 0 ]]; then ok "T40 build exits 0 ($(( $(date +%s) - t0 )) s)"; else not_ok "T40 build exits 0 (got $rc)"; diag < "$tmp/build.log"; fi
check "T40 prints [1/6] to [6/6] in order" \
	bash -c "[[ \$(grep -o '^\[[1-6]/6\]' '$tmp/build.log' | tr -d '\n') == '[1/6][2/6][3/6][4/6][5/6][6/6]' ]]"
check "T40 sha256sum -c passes on the basename" \
	bash -c "cd '$tmp/out' && sha256sum -c '$name.sha256' && grep -qE '^[0-9a-f]{64}  $name\$' '$name.sha256'"
check "T40 no *.tmp left in the output dir" bash -c "! ls '$tmp/out' | grep -q '\\.tmp\$'"

xorriso -indev "$iso" -pvd_info -report_el_torito plain -report_el_torito as_mkisofs \
	-report_system_area plain > "$tmp/report" 2>&1
check "T40 El Torito catalog /boot.catalog" grep -q '^El Torito cat path : /boot.catalog$' "$tmp/report"
check "T40 BIOS El Torito entry loads eltorito.img" \
	bash -c "grep -q '^El Torito boot img :   1  BIOS' '$tmp/report' && grep -q '^-b ./boot/grub/i386-pc/eltorito.img.\$' '$tmp/report'"
check "T40 UEFI El Torito entry is appended partition 2" \
	bash -c "grep -q '^El Torito boot img :   2  UEFI' '$tmp/report' && grep -q '^-e .--interval:appended_partition_2_start_[0-9]*s_size_[0-9]*d:all::.\$' '$tmp/report'"
check "T40 as_mkisofs keeps the GRUB MBR" grep -q '^--grub2-mbr ' "$tmp/report"
check "T40 as_mkisofs keeps the ESP as GPT partition 2" \
	bash -c "grep -q '^-append_partition 2 28732ac11ff8d211ba4b00a0c93ec93b ' '$tmp/report' && grep -qx -- '-appended_part_as_gpt' '$tmp/report'"
check "T40 GPT present in the system area" grep -q '^System area summary: .*grub2-mbr.*GPT' "$tmp/report"
check "T40 volume id ALGAPSA_INSTALL" grep -q '^Volume Id    : ALGAPSA_INSTALL$' "$tmp/report"
# the UEFI image is a FAT file system (not a PE file, release.md D17)
uefi_lba=$(awk '/^El Torito boot img :.*UEFI/ {print $NF}' "$tmp/report")
check "T40 UEFI El Torito image is a FAT ESP" \
	bash -c "dd if='$iso' bs=2048 skip='$uefi_lba' count=1 status=none | head -c 512 | tail -c 2 | od -An -tx1 | grep -q '55 aa' &&
		dd if='$iso' bs=2048 skip='$uefi_lba' count=1 status=none | head -c 90 | grep -aq FAT"
base_opts=$(xorriso -indev "$tmp/base.iso" -report_el_torito as_mkisofs 2> /dev/null |
	sed -E -e '/^-V /d' -e '/^--modification-date/d' -e "s/'[^']*'\$//" -e 's/[0-9]+[sd]/N/g')
out_opts=$(sed -n -E '/^-{1,2}[a-z]/p' "$tmp/report" |
	sed -E -e '/^-V /d' -e '/^--modification-date/d' -e "s/'[^']*'\$//" -e 's/[0-9]+[sd]/N/g')
check "T40 boot options equal the base's (but volume id, dates, ranges)" \
	diff <(echo "$base_opts") <(echo "$out_opts")

# ---------------------------------------------------------------- T41
xorriso -indev "$iso" -find / -exec lsdl -- > "$tmp/lsdl" 2> /dev/null
need=(/nocloud/user-data /nocloud/meta-data /.disk/info
	/alga-overlay/usr/lib/systemd/system-preset/80-alga.preset
	/alga-overlay/usr/lib/systemd/system/k3s.service
	/alga-overlay/etc/rancher/k3s/config.yaml.d/50-alga.yaml
	/alga-overlay/etc/systemd/journald.conf.d/60-alga.conf
	/alga-overlay/usr/lib/sysusers.d/alga.conf /alga-overlay/usr/lib/tmpfiles.d/alga.conf
	/alga-overlay/usr/share/alga/flux /alga-overlay/usr/share/alga/build-info.json
	/alga-overlay/usr/libexec/alga/alga-agent)
for b in "${fake_bins[@]}"; do need+=("/alga-overlay/usr/bin/$b"); done
for u in "${fake_units[@]}"; do need+=("/alga-overlay/usr/lib/systemd/system/$u"); done
for b in "${fake_bins[@]}" alga-agent; do need+=("/alga-overlay/usr/share/man/man8/$b.8"); done
missing=()
for p in "${need[@]}"; do grep -q " '$p'\$" "$tmp/lsdl" || missing+=("$p"); done
if [[ ${#missing[@]} == 0 ]]; then ok "T41 image holds nocloud, info, binaries, units, sysusers, tmpfiles, man, flux, preset"
else not_ok "T41 image holds the installed layout"; printf 'missing %s\n' "${missing[@]}" | diag; fi
check "T41 everything under /alga-overlay and /nocloud is uid/gid 0, no group/other write" \
	bash -c "grep -E \" '/(alga-overlay|nocloud)(/|')\" '$tmp/lsdl' | awk '\$3 != 0 || \$4 != 0 || substr(\$1,6,1) == \"w\" || substr(\$1,9,1) == \"w\" {print; bad=1} END {exit bad}'"
check "T41 binaries are executable" \
	bash -c "grep -E \" '/alga-overlay/usr/(bin/alga-|libexec/alga/)\" '$tmp/lsdl' | awk 'substr(\$1,4,1) != \"x\" {print; bad=1} END {exit bad}'"
check "T41 /.disk/info is 'AlgaPSA Install'" \
	bash -c "xorriso -osirrox on -indev '$iso' -extract /.disk/info '$tmp/info' > /dev/null 2>&1 && [[ \$(cat '$tmp/info') == 'AlgaPSA Install' ]]"
xorriso -osirrox on -indev "$iso" \
	-extract /alga-overlay/usr/share/alga/build-info.json "$tmp/build-info.json" \
	-extract /alga-overlay/usr/lib/systemd/system-preset/80-alga.preset "$tmp/preset" \
	-extract /alga-overlay/usr/lib/systemd/system/k3s.service "$tmp/k3s.service" > /dev/null 2>&1
check "T41 build-info.json: version, release, buildTimestamp, baseIsoSha256" \
	python3 - "$tmp/build-info.json" "$ver" "$(sha256sum "$tmp/base.iso" | cut -d' ' -f1)" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) == {"version", "release", "buildTimestamp", "baseIsoSha256"}, d
assert d["release"] == sys.argv[2], d
assert d["buildTimestamp"] == "2023-11-14T22:13:20Z", d
assert d["baseIsoSha256"] == sys.argv[3], d
PY
check "T41 preset enables the 8 installable units (B2), not k3s" \
	bash -c "[[ \$(grep -c '^enable alga-' '$tmp/preset') == 8 ]] && ! grep -v '^#' '$tmp/preset' | grep -q k3s"
check "T41 k3s.service has no [Install] section" bash -c "! grep -q '^\[Install\]' '$tmp/k3s.service'"

# ---------------------------------------------------------------- T42
xorriso -osirrox on -indev "$iso" -extract /nocloud "$tmp/nocloud" > /dev/null 2>&1
check "T42 /nocloud/user-data = iso/user-data" cmp "$tmp/nocloud/user-data" "$srcroot/iso/user-data"
check "T42 /nocloud/meta-data = iso/meta-data" cmp "$tmp/nocloud/meta-data" "$srcroot/iso/meta-data"
check "T42 user-data: sections, packages, enable line, marker, --version; no nodejs or password" \
	python3 "$here/test-user-data.py" --check-only "$tmp/nocloud/user-data"

# ---------------------------------------------------------------- T43
xorriso -osirrox on -indev "$iso" -extract /boot/grub/grub.cfg "$tmp/grub.cfg" \
	-extract /boot/grub/loopback.cfg "$tmp/loopback.cfg" > /dev/null 2>&1
for cfg in grub.cfg loopback.cfg; do
	f=$tmp/$cfg
	check "T43 $cfg: 'AlgaPSA Install' once, the first entry" \
		bash -c "[[ \$(grep -c 'AlgaPSA Install' '$f') == 1 ]] && grep -m1 '^[[:space:]]*menuentry' '$f' | grep -q 'AlgaPSA Install'"
	check "T43 $cfg: one 'set timeout=5', one 'set default=0', no timeout_style" \
		bash -c "[[ \$(grep -c '^[[:space:]]*set timeout=' '$f') == 1 && \$(grep -c '^set timeout=5\$' '$f') == 1 &&
			\$(grep -c '^[[:space:]]*set default=' '$f') == 1 ]] && ! grep -q 'timeout_style' '$f'"
	check "T43 $cfg: autoinstall args before --- on each linux line" \
		bash -c "grep -E '^[[:space:]]*linux(efi)?[[:space:]]' '$f' | awk '!/ autoinstall ds=nocloud\\\\;s=\\/cdrom\\/nocloud\\/ ---\$/ {print; bad=1} END {exit bad}'"
	check "T43 $cfg: stock entries kept" \
		bash -c "grep -q 'menuentry \"Try or Install Ubuntu Server\"' '$f' && grep -q 'menuentry \"Ubuntu Server with the HWE kernel\"' '$f'"
done
check "T43 grub.cfg: marker search chains to the installed system" \
	bash -c "grep -q 'search --no-floppy --set=root --file /boot/.alga-installed' '$tmp/grub.cfg' &&
		grep -q 'configfile /boot/grub/grub.cfg' '$tmp/grub.cfg' && grep -q 'search --no-floppy --set=root --file /.alga-installed' '$tmp/grub.cfg' &&
		grep -q 'configfile /grub/grub.cfg' '$tmp/grub.cfg'"
xorriso -osirrox on -indev "$iso" -extract / "$tmp/tree" > /dev/null 2>&1
check "/md5sum.txt matches every file it lists (casper's media check)" \
	bash -c "cd '$tmp/tree' && md5sum -c --quiet md5sum.txt"
rm -rf "$tmp/tree"
check "T43 grub.cfg: serial terminal of the base kept" grep -q '^terminal_output serial' "$tmp/grub.cfg"
check "T43 grub-edit.awk is idempotent" \
	bash -c "awk -f '$srcroot/iso/grub-edit.awk' '$tmp/grub.cfg' | cmp - '$tmp/grub.cfg' &&
		awk -v loopback=1 -f '$srcroot/iso/grub-edit.awk' '$tmp/loopback.cfg' | cmp - '$tmp/loopback.cfg'"
# a rebuild with the output as base: same menus, boot equipment still there
if "$builder" --base-iso "$iso" --release-version "$ver" --destdir "$tmp/dest" --allow-missing-k3s \
	--output-dir "$tmp/rebuilt" > "$tmp/rebuild.log" 2>&1; then
	xorriso -osirrox on -indev "$tmp/rebuilt/$name" -extract /boot/grub/grub.cfg "$tmp/grub2.cfg" \
		-extract /boot/grub/loopback.cfg "$tmp/loopback2.cfg" > /dev/null 2>&1
	check "T43 rebuilt from the output: same grub.cfg and loopback.cfg" \
		bash -c "cmp '$tmp/grub.cfg' '$tmp/grub2.cfg' && cmp '$tmp/loopback.cfg' '$tmp/loopback2.cfg'"
else
	not_ok "T43 rebuilt from the output: same grub.cfg and loopback.cfg"; diag < "$tmp/rebuild.log"
fi

# ---------------------------------------------------------------- T44
# fails_with NAME RC PATTERN CMD...: exit RC, stderr matching PATTERN, no
# step past 1, output dir untouched
fails_with()
{
	local what=$1 want=$2 pat=$3 rc out; shift 3
	rm -rf "$tmp/bad-out"
	out=$("$@" --output-dir "$tmp/bad-out" 2>&1)
	rc=$?
	if [[ $rc == "$want" ]] && grep -qE -- "$pat" <<< "$out" && ! grep -q '^\[2/6\]' <<< "$out" &&
		[[ ! -e $tmp/bad-out ]]; then
		ok "$what: exit $want at step 1 naming it, output dir unchanged"
	else
		not_ok "$what: exit $want at step 1 naming it, output dir unchanged (exit $rc)"
		printf '%s\n' "$out" | diag
	fi
}
"$here/make-base.sh" "$tmp/bios-only.iso" bios-only > /dev/null 2>&1
"$here/make-base.sh" "$tmp/efi-not-fat.iso" efi-not-fat > /dev/null 2>&1
"$here/make-base.sh" "$tmp/no-casper.iso" no-casper > /dev/null 2>&1
head -c 100000 /dev/urandom > "$tmp/random.iso"
common=(--release-version "$ver" --destdir "$tmp/dest" --allow-missing-k3s)
fails_with "T44 BIOS-only base" 3 'no UEFI El Torito boot entry' "$builder" --base-iso "$tmp/bios-only.iso" "${common[@]}"
fails_with "broken UEFI entry (PE file, not a FAT ESP)" 3 'UEFI El Torito boot entry .* is not a FAT' \
	"$builder" --base-iso "$tmp/efi-not-fat.iso" "${common[@]}"
fails_with "base without /casper/vmlinuz" 3 'lacks /casper/vmlinuz' "$builder" --base-iso "$tmp/no-casper.iso" "${common[@]}"
fails_with "T44 random file as base" 3 'not an ISO 9660 image' "$builder" --base-iso "$tmp/random.iso" "${common[@]}"
fails_with "T44 version '1.0 beta'" 2 "release-version '1.0 beta'" "$builder" --base-iso "$tmp/base.iso" \
	--release-version '1.0 beta' --destdir "$tmp/dest" --allow-missing-k3s
cp -a "$tmp/dest" "$tmp/dest-nosetup"; rm "$tmp/dest-nosetup/usr/bin/alga-setup"
fails_with "T44 destdir without alga-setup" 3 'lacks /usr/bin/alga-setup' "$builder" --base-iso "$tmp/base.iso" \
	--release-version "$ver" --destdir "$tmp/dest-nosetup" --allow-missing-k3s
cp -a "$tmp/dest" "$tmp/dest-lib"; mkdir "$tmp/dest-lib/lib"
fails_with "T44 destdir with lib/" 3 'top-level /lib' "$builder" --base-iso "$tmp/base.iso" \
	--release-version "$ver" --destdir "$tmp/dest-lib" --allow-missing-k3s
cp -a "$tmp/dest" "$tmp/dest-link"; ln -s /work/build/alga-x "$tmp/dest-link/usr/bin/alga-x"
fails_with "destdir with a symlink leaving it" 3 'symlink leaving it' "$builder" --base-iso "$tmp/base.iso" \
	--release-version "$ver" --destdir "$tmp/dest-link" --allow-missing-k3s
fails_with "neither --k3s-binary nor --allow-missing-k3s" 2 'k3s' "$builder" --base-iso "$tmp/base.iso" \
	--release-version "$ver" --destdir "$tmp/dest"
fails_with "--channel beta" 2 'stable, nightly' "$builder" --base-iso "$tmp/base.iso" "${common[@]}" --channel beta
fails_with "unknown option" 2 "unknown option '--frobnicate'" "$builder" --frobnicate
out=$("$builder" --base-iso "$tmp/base.iso" "${common[@]}" --dry-run --output-dir "$tmp/dry" 2>&1); rc=$?
if [[ $rc == 0 && ! -e $tmp/dry ]] && grep -q '^\[1/6\]' <<< "$out" && grep -q 'boot_image any replay' <<< "$out"; then
	ok "--dry-run runs step 1, prints the plan, writes nothing"
else
	not_ok "--dry-run runs step 1, prints the plan, writes nothing (exit $rc)"; printf '%s\n' "$out" | diag
fi
check "--help goes to stdout, exit 0, <= 80 columns" \
	bash -c "'$builder' --help > '$tmp/help' 2> '$tmp/help.err' && [[ ! -s '$tmp/help.err' ]] && awk 'length > 80 {bad=1} END {exit bad}' '$tmp/help' && grep -q 'alga-build-iso(1)' '$tmp/help'"

# ---------------------------------------------------------------- T45
# SIGKILL the builder's process group while xorriso writes; a big file in
# the base makes that take long enough to be caught
ALGA_BASE_PAD_MB=200 "$here/make-base.sh" "$tmp/big2.iso" > /dev/null 2>&1
mkdir -p "$tmp/kill"
setsid "$builder" --base-iso "$tmp/big2.iso" "${common[@]}" --output-dir "$tmp/kill" > "$tmp/kill.log" 2>&1 &
kpid=$!
caught=0
for _ in $(seq 1 400); do
	if [[ -e $tmp/kill/$name.tmp ]]; then
		kill -KILL -- "-$kpid" 2> /dev/null && caught=1
		break
	fi
	kill -0 "$kpid" 2> /dev/null || break
	sleep 0.02
done
{ wait "$kpid"; } 2> /dev/null
if [[ $caught == 1 ]]; then
	check "T45 SIGKILL in xorriso leaves no file under the final name" \
		bash -c "[[ ! -e '$tmp/kill/$name' && ! -e '$tmp/kill/$name.sha256' ]]"
else
	not_ok "T45 SIGKILL in xorriso leaves no file under the final name (did not catch xorriso writing)"
	diag < "$tmp/kill.log"
fi
check "T45 rerun exits 0 and leaves no *.tmp" \
	bash -c "'$builder' --base-iso '$tmp/big2.iso' ${common[*]} --output-dir '$tmp/kill' > /dev/null 2>&1 &&
		[[ -e '$tmp/kill/$name' ]] && ! ls '$tmp/kill' | grep -q '\\.tmp\$' && cd '$tmp/kill' && sha256sum -c --quiet '$name.sha256'"
rm -f "$tmp/kill/$name"

# SIGTERM: the builder's trap removes its .tmp files
setsid "$builder" --base-iso "$tmp/big2.iso" "${common[@]}" --output-dir "$tmp/term" > "$tmp/term.log" 2>&1 &
kpid=$!
caught=0
for _ in $(seq 1 400); do
	if [[ -e $tmp/term/$name.tmp ]]; then
		kill -TERM -- "-$kpid" 2> /dev/null && caught=1
		break
	fi
	kill -0 "$kpid" 2> /dev/null || break
	sleep 0.02
done
{ wait "$kpid"; } 2> /dev/null
rc=$?
if [[ $caught == 1 && $rc != 0 && -z $(ls -A "$tmp/term") ]]; then
	ok "SIGTERM while writing: non-zero exit, output dir left empty"
else
	not_ok "SIGTERM while writing: non-zero exit, output dir left empty (caught $caught, exit $rc)"
	ls -A "$tmp/term" | diag
fi
rm -f "$tmp/big2.iso"

# ---------------------------------------------------------------- inputs
# k3s, airgap images and the release source end up where host.md and
# resolutions.md A11 put them
cp /bin/true "$tmp/k3s"
head -c 4096 /dev/urandom > "$tmp/k3s-airgap-images-amd64.tar.zst"
if "$builder" --base-iso "$tmp/base.iso" --release-version "$ver" --destdir "$tmp/dest" \
	--k3s-binary "$tmp/k3s" --airgap-images "$tmp/k3s-airgap-images-amd64.tar.zst" \
	--registry 127.0.0.1:5000 --repository alga-appliance-release --channel nightly \
	--output-dir "$tmp/inputs" > "$tmp/inputs.log" 2>&1; then
	ok "build with --k3s-binary, --airgap-images, --registry/--repository/--channel"
	i2=$tmp/inputs/$name
	xorriso -indev "$i2" -find /alga-overlay/usr/local/bin/k3s -exec lsdl -- 2> /dev/null > "$tmp/k3s.ls"
	check "k3s installed as /usr/local/bin/k3s 0755" grep -q '^-rwxr-xr-x .* 0 *0 ' "$tmp/k3s.ls"
	xorriso -osirrox on -indev "$i2" -extract /alga-overlay/etc/alga/release.conf "$tmp/release.conf" \
		-extract /alga-overlay/usr/share/alga/bootstrap "$tmp/bootstrap" > /dev/null 2>&1
	check "/etc/alga/release.conf holds registry, repository, channel" \
		bash -c "grep -qx 'registry = 127.0.0.1:5000' '$tmp/release.conf' && grep -qx 'repository = alga-appliance-release' '$tmp/release.conf' && grep -qx 'channel = nightly' '$tmp/release.conf'"
	check "airgap images in bootstrap/images/, listed in assets.json with size and sha256" \
		python3 - "$tmp/bootstrap" "$(sha256sum "$tmp/k3s-airgap-images-amd64.tar.zst" | cut -d' ' -f1)" <<'PY'
import json, os, sys
root, sha = sys.argv[1], sys.argv[2]
doc = json.load(open(os.path.join(root, "assets.json")))
e = [f for f in doc["files"] if f["path"] == "images/k3s-airgap-images-amd64.tar.zst"]
assert len(e) == 1 and e[0]["sha256"] == sha and e[0]["size"] == 4096, doc
assert os.path.getsize(os.path.join(root, "images", "k3s-airgap-images-amd64.tar.zst")) == 4096
PY
else
	not_ok "build with --k3s-binary, --airgap-images, --registry/--repository/--channel"; diag < "$tmp/inputs.log"
fi
fails_with "a k3s binary that is not ELF" 3 "is not an ELF" "$builder" --base-iso "$tmp/base.iso" \
	--release-version "$ver" --destdir "$tmp/dest" --k3s-binary "$tmp/info"

# ---------------------------------------------------------------- T46
# a second build from the same inputs, another work dir, umask and clock
sleep 1
(umask 0002; build "$tmp/out2" --work-dir "$tmp/work2" > "$tmp/build2.log" 2>&1)
check "T46 two builds with SOURCE_DATE_EPOCH=1700000000: one sha256" \
	bash -c "[[ -s '$tmp/out2/$name.sha256' ]] && cmp '$tmp/out/$name.sha256' '$tmp/out2/$name.sha256' && cmp '$iso' '$tmp/out2/$name'"
check "--work-dir is cleaned up after the build" bash -c "[[ -z \$(ls -A '$tmp/work2') ]]"

tap_end
