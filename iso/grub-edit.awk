# grub-edit.awk: turn a stock Ubuntu live-server grub.cfg or loopback.cfg
# into the appliance's (release.md §4.9 step 3).
#
#   awk -f grub-edit.awk [-v loopback=1] grub.cfg > grub.cfg.new
#
# - every `set timeout=`, `set default=`, `set timeout_style=` is dropped;
# - one block is prepended: `set timeout=5`, `set default=0` and the entry
#   `AlgaPSA Install`, which chains to an installed system when the disk
#   marker /boot/.alga-installed (or /.alga-installed on a separate /boot)
#   is found and otherwise boots the installer with autoinstall;
# - every other `linux`/`linuxefi` line lacking `autoinstall` gets the
#   autoinstall arguments before `---`, so stock entries reinstall too.
#
# The script is idempotent: the block it added before (between its BEGIN
# and END markers) is dropped and written again, and lines that already
# carry `autoinstall` are left alone, so editing its own output changes
# nothing.

BEGIN {
	args = "autoinstall ds=nocloud\\;s=/cdrom/nocloud/"
	# loopback.cfg is read by GRUB's loopback boot of the ISO file, where
	# casper finds the image again through iso-scan/filename; the stock
	# entries there carry it already
	entry_args = args
	if (loopback)
		entry_args = "iso-scan/filename=${iso_path} " args
	begin_mark = "### BEGIN alga-build-iso"
	end_mark = "### END alga-build-iso"

	print begin_mark
	print "set timeout=5"
	print "set default=0"
	print ""
	print "menuentry 'AlgaPSA Install' {"
	print "\tif search --no-floppy --set=root --file /boot/.alga-installed; then"
	print "\t\tconfigfile /boot/grub/grub.cfg"
	print "\telif search --no-floppy --set=root --file /.alga-installed; then"
	print "\t\tconfigfile /grub/grub.cfg"
	print "\tfi"
	print "\tset gfxpayload=keep"
	print "\tlinux /casper/vmlinuz " entry_args " ---"
	print "\tinitrd /casper/initrd"
	print "}"
	print end_mark
	skipping = 0
}

$0 == begin_mark { skipping = 1; next }
$0 == end_mark { skipping = 0; next }
skipping { next }

/^[ \t]*set[ \t]+(timeout|default|timeout_style)=/ { next }

/^[ \t]*(linux|linuxefi)[ \t]/ && !/[ \t]autoinstall([ \t]|$)/ {
	if (match($0, /[ \t]---([ \t]|$)/))
		$0 = substr($0, 1, RSTART) args " " substr($0, RSTART + 1)
	else
		$0 = $0 " " args
}

{ print }
