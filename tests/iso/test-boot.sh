#!/bin/bash
# test-boot.sh: boot the built installer image under qemu (TCG) until GRUB
# shows the 'AlgaPSA Install' entry on the serial console (TAP).
#
#   test-boot.sh bios-cdrom|uefi-cdrom|bios-usb|uefi-usb|bios-chain|uefi-chain
#
# bios-cdrom: SeaBIOS, El Torito BIOS entry (eltorito.img);
# uefi-cdrom: OVMF, El Torito UEFI entry (the FAT ESP);
# bios-usb:   SeaBIOS, the image as a USB disk through the GRUB hybrid MBR;
# uefi-usb:   OVMF, the image as a USB disk through the GPT's ESP.
# The CD modes also wait for GRUB's 5 s timeout: with no installed disk,
# the entry loads /casper/vmlinuz (the synthetic kernel, which GRUB then
# rejects). The chain modes add a disk made by mke2fs -d holding the disk
# marker and a grub.cfg that echoes ALGA-CHAINED (release.md T48): BIOS
# with /boot/.alga-installed, UEFI with a separate /boot (/.alga-installed).
# The synthetic base's grub.cfg puts GRUB on the serial console; qemu
# writes it to a file that is polled until the menu appears or the hard
# cap passes, then qemu is killed.
set -uo pipefail
source "$(dirname "$0")/lib.sh"

mode=${1:?usage: test-boot.sh bios-cdrom|uefi-cdrom|bios-usb|uefi-usb|bios-chain|uefi-chain}
cap=${ALGA_BOOT_TIMEOUT:-150}

require_tools qemu-system-x86_64 xorriso mkfs.fat mcopy grub-mkimage
require_files "grub-pc-bin, grub-efi-amd64-bin" "${grub_files[@]}"
[[ $mode != *-chain ]] || require_tools mke2fs

fw=()
if [[ $mode == uefi-* ]]; then
	code='' vars=''
	for pair in OVMF_CODE_4M.fd:OVMF_VARS_4M.fd OVMF_CODE.fd:OVMF_VARS.fd; do
		if [[ -r /usr/share/OVMF/${pair%%:*} && -r /usr/share/OVMF/${pair##*:} ]]; then
			code=/usr/share/OVMF/${pair%%:*} vars=/usr/share/OVMF/${pair##*:}
			break
		fi
	done
	if [[ -z $code ]]; then
		echo "1..0 # SKIP OVMF (ovmf) not installed"
		exit 0
	fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/alga-iso-boot.XXXXXX")
qpid=''
cleanup() { [[ -n $qpid ]] && kill "$qpid" 2> /dev/null && wait "$qpid" 2> /dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export SOURCE_DATE_EPOCH=1700000000

if ! "$here/make-base.sh" "$tmp/base.iso" > "$tmp/log" 2>&1; then
	echo "Bail out! cannot build the synthetic base image"; diag < "$tmp/log"; exit 1
fi
stage_tree "$tmp/dest"
if ! "$builder" --base-iso "$tmp/base.iso" --release-version 1.0.3 --destdir "$tmp/dest" \
	--allow-missing-k3s --output-dir "$tmp/out" > "$tmp/log" 2>&1; then
	echo "Bail out! build-iso failed"; diag < "$tmp/log"; exit 1
fi
iso=$tmp/out/alga-appliance-ubuntu-1.0.3.iso

if [[ $mode == uefi-* ]]; then
	cp "$vars" "$tmp/vars.fd"
	fw=(-machine q35 -drive "if=pflash,format=raw,readonly=on,file=$code"
		-drive "if=pflash,format=raw,file=$tmp/vars.fd")
fi
case $mode in
*-cdrom|*-chain)
	media=(-drive "if=none,id=cd,format=raw,media=cdrom,readonly=on,file=$iso")
	if [[ $mode == uefi-* ]]; then
		media+=(-device ahci,id=ahci -device ide-cd,bus=ahci.0,drive=cd,bootindex=0)
	else
		media+=(-device ide-cd,drive=cd,bootindex=0)
	fi ;;
*-usb)
	# a copy, so that nothing the firmware writes reaches the image
	cp "$iso" "$tmp/usb.img"
	media=(-drive "if=none,id=usb,format=raw,file=$tmp/usb.img"
		-device usb-ehci,id=ehci -device usb-storage,bus=ehci.0,drive=usb,bootindex=0) ;;
*)
	echo "Bail out! unknown mode '$mode'"; exit 1 ;;
esac
if [[ $mode == *-chain ]]; then
	mkdir -p "$tmp/disk/grub"
	if [[ $mode == bios-* ]]; then d=$tmp/disk/boot; mkdir -p "$d/grub"; else d=$tmp/disk; fi
	: > "$d/.alga-installed"
	printf 'echo ALGA-CHAINED\nsleep 60\n' > "$d/grub/grub.cfg"
	mke2fs -q -t ext2 -d "$tmp/disk" "$tmp/disk.img" 16M > /dev/null
	media+=(-drive "if=none,id=hd,format=raw,file=$tmp/disk.img" -device virtio-blk-pci,drive=hd,bootindex=1)
fi
# what shows that the entry did its work, after GRUB's 5 s timeout
case $mode in
*-chain) after='ALGA-CHAINED' ;;
*-cdrom) after="Booting .AlgaPSA Install.*(invalid magic|premature end|too small|error)" ;;
*) after='' ;;
esac

# -nodefaults: no default CD drive or NIC, so the only boot device is ours
: > "$tmp/serial"
t0=$(date +%s)
qemu-system-x86_64 -accel tcg -nodefaults -display none -no-reboot -m 512 -smp 1 \
	-monitor none -serial "file:$tmp/serial" "${fw[@]}" "${media[@]}" 2> "$tmp/qemu.err" &
qpid=$!
found=0
while (( $(date +%s) - t0 < cap )); do
	if [[ $found == 0 ]] && grep -aq 'AlgaPSA Install' "$tmp/serial"; then
		found=1
		menu_at=$(( $(date +%s) - t0 ))
		# let GRUB finish drawing the menu
		sleep 1
		[[ -n $after ]] || break
	fi
	if [[ -n $after && $found == 1 ]] &&
		sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]/ /g' "$tmp/serial" | tr -cd '[:print:]' | grep -aqE "$after"; then
		break
	fi
	kill -0 "$qpid" 2> /dev/null || break
	sleep 0.5
done
elapsed=$(( $(date +%s) - t0 ))
kill "$qpid" 2> /dev/null
wait "$qpid" 2> /dev/null
qpid=''
# the console without its escape sequences
sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]/ /g' "$tmp/serial" | tr -cd '[:print:]\n' > "$tmp/console"

if [[ $found == 1 ]]; then
	ok "$mode: GRUB shows 'AlgaPSA Install' on the serial console (${menu_at} s)"
else
	not_ok "$mode: GRUB shows 'AlgaPSA Install' on the serial console (none after ${elapsed} s)"
	tail -c 2000 "$tmp/console" | diag
	diag < "$tmp/qemu.err"
fi
check "$mode: 'AlgaPSA Install' is the highlighted default entry" grep -aq '\*AlgaPSA Install' "$tmp/console"
check "$mode: the stock entries follow it" grep -aq 'Try or Install Ubuntu Server' "$tmp/console"
tr -d '\n' < "$tmp/console" > "$tmp/console1"
case $mode in
*-chain)
	check "$mode: the entry finds the disk marker and chains to its grub.cfg (${elapsed} s)" \
		grep -aq 'ALGA-CHAINED' "$tmp/console1" ;;
*-cdrom)
	check "$mode: without an installed disk the entry loads /casper/vmlinuz (${elapsed} s)" \
		bash -c "grep -aqE \"$after\" '$tmp/console1' && ! grep -aq ALGA-CHAINED '$tmp/console1'" ;;
esac
case $mode in
uefi-cdrom)
	check "$mode: OVMF booted the DVD-ROM" grep -aq 'BdsDxe: starting .*DVD' "$tmp/console" ;;
uefi-usb)
	check "$mode: OVMF booted the USB disk" grep -aq 'BdsDxe: starting .*USB' "$tmp/console" ;;
esac
tap_end
