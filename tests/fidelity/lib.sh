# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Shared helpers for the fidelity TAP scripts: start/stop fakekube, pick the
# real kubectl, and print TAP lines.

FIDELITY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCROOT=${ALGA_SOURCE_ROOT:-$(cd "$FIDELITY_DIR/../.." && pwd)}
FK_DIR=$SRCROOT/tests/fixtures/fakekube
FAKEKUBE=$FK_DIR/fakekube
FKCTL_BIN=$FK_DIR/fakekube-ctl
PY=/usr/bin/python3
[ -x "$PY" ] || PY=${PYTHON3:-python3}
. "$SRCROOT/tests/find-kubectl.sh"

TAP_N=0
TAP_FAILED=0

ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $*"
}

not_ok() {
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}

diag() {
	sed 's/^/# /'
}

# check NAME CMD...: runs CMD, ok when it exits 0; output shown on failure.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		not_ok "$name"
		printf '%s\n' "$out" | tail -n 30 | diag
	fi
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

# shellcheck disable=SC2034 # FK_PORT is for the callers
# fk_start [--objects DIR] [more fakekube args]: sets FK_STATE, FK_PORT,
# KUBECONFIG, HOME (so kubectl's discovery cache is private).
fk_start() {
	FK_STATE=$(mktemp -d "${TMPDIR:-/tmp}/fakekube.XXXXXX")
	"$PY" "$FAKEKUBE" --state-dir "$FK_STATE" "$@" >"$FK_STATE/stdout" 2>"$FK_STATE/stderr" &
	FK_PID=$!
	local line=""
	for _ in $(seq 400); do
		line=$(head -n 1 "$FK_STATE/stdout" 2>/dev/null)
		case "$line" in READY\ *) break ;; esac
		kill -0 "$FK_PID" 2>/dev/null || break
		sleep 0.05
	done
	case "$line" in
	READY\ *) FK_PORT=${line#READY } ;;
	*)
		echo "# fakekube did not start: $line" >&2
		diag <"$FK_STATE/stderr" >&2
		return 1
		;;
	esac
	export KUBECONFIG=$FK_STATE/kubeconfig
	export HOME=$FK_STATE/home
	mkdir -p "$HOME"
	export FAKEKUBE_STATE_DIR=$FK_STATE
}

fk_stop() {
	local rc=0
	if [ -n "${FK_PID:-}" ] && kill -0 "$FK_PID" 2>/dev/null; then
		kill -TERM "$FK_PID"
		wait "$FK_PID" || rc=$?
	fi
	if [ -s "${FK_STATE:-/nonexistent}/stderr" ]; then
		echo "# fakekube stderr:"
		diag <"$FK_STATE/stderr"
	fi
	[ -n "${FK_STATE:-}" ] && [ -z "${FK_KEEP:-}" ] && rm -rf "$FK_STATE"
	FK_PID=
	return $rc
}

fkctl() {
	"$PY" "$FKCTL_BIN" -s "$FK_STATE" "$@"
}

tap_end() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}
