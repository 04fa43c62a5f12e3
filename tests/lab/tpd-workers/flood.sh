#!/usr/bin/env bash
# Reproduction of an open defect (issue 13 notes), not a CI test: through
# tp2 and tp3 with TPDLAB_WORKERS (default 2) workers each, a 64-byte UDP
# flood (iperf3 -b 0, SECS s) from z2-h1 to z4-h1, then 5 pings.
#
# With 2 workers on this lab's one-queue veths, about half the runs end
# with the path dead: tp2's zone AF_XDP socket reports every later packet
# as rx_dropped / rx_fill_ring_empty_descs (XDP_STATISTICS), its rx ring
# is empty, its mbuf pool three-quarters free, both workers block in
# ppoll; nothing refills the fill ring. With 1 worker, 3 runs of 3 passed.
#
#   sudo flock /tmp/tp-netns.lock tests/lab/tpd-workers/flood-wedge.sh [BUILD_DIR]
# Environment: SECS (5), TPDLAB_WORKERS (2), KEEP=S (a dead path: keep the
# lab S seconds for gdb; tp2's xsk fds are in /proc/PID/fd).
# Exit 0: the path survived; 1: it did not.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
S=$(cd "$HERE/../../.." && pwd)
export TP_BUILD_DIR=$(cd "${1:-$S/build}" && pwd) TP_SOURCE_DIR=$S
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
ip netns exec "$PFX-z4-h1" iperf3 -s -p 5000 -1 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5
timeout 30 ip netns exec "$PFX-z2-h1" iperf3 -c 10.4.0.10 -p 5000 -u -l 64 -b 0 \
	-t "${SECS:-5}" >/dev/null 2>&1 || true
sleep 1
if tpdlab_exec z2-h1 ping -c 5 -i 0.2 -W 1 10.4.0.10 >/dev/null; then
	tpdlab_log "the path survived a ${SECS:-5} s flood with $TPDLAB_WORKERS worker(s)"
	exit 0
fi
DEAD=1
tpdlab_log "the path is dead after a ${SECS:-5} s flood with $TPDLAB_WORKERS worker(s)"
tpdlab_ctl tp2 counters | awk '$NF != 0'
exit 1
