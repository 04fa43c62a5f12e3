#!/usr/bin/env bash
# tests/soak/hs-flood.sh [REPS] — what a handshake flood costs an established
# tunnel (RELIABILITY.md section 3). The lab plant (LAB_PREFIX tsh), three
# tpd; iperf3 TCP z2-h1 -> z4-h1:5000 through the tp2 -> tp3 tunnel, DURATION
# (8) seconds a run, REPS (3) rounds of three runs interleaved:
#   quiet    no flood
#   control  the flood sent to a sink host on the transit network (a
#            namespace whose kernel drops it): what the flooder's own CPU
#            costs on this one machine, which a real attacker's would not
#   flood    the same flood sent to tp3 (the receiving TP)
# The flood: tests/soak/traffic.py hs-flood, PPS (20000) initiations a
# second from SOURCES (64, at most 200) source addresses, every other one
# with a valid mac1 for tp3's key. Cost = 1 - flood / control (the median
# runs). Prints a
# markdown section with tp3's counters over the flood runs (what its XDP
# program let through per source, the cookie replies); OUT=FILE writes it
# there too (tests/bench/record.sh RELIABILITY.md hsflood FILE).
set -euo pipefail
REPS=${1:-3}
DURATION=${DURATION:-8}
PPS=${PPS:-20000}
SOURCES=${SOURCES:-64}
[ "$SOURCES" -ge 1 ] && [ "$SOURCES" -le 200 ] || { echo "SOURCES: 1..200" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
: "${TP_SOURCE_DIR:=$(cd "$HERE/../.." && pwd)}" "${TP_BUILD_DIR:=$TP_SOURCE_DIR/build}"
export TP_SOURCE_DIR TP_BUILD_DIR
. "$HERE/../lab/lib/tpdlab.sh"
TRAFFIC="python3 $HERE/traffic.py"
SINK=
SRV=
cleanup() {
	[ -z "$SRV" ] || { kill "$SRV" 2>/dev/null || true; wait "$SRV" 2>/dev/null || true; }
	[ -z "$SINK" ] || ip netns del "$SINK" 2>/dev/null || true
	tpdlab_cleanup
}
trap cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tsh}"
tpdlab_bundle 1 "$S/tests/lab/tpd-lab/plant-b.yaml"
tpdlab_up
tx() { ip netns exec "$PFX-transit" "$@"; }
# the transit subnet's route in the bridge's namespace, and the rogue's addresses
tx ip addr add 192.0.2.250/24 dev br0
SRCS=()
for i in $(seq 20 $((19 + SOURCES))); do
	tx ip addr add 192.0.2.$i/32 dev br0
	SRCS+=(192.0.2.$i)
done
# the sink: a host on the transit bridge that drops what it gets
SINK=$PFX-sink
ip netns add "$SINK"
ip link add sink0 netns "$SINK" type veth peer name sink netns "$PFX-transit"
tx ip link set sink master br0 up
ip netns exec "$SINK" ip addr add 192.0.2.240/24 dev sink0
ip netns exec "$SINK" ip link set sink0 up
ip netns exec "$SINK" ip link set lo up
for tp in tp1 tp2 tp3; do tpdlab_start "$tp" "$W/plant-1.tpb"; done
ip netns exec "$PFX-z4-h1" iperf3 -s -p 5000 >"$W/iperf-server.log" 2>&1 &
SRV=$!
sleep 0.5
tpdlab_exec z2-h1 iperf3 -c 10.4.0.10 -p 5000 -t 2 >/dev/null || tpdlab_fail "iperf3 warm-up"
PUB3=$("$TPOLICY_BIN" keygen --public <"$W/tp3.key")

snap() { tpdlab_ctl tp3 --json counters >"$W/c-$1.json"; }
run() { # run MODE REP: one iperf3 run under MODE; its Mbit/s in $W/MODE.txt
	local mode=$1 f=
	case $mode in
	control) tx $TRAFFIC hs-flood $((DURATION + 2)) "$PPS" "$PUB3" 192.0.2.240:51820 "${SRCS[@]}" >>"$W/sent-control.txt" & f=$! ;;
	flood) tx $TRAFFIC hs-flood $((DURATION + 2)) "$PPS" "$PUB3" 192.0.2.13:51820 "${SRCS[@]}" >>"$W/sent-flood.txt" & f=$! ;;
	esac
	[ -z "$f" ] || sleep 1
	tpdlab_exec z2-h1 iperf3 -c 10.4.0.10 -p 5000 -t "$DURATION" -J >"$W/run.json" ||
		tpdlab_fail "iperf3 under $mode: $(tail -5 "$W/run.json")"
	[ -z "$f" ] || wait "$f"
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e6)' \
		"$W/run.json" >>"$W/$mode.txt"
	tpdlab_log "$mode $2: $(tail -n1 "$W/$mode.txt") Mbit/s"
}
: >"$W/flood-counters.txt"
for r in $(seq "$REPS"); do
	run quiet "$r"
	run control "$r"
	snap before
	run flood "$r"
	snap after
	python3 - "$W/c-before.json" "$W/c-after.json" >>"$W/flood-counters.txt" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
d = lambda sec, k: b[sec][k] - a[sec][k]
x = lambda k: b["xdp"]["transit"][k] - a["xdp"]["transit"][k]
print(x("redirect_handshake"), x("drop_hs_ratelimit"), d("tunnel", "need_cookie"),
      d("tunnel", "bad_mac1"), d("tunnel", "bad_aead"), d("drops", "handshake_ring_full"),
      d("tunnel", "initiation_flood"), d("tunnel", "ratelimited"))
PY
done
kill "$SRV" 2>/dev/null || true
wait "$SRV" 2>/dev/null || true
SRV=

out=$(python3 - "$W" "$REPS" "$DURATION" "$PPS" "$(git -C "$S" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$SOURCES" <<'PY'
import re, statistics, sys
W, reps, dur, pps, commit, nsrc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
m = {k: [float(x) for x in open(f"{W}/{k}.txt")] for k in ("quiet", "control", "flood")}
med = {k: statistics.median(v) for k, v in m.items()}
cost = 1 - med["flood"] / med["control"]
c = [list(map(int, l.split())) for l in open(f"{W}/flood-counters.txt")]
tot = [sum(col) for col in zip(*c)]
secs = reps * (dur + 2)
sent = sum(int(m.group(1)) for m in re.finditer(r"hs-flood: (\d+) initiations", open(f"{W}/sent-flood.txt").read()))
print(f"Commit {commit}; {reps} rounds of {dur} s iperf3 TCP runs z2 -> z4 (tp2 -> tp3), "
      f"flood paced at {pps} initiations/s from {nsrc} addresses, half with a valid mac1 for tp3.")
print()
print("| run | Mbit/s (median) | each run |")
print("|---|---:|---|")
for k, what in (("quiet", "no flood"), ("control", "flood to a sink host (the flooder's own CPU)"),
                ("flood", "flood to tp3")):
    print(f"| {what} | {med[k]:.0f} | {', '.join(f'{v:.0f}' for v in m[k])} |")
print()
print(f"**Cost of the flood to the tunnel: {cost * 100:.1f} %** (1 - flood / control; "
      f"against the quiet runs: {(1 - med['flood'] / med['quiet']) * 100:.1f} %, which includes "
      f"the flooder's CPU on this 2-core machine).")
print()
print(f"tp3 over the {reps} flood runs ({secs} s of flood, {sent:,} initiations sent, "
      f"{sent / secs:,.0f}/s; the quiet runs spread {min(m['quiet']):.0f}-{max(m['quiet']):.0f} Mbit/s):")
print()
print("| XDP passed to tpd | XDP dropped over the per-source limit | cookie replies | bad mac1 | "
      "X25519 done, then refused (bad_aead) | handshake ring full | initiation flood | rate-limited |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
print("| " + " | ".join(f"{v:,}" for v in tot) + " |")
PY
)
echo "$out"
[ -z "${OUT:-}" ] || echo "$out" >"$OUT"
echo PASS
