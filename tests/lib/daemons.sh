# Shared preamble of the script tests that start daemons (source it; the
# test runs under set -euo pipefail). tl_work PREFIX: $work is a fresh
# /tmp/PREFIX.XXXXXX; every PID the test appends to pids is sent SIGTERM
# and reaped at exit, even on failure, and then $work is removed.
pids=()
tl_stop_all() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
tl_work() {
	work=$(mktemp -d "/tmp/$1.XXXXXX")
	trap tl_stop_all EXIT
}
# fail "why": the first failed check ends the test
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
