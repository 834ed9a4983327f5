# shellcheck shell=bash
# TAP helpers for the suite's shell tests: source, then ok/fail/skip, and
# finish at the end. Every test script ends with `finish`.
tap_n=0
tap_failed=0

ok() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $*"
}

fail() {
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $*"
}

# check DESCRIPTION COMMAND...: ok when COMMAND succeeds
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

# quiet COMMAND...: runs COMMAND with its output dropped (inside check)
quiet() {
	"$@" >/dev/null 2>&1
}

skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n # SKIP $*"
}

# skip_all REASON: the whole script needs something absent
skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

diag() {
	printf '# %s\n' "$@"
}

finish() {
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
}

# scratch: makes a scratch dir, names it in $SCRATCH and removes it when the
# script exits, however it exits (call it in the script's own shell, not in
# $(...), where the trap would fire at once)
scratch() {
	SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/alga-test.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$SCRATCH'" EXIT
}
