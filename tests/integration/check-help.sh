#!/usr/bin/env bash
# check-help.sh TOOL MANPAGE.scd: --help goes to stdout within 80 columns and
# lists the same options, in the same order and words, as the man page's
# OPTIONS section; a bad option is one line on stderr and exit 2.
set -u
. "$ALGA_SOURCE_ROOT/tests/tap.sh"

tool=$1
page=$2
name=$(basename "$tool")

[ -f "$page" ] || { fail "$name has a man page ($page)"; finish; exit 1; }

out=$("$tool" --help 2>/tmp/check-help.$$)
rc=$?
err=$(cat /tmp/check-help.$$)
rm -f /tmp/check-help.$$
check "$name --help exits 0" test $rc -eq 0
check "$name --help prints to stdout only" test -n "$out" -a -z "$err"
long=$(awk 'length > 80' <<<"$out")
check "$name --help fits in 80 columns" test -z "$long"
[ -n "$long" ] && diag "$long"
check "$name --help ends with See $name(N)." grep -qE "^See $name\([0-9]\)\.$" <<<"$(tail -n 1 <<<"$out")"

# "  -h --help        Show this help" -> "--help<TAB>Show this help"
help_opts=$(awk '/^Options:/ { on = 1; next } on && /^$/ { on = 0 } on' <<<"$out" |
	sed -nE 's/^ +(-[A-Za-z] +)?(--[a-z][a-z0-9-]*)(=[A-Z_]+| [A-Z_]+)? +(.*)$/\2\t\4/p')
# "*-h*, *--help*" + next line "\tShow this help" -> "--help<TAB>Show this help"
man_opts=$(awk '/^# OPTIONS/ { on = 1; next } /^# / { on = 0 } on' "$page" |
	awk '/^\*/ { opt = $0; getline desc; print opt "\t" desc }' |
	sed -E 's/^[^\t]*\*(--[a-z][a-z0-9-]*)[^\t]*\t\t*(.*)$/\1\t\2/; s/[*_]//g')

help_names=$(cut -f1 <<<"$help_opts")
man_names=$(cut -f1 <<<"$man_opts")
check "$name --help and man page list the same options in order" test "$help_names" = "$man_names"
if [ "$help_names" != "$man_names" ]; then
	diag "help: $(tr '\n' ' ' <<<"$help_names")" "man:  $(tr '\n' ' ' <<<"$man_names")"
fi

# the man page may say more, but it starts with the help's words
while IFS=$'\t' read -r opt words; do
	[ -n "$opt" ] || continue
	mdesc=$(awk -F'\t' -v o="$opt" '$1 == o { print $2 }' <<<"$man_opts")
	case "$mdesc" in
	"$words"*) ok "$name $opt: man page starts with '$words'" ;;
	*) fail "$name $opt: man page starts with '$words' (it says '$mdesc')" ;;
	esac
done <<<"$help_opts"

out=$("$tool" --no-such-option 2>/tmp/check-help.$$)
rc=$?
err=$(cat /tmp/check-help.$$)
rm -f /tmp/check-help.$$
check "$name bad option exits 2" test $rc -eq 2
check "$name bad option: nothing on stdout" test -z "$out"
check "$name bad option: one line on stderr" test "$(wc -l <<<"$err")" -eq 1 -a -n "$err"

ver=$("$tool" --version)
check "$name --version prints the suite version" grep -qE "^$name [0-9]+\.[0-9]+\.[0-9]+$" <<<"$ver"

finish
