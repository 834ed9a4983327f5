# shellcheck shell=bash
# The kubectl under test: $KUBECTL, else v1.32 itself when kubectl on PATH is
# a version dispatcher (gcloud ships kubectl.1.NN beside it), else kubectl.
find_kubectl() {
	if [ -n "${KUBECTL:-}" ]; then
		command -v "$KUBECTL" && return 0
		return 1
	fi
	local k real
	k=$(command -v kubectl) || return 1
	real=$(readlink -f "$k")
	if [ -x "$(dirname "$real")/kubectl.1.32" ]; then
		echo "$(dirname "$real")/kubectl.1.32"
	else
		echo "$k"
	fi
}
