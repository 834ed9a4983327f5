#!/bin/bash
# make-base.sh: build a small ISO laid out like Ubuntu 24.04 live-server,
# with real GRUB images, as the base image for the ISO builder's tests.
#
#   make-base.sh OUT.iso [normal|bios-only|efi-not-fat|no-casper]
#
# Ubuntu 24.04's `xorriso -report_el_torito as_mkisofs` shows a GRUB hybrid
# MBR (boot_hybrid.img), the ESP as appended GPT partition 2, a BIOS El
# Torito entry loading /boot/grub/i386-pc/eltorito.img and a UEFI entry
# pointing at that appended partition. This script makes the same
# equipment from Debian's grub-pc-bin and grub-efi-amd64-bin so the image
# really boots under qemu, by CD and as a USB disk, BIOS and UEFI. Its
# grub.cfg uses the serial console so the tests can read the menu.
#
# Variants for the failure tests: `bios-only` has no UEFI entry,
# `efi-not-fat` points the UEFI entry at a PE file inside the ISO (the
# upstream builder's mistake, release.md D17), `no-casper` lacks the kernel.
set -euo pipefail

out=${1:?usage: make-base.sh OUT.iso [variant]}
variant=${2:-normal}
work=$(mktemp -d "${TMPDIR:-/tmp}/alga-base.XXXXXX")
trap 'rm -rf "$work"' EXIT

grub_pc=/usr/lib/grub/i386-pc
grub_efi=/usr/lib/grub/x86_64-efi
for f in "$grub_pc/boot_hybrid.img" "$grub_pc/cdboot.img" "$grub_efi/kernel.img"; do
	[[ -e $f ]] || { echo "make-base.sh: missing $f (grub-pc-bin, grub-efi-amd64-bin)" >&2; exit 77; }
done

tree=$work/tree
mkdir -p "$tree/boot/grub/i386-pc" "$tree/boot/grub/x86_64-efi" "$tree/casper" "$tree/.disk" \
	"$tree/EFI/boot" "$tree/pool/main"

# the kernel and initrd only need to exist: the tests stop at the menu
if [[ $variant != no-casper ]]; then
	printf 'synthetic kernel\n' > "$tree/casper/vmlinuz"
	printf 'synthetic initrd\n' > "$tree/casper/initrd"
fi
printf 'Ubuntu-Server 24.04 LTS "Noble Numbat" - Release amd64 (20240423)\n' > "$tree/.disk/info"
printf 'synthetic package pool\n' > "$tree/pool/main/README"
# ALGA_BASE_PAD_MB: a large (sparse) file, so that writing the image takes
# long enough for the kill test to catch xorriso at work
if [[ -n ${ALGA_BASE_PAD_MB:-} ]]; then
	truncate -s "${ALGA_BASE_PAD_MB}M" "$tree/pool/main/padding.bin"
fi

# Ubuntu's grub.cfg with a serial terminal added; loopback.cfg as Ubuntu's
cat > "$tree/boot/grub/grub.cfg" <<'EOF'
serial --unit=0 --speed=115200
terminal_input serial
terminal_output serial
set timeout=30
set timeout_style=menu

set menu_color_normal=white/black
set menu_color_highlight=black/light-gray

menuentry "Try or Install Ubuntu Server" {
	set gfxpayload=keep
	linux	/casper/vmlinuz  ---
	initrd	/casper/initrd
}
menuentry "Ubuntu Server with the HWE kernel" {
	set gfxpayload=keep
	linux	/casper/hwe-vmlinuz  ---
	initrd	/casper/hwe-initrd
}
grub_platform
if [ "$grub_platform" = "efi" ]; then
menuentry 'Boot from next volume' {
	exit 1
}
menuentry 'UEFI Firmware Settings' {
	fwsetup
}
else
menuentry 'Test memory' {
	linux16 /boot/memtest86+x64.bin
}
fi
EOF
cat > "$tree/boot/grub/loopback.cfg" <<'EOF'
menuentry "Try or Install Ubuntu Server" {
	set gfxpayload=keep
	linux	/casper/vmlinuz  iso-scan/filename=${iso_path} ---
	initrd	/casper/initrd
}
menuentry "Ubuntu Server with the HWE kernel" {
	set gfxpayload=keep
	linux	/casper/hwe-vmlinuz  iso-scan/filename=${iso_path} ---
	initrd	/casper/hwe-initrd
}
EOF

# like Ubuntu's signed GRUB, the images find the ISO by a file only it has
# and read grub.cfg from there
cat > "$work/embed.cfg" <<'EOF'
search --no-floppy --set=root --file /.disk/info
set prefix=($root)/boot/grub
EOF
modules="iso9660 part_msdos part_gpt fat normal configfile search search_fs_file
	search_fs_uuid search_label serial terminal echo test linux ls cat halt reboot"
grub-mkimage -O i386-pc-eltorito -d "$grub_pc" -p /boot/grub -c "$work/embed.cfg" \
	-o "$tree/boot/grub/i386-pc/eltorito.img" biosdisk $modules
grub-mkimage -O x86_64-efi -d "$grub_efi" -p /boot/grub -c "$work/embed.cfg" \
	-o "$work/bootx64.efi" $modules
# the module directories, as Ubuntu ships them, so grub.cfg can insmod
cp "$grub_pc"/*.mod "$grub_pc"/*.lst "$tree/boot/grub/i386-pc/"
cp "$grub_efi"/*.mod "$grub_efi"/*.lst "$tree/boot/grub/x86_64-efi/"
cp "$work/bootx64.efi" "$tree/EFI/boot/bootx64.efi"

# casper's integrity list, as Ubuntu's: every file but itself and the
# El Torito image, which xorriso patches (boot-info-table)
(cd "$tree" && find . -type f ! -name md5sum.txt ! -name eltorito.img -print0 | sort -z |
	xargs -0 md5sum) > "$work/md5sum.txt"
mv "$work/md5sum.txt" "$tree/md5sum.txt"

# the ESP: a FAT image holding EFI/BOOT/BOOTX64.EFI
size_kib=$(( ($(stat -c %s "$work/bootx64.efi") / 1024) + 512 ))
mkfs.fat -C -n ESP --invariant -i 414c4741 "$work/efi.img" "$size_kib" > /dev/null
mmd -i "$work/efi.img" ::/EFI ::/EFI/BOOT
mcopy -m -i "$work/efi.img" "$work/bootx64.efi" ::/EFI/BOOT/BOOTX64.EFI

bios=(-b /boot/grub/i386-pc/eltorito.img -no-emul-boot -boot-load-size 4 -boot-info-table
	--grub2-boot-info)
case $variant in
normal|no-casper)
	efi=(-eltorito-alt-boot -e --interval:appended_partition_2:all:: -no-emul-boot) ;;
bios-only)
	efi=() ;;
efi-not-fat)
	efi=(-eltorito-alt-boot -e /EFI/boot/bootx64.efi -no-emul-boot) ;;
*)
	echo "make-base.sh: unknown variant '$variant'" >&2; exit 2 ;;
esac

SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1713830400} \
xorriso -as mkisofs -r -J -joliet-long -l -iso-level 3 \
	-V 'Ubuntu-Server 24.04 LTS amd64' \
	-o "$out" \
	--grub2-mbr "$grub_pc/boot_hybrid.img" \
	-partition_offset 16 \
	--mbr-force-bootable \
	-append_partition 2 28732ac11ff8d211ba4b00a0c93ec93b "$work/efi.img" \
	-appended_part_as_gpt \
	-iso_mbr_part_type a2a0d0ebe5b9334487c068b6b72699c7 \
	-c /boot.catalog \
	"${bios[@]}" "${efi[@]}" \
	"$tree" 2> "$work/xorriso.log" || { cat "$work/xorriso.log" >&2; exit 1; }
