#!/usr/bin/env bash
# tpd without CAP_SYS_ADMIN (LAB_PREFIX tlc unless TPDLAB_PREFIX says
# otherwise), with the lab's XDP programs: opening the attached programs
# and their maps by id needs CAP_SYS_ADMIN (CAP_BPF/CAP_PERFMON are not
# enough), so tpd must refuse to start with one line naming it, instead of
# saying "running" and forwarding nothing; with its capabilities the same
# configuration starts.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/tpdlab.sh"
trap tpdlab_cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tlc}"
tpdlab_up
tpdlab_conf tp1 "" >"$W/tp1-nocap.conf"
rc=0
# the sanitizer build: the same leak suppressions as tpdlab_start (what
# DPDK's AF_XDP PMD allocates and never frees, even on this early exit)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0" \
	LSAN_OPTIONS="suppressions=$S/tests/lab/lib/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
	ip netns exec "$PFX-tp1" setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin \
	timeout 60 "$TPD_BIN" --config "$W/tp1-nocap.conf" >"$W/nocap.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || tpdlab_fail "without CAP_SYS_ADMIN: exit $rc: $(cat "$W/nocap.log")"
if grep -q "running" "$W/nocap.log"; then tpdlab_fail "without CAP_SYS_ADMIN tpd said running"; fi
grep -q "^tpd: cannot open the XDP program attached to the zone interface .*CAP_SYS_ADMIN" \
	"$W/nocap.log" || tpdlab_fail "without CAP_SYS_ADMIN: $(cat "$W/nocap.log")"
tpdlab_start tp1
tpdlab_stop tp1
echo PASS
