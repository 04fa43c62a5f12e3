#!/usr/bin/env bash
# A flood through two-worker tpds, then the path must still work: through
# tp2 and tp3 with TPDLAB_WORKERS (default 2) workers each, a 64-byte UDP
# flood (iperf3 -b 0, SECS s) from z2-h1 to z4-h1, 3 pings, then the same
# flood from z4-h1 to z2-h1 (iperf3 -R: replies the policy allows) and 3
# pings. The four AF_XDP sockets that
# received a flood (tp2 zone, tp3 transit, then the reverse) must still
# receive.
#
# Regression test of the fill-ring starvation fixed in
# dataplane/runtime/pool.c: the mbuf pool spanned more memory than the
# UMEM the PMD registered, the kernel dropped the fill-ring entries of
# buffers past its end, and once the fill ring was empty the socket
# received nothing again (rx_fill_ring_empty_descs grew). Two workers met
# it in half the runs (they cycle the whole pool), one worker seldom.
#
#   sudo flock /tmp/tp-netns.lock tests/lab/tpd-workers/flood.sh [BUILD_DIR]
# Environment: SECS (4), TPDLAB_WORKERS (2), KEEP=S (a dead path: keep the
# lab S seconds for gdb; the xsk fds are in /proc/PID/fd).
# Exit 0: the path survived both floods; 1: it did not.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
S=$(cd "$HERE/../../.." && pwd)
TP_BUILD_DIR=$(cd "${1:-${TP_BUILD_DIR:-$S/build}}" && pwd)
export TP_BUILD_DIR TP_SOURCE_DIR=$S
export TPDLAB_WORKERS=${TPDLAB_WORKERS:-2}
. "$S/tests/lab/lib/tpdlab.sh"
PIDS=()
DEAD=
stop_all() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	if [ -n "$DEAD" ] && [ -n "${KEEP:-}" ]; then
		echo "the path is dead; lab kept $KEEP s in $W" >&2
		sleep "$KEEP"
	fi
	tpdlab_cleanup
}
trap stop_all EXIT
tpdlab_init "${TPDLAB_PREFIX:-tfw}"
tpdlab_bundle 1 "$S/tests/lab/tpd-lab/plant-a.yaml"
tpdlab_up
for tp in tp2 tp3; do tpdlab_start "$tp" "$W/plant-1.tpb"; done
tpdlab_exec z2-h1 ping -c 3 -i 0.2 -W 1 10.4.0.10 >/dev/null || tpdlab_fail "no path before the flood"
# flood NAME [-R]: SECS s of 64-byte UDP from z2-h1 to z4-h1 (with -R, the
# other way: z4-h1 sends, as the replies the policy allows), then 3 pings
# z2-h1 -> z4-h1 (both directions of the tunnel) must pass
flood() {
	local name=$1 port=$((5000 + ${#PIDS[@]}))

	shift
	ip netns exec "$PFX-z4-h1" iperf3 -s -p "$port" -1 >/dev/null 2>&1 &
	PIDS+=($!)
	sleep 0.5
	timeout 30 ip netns exec "$PFX-z2-h1" iperf3 -c 10.4.0.10 -p "$port" -u -l 64 -b 0 \
		-t "${SECS:-4}" "$@" >/dev/null 2>&1 || true
	sleep 1
	if tpdlab_exec z2-h1 ping -c 3 -i 0.2 -W 1 10.4.0.10 >/dev/null; then
		tpdlab_log "$name: the path survived a ${SECS:-4} s flood with $TPDLAB_WORKERS worker(s)"
		return 0
	fi
	DEAD=1
	tpdlab_log "$name: the path is dead after a ${SECS:-4} s flood with $TPDLAB_WORKERS worker(s)"
	for tp in tp2 tp3; do
		echo "== $tp" >&2
		tpdlab_ctl "$tp" counters | awk '$NF != 0' >&2
	done
	exit 1
}
flood "z2-h1 -> z4-h1 (tp2 zone, tp3 transit)"
flood "z4-h1 -> z2-h1 (tp3 zone, tp2 transit)" -R
