#!/usr/bin/env bash
# Per-rule rate limits and the flow log, end to end in the lab (LAB_PREFIX
# tlr unless TPDLAB_PREFIX says otherwise): one tpd per TP in xdp mode
# with plant.yaml, where z1 -> z3 has
#   rule 50  ICMP echo, rate_limit { pps: 20, burst: 20 }
#   rule 51  UDP 5000, unlimited, log: true
#   rule 52  TCP 23, deny, log: true
#
#   1. 300 pings at 100/s through rule 50: far fewer answered, within
#      generous bounds of burst + pps × duration; tp1 (the sending TP)
#      counts them as rate_limited and against rule 50; tp3 (receiving,
#      twice the burst) clips nothing of what a conforming tp1 sent; the
#      verification export carries the per-rule count
#   2. 300 UDP datagrams at 100/s through rule 51 all pass (and their echo)
#   3. rule 51 logged exactly one line per new flow on tp1 (egress) and on
#      tp3 (ingress); rule 52 logged its denials; nothing was dropped
#      from the log rings
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/tpdlab.sh"
PROBE="python3 $HERE/../lib/probe.py"
trap tpdlab_cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tlr}"
tpdlab_bundle 1 "$HERE/plant.yaml"
tpdlab_up
for tp in tp1 tp3; do tpdlab_start "$tp" "$W/plant-1.tpb"; done
SERVERS=()
ip netns exec "$PFX-z3-h1" $PROBE udp-server 5000 &
SERVERS+=($!)
trap 'kill ${SERVERS[*]} 2>/dev/null || true; tpdlab_cleanup' EXIT
sleep 0.3

rule_limited() { # TP KEY: the per-rule rate-limited count
	tpdlab_ctl "$1" --json counters |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["rule_rate_limited"].get(sys.argv[1], 0))' "$2"
}

# the tunnel up (a first packet waits for the handshake), then the
# bucket full again
tpdlab_exec z1-h1 ping -c2 -i0.3 -W2 10.3.0.10 >/dev/null || tpdlab_fail "ping z1 -> z3 (warm-up)"
sleep 1.5

# --- 1. the rate-limited conduit ---------------------------------------------
c0=$(tpdlab_counter tp1 rate_limited)
r0=$(rule_limited tp1 50:ping-z1-z3-limited)
t0=$(date +%s.%N)
out=$(tpdlab_exec z1-h1 ping -q -c300 -i0.01 -W1 10.3.0.10 2>&1 || true)
t1=$(date +%s.%N)
c1=$(tpdlab_counter tp1 rate_limited)
r1=$(rule_limited tp1 50:ping-z1-z3-limited)
c3=$(tpdlab_counter tp3 rate_limited)
python3 - "$out" "$t0" "$t1" "$c0" "$c1" "$r0" "$r1" "$c3" <<'PY' || tpdlab_fail "rate limit: $out"
import re, sys
out, t0, t1 = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
c0, c1, r0, r1, c3 = map(int, sys.argv[4:9])
m = re.search(r"(\d+) packets transmitted, (\d+) (packets )?received", out)
sent, got = int(m.group(1)), int(m.group(2))
dur = t1 - t0
expect = 20 + 20 * dur
print(f"rate limit 20 pps, burst 20: {sent} pings in {dur:.2f} s, {got} answered "
      f"(burst + pps x duration = {expect:.0f}); tp1 rate_limited +{c1 - c0}, "
      f"rule 50 +{r1 - r0}; tp3 rate_limited {c3}")
assert sent == 300, "ping did not send 300"
assert got < sent / 2, "the limit did not bite"
assert 0.5 * 20 * dur <= got <= expect + 15, "answered count outside the bounds"
assert c1 - c0 >= sent - got - 5, "rate_limited did not count the drops"
assert r1 - r0 == c1 - c0, "per-rule count differs from the drop counter"
assert c3 == 0, "the receiving TP clipped a conforming sender"
PY
tpdlab_ctl tp1 counters | grep -A2 "^rule rate-limited" | grep -q "50:ping-z1-z3-limited" ||
	tpdlab_fail "tpctl counters: no rule rate-limited line: $(tpdlab_ctl tp1 counters)"
tpdlab_ctl tp1 export "$W/tp1-export.json" || tpdlab_fail "tp1: tpctl export"
python3 - "$W/tp1-export.json" "$r1" <<'PY' || tpdlab_fail "export: rule 50 rate_limited"
import json, sys
rules = {r["id"]: r for r in json.load(open(sys.argv[1]))["rules"]}
assert rules[50]["rate_limited"] == int(sys.argv[2]), rules[50]
assert "rate_limited" not in rules[51], rules[51]  # no rate_limit on rule 51
PY
tpdlab_log "rate limit enforced on tp1, counted per reason, per rule and in the export"

# --- 2. the unlimited conduit between the same zones -----------------------------
# one socket (one flow) sends 300 datagrams at 100/s; then 4 short flows
got=$(tpdlab_exec z1-h1 python3 -c '
import socket, sys, time
def flow(n, gap):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.1.0.10", 0))
    s.settimeout(0.01)
    got = 0
    for i in range(n):
        s.sendto(b"x%d" % i, ("10.3.0.10", 5000))
        time.sleep(gap)
        try:
            while True:
                s.recv(100); got += 1
        except socket.timeout:
            pass
    s.settimeout(1.0)
    try:
        while got < n:
            s.recv(100); got += 1
    except socket.timeout:
        pass
    print(s.getsockname()[1], got, file=sys.stderr)
    return got
total = flow(300, 0.01)
print(total, sum(flow(3, 0.01) for _ in range(4)))
' 2>"$W/udp-ports.txt")
read -r big small <<<"$got"
[ "$big" = 300 ] || tpdlab_fail "unlimited UDP conduit: $big of 300 datagrams echoed"
[ "$small" = 12 ] || tpdlab_fail "unlimited UDP conduit: $small of 12 datagrams echoed (short flows)"
tpdlab_log "unlimited conduit z1 -> z3: 300 of 300 datagrams and their echoes passed"

# --- 3. the flow log -------------------------------------------------------------
tpdlab_exec z1-h1 $PROBE tcp 10.3.0.10 23 1 && tpdlab_fail "TCP z1 -> z3:23 passed (denied)"
sleep 0.5 # the control thread drains the log rings every housekeeping tick
for tp in tp1:egress tp3:ingress; do
	n=${tp%%:*} side=${tp##*:}
	lines=$(grep -c "rule 51 \"udp-z1-z3-logged\" allow udp 10.1.0.10:[0-9]* -> 10.3.0.10:5000 zones z1 -> z3 ($side)" "$W/$n.log" || true)
	[ "$lines" = 5 ] || tpdlab_fail "$n: $lines flow-log lines for rule 51, expected 5 (one per flow): $(grep 'rule 51' "$W/$n.log")"
	while read -r port _; do
		k=$(grep -c "10.1.0.10:$port -> 10.3.0.10:5000 .*($side)" "$W/$n.log" || true)
		[ "$k" = 1 ] || tpdlab_fail "$n: $k log lines for the flow from port $port"
	done <"$W/udp-ports.txt"
	[ "$(tpdlab_counter "$n" log_dropped)" = 0 ] || tpdlab_fail "$n: log records dropped"
done
grep -q "rule 50 " "$W/tp1.log" && tpdlab_fail "rule 50 (no log flag) was logged"
grep -Eq "tpd: flow [0-9T:.-]+Z rule 52 \"no-telnet-z1-z3\" deny tcp 10.1.0.10:[0-9]+ -> 10.3.0.10:23 zones z1 -> z3 \(egress\)" \
	"$W/tp1.log" || tpdlab_fail "tp1: no flow-log line for the denied telnet"
grep "rule 51" "$W/tp1.log" | head -1
tpdlab_log "flow log: one line per new flow of rule 51 on both TPs, denials of rule 52 logged"
echo PASS
