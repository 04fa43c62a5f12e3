#!/usr/bin/env bash
# tpd with two workers at each end (TPDLAB_WORKERS=2), z2-h1 -> z4-h1 across
# tp2 and tp3, everything at once: one heavy TCP flow (iperf3, 4 s, paced at
# 200 Mbit/s so that the UDP streams are not lost to its congestion) and 16
# numbered UDP streams. Asserts:
#   - the TCP flow completes and every UDP stream arrives in order (no
#     datagram behind a later one of its own flow: a flow has one owner
#     worker, and the handoff ring keeps order), without duplicates;
#   - the flows did cross between workers (handoff_out > 0 on tp2), and
#     handoff_out = handoff_in, nothing dropped as handoff_full;
#   - the tunnel's crypto was spread over both workers where bursts were
#     long enough (crypt.c): on each TP crypt_spread_out = crypt_spread_in
#     + crypt_taken_back (every posted job run exactly once); the counts,
#     and any crypt_queue_full, are printed.
# The rest of the suite runs again with two workers as *_2w (stateful
# replies, the responder cannot open, Modbus profile, rate limits, interop).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export TPDLAB_WORKERS=2
. "$HERE/../lib/tpdlab.sh"
PIDS=()
stop_all() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	tpdlab_cleanup
}
trap stop_all EXIT
tpdlab_init "${TPDLAB_PREFIX:-tlw}"
tpdlab_bundle 1 "$HERE/../tpd-lab/plant-a.yaml"
tpdlab_up
for tp in tp2 tp3; do tpdlab_start "$tp" "$W/plant-1.tpb"; done
grep -q "2 worker(s)" "$W/tp2.log" || tpdlab_fail "tp2 does not run two workers"

FLOWS=16 COUNT=500
ip netns exec "$PFX-z4-h1" python3 "$HERE/seq.py" recv 5000 "$W/seq.json" $FLOWS $COUNT &
RECV=$!
PIDS+=($RECV)
ip netns exec "$PFX-z4-h1" iperf3 -s -p 5000 -1 >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5
tpdlab_exec z2-h1 iperf3 -c 10.4.0.10 -p 5000 -t 4 -b 200M -J >"$W/iperf.json" 2>&1 &
IPERF=$!
PIDS+=($IPERF)
sleep 0.5
tpdlab_exec z2-h1 python3 "$HERE/seq.py" send 10.4.0.10 5000 $FLOWS $COUNT
wait $IPERF || tpdlab_fail "iperf3 TCP: $(tail -5 "$W/iperf.json")"
wait $RECV || tpdlab_fail "the UDP receiver failed"
python3 - "$W/iperf.json" "$W/seq.json" $FLOWS $COUNT <<'PY' || tpdlab_fail "streams through two workers"
import json, sys
r = json.load(open(sys.argv[1]))
assert "error" not in r, r["error"]
tcp = r["end"]["sum_received"]["bits_per_second"]
s = json.load(open(sys.argv[2]))
flows, count = int(sys.argv[3]), int(sys.argv[4])
print(f"TCP {tcp / 1e6:.0f} Mbit/s; UDP {s['received']}/{flows * count} datagrams in "
      f"{s['flows']} flows, {s['reordered']} reordered, {s['duplicates']} duplicated")
assert tcp > 0, r["end"]
assert s["flows"] == flows, s
assert s["reordered"] == 0, "datagrams reordered within a flow"
assert s["duplicates"] == 0, s
assert s["received"] >= flows * count // 2, "most datagrams lost"
PY
out=$(tpdlab_counter tp2 handoff_out)
in=$(tpdlab_counter tp2 handoff_in)
full=$(tpdlab_ctl tp2 --json counters | python3 -c 'import json,sys; print(json.load(sys.stdin)["drops"]["handoff_full"])')
[ "$out" -gt 0 ] || tpdlab_fail "tp2: no flow crossed to the other worker (handoff_out 0)"
[ "$out" = "$in" ] || tpdlab_fail "tp2: handoff_out $out, handoff_in $in"
[ "$full" = 0 ] || tpdlab_fail "tp2: $full packets dropped as handoff_full"
spread=""
for tp in tp2 tp3; do
	read -r so si sb qf < <(tpdlab_ctl "$tp" --json counters | python3 -c '
import json, sys
c = json.load(sys.stdin)
s = c["stats"]
print(s["crypt_spread_out"], s["crypt_spread_in"], s["crypt_taken_back"], c["drops"]["crypt_queue_full"])')
	[ "$so" = $((si + sb)) ] ||
		tpdlab_fail "$tp: crypt_spread_out $so, but in $si + taken back $sb"
	spread="$spread $tp: $so spread ($si run by the helper, $sb taken back, $qf queue full);"
done
tpdlab_log "two workers: heavy TCP and $FLOWS UDP streams in order; tp2 handed $out packets over;$spread"
