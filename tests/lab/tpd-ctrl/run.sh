#!/usr/bin/env bash
# Issue 6 acceptance in the lab (LAB_PREFIX tlw): `tpolicy serve` runs in
# the transit namespace on the transit bridge (192.0.2.250), three tpd (xdp
# mode, no bundle in their config) connect to it as their controller.
#   1. every TP acks version 1 (`tpolicy status --wait`), enforces it, and
#      `tpctl status` shows the state, the session and the acked version
#   2. the site file is edited (a conduit z1->z2 tcp/503 added): every TP
#      runs version 2, and the new flow passes where it failed before
#   3. the controller killed: TPs go to island and keep enforcing; tp2
#      killed and restarted comes back on its last-known-good (version 2)
#      before the controller returns, and forwards
#   4. the controller back: every TP reconnects, version 3 pushed by SIGHUP;
#      asked for their exports (SIGUSR1 -> ExportRequest), the TPs answer
#      with tpctl export's document and `tpolicy verify` passes on them
#   5. 100 pushes in a row while iperf3 UDP runs z2->z4 through an allowed
#      conduit: every TP ends on the last version, no nack, no datagram lost
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/tpdlab.sh"
PROBE="python3 $HERE/../lib/probe.py"
CTL_ADDR=192.0.2.250
SERVERS=()
stop_serve() { tpdlab_serve_stop "$@"; }
cleanup() {
	stop_serve
	kill "${SERVERS[@]}" 2>/dev/null || true
	tpdlab_cleanup
}
trap cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tlw}"
export TPDLAB_CONTROLLER=$CTL_ADDR:7443
tpdlab_up
tx() { ip netns exec "$PFX-transit" "$@"; }
tx ip addr add $CTL_ADDR/24 dev br0
mkdir -p "$W/site" "$W/serve"
# the lab plant plus the iperf3 conduits z2 -> z4 (tpd-lab's plant B)
cp "$HERE/../tpd-lab/plant-b.yaml" "$W/site/site.yaml"

start_serve() { tpdlab_serve_start $CTL_ADDR; }
status() { tpdlab_serve_status "$@"; }
ctl_version() { status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }
tp_json() { # tp_json TP EXPR: a field of tpctl --json status
	tpdlab_ctl "$1" --json status | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)"
}
serve() { ip netns exec "$PFX-$1" $PROBE "$2" "$3" & SERVERS+=($!); }

# --- 1. version 1 from the controller ---------------------------------------
start_serve
for tp in tp1 tp2 tp3; do tpdlab_start "$tp"; done
status --wait 1 --timeout 30 >"$W/status1.txt" || tpdlab_fail "not every TP on version 1: $(cat "$W/status1.txt")"
for tp in tp1 tp2 tp3; do
	st=$(tpdlab_ctl "$tp" status)
	grep -q "^policy *version 1" <<<"$st" || tpdlab_fail "$tp: not enforcing version 1: $st"
	grep -q "^state *enforcing" <<<"$st" || tpdlab_fail "$tp: state: $st"
	grep -q "^controller.*established, last acked version 1" <<<"$st" ||
		tpdlab_fail "$tp: controller line: $st"
done
serve z2-h1 tcp-server 502
serve z2-h1 tcp-server 503
sleep 0.5
tpdlab_exec z1-h1 $PROBE tcp 10.2.0.10 502 5 || tpdlab_fail "TCP z1 -> z2:502 on version 1"
! tpdlab_exec z1-h1 $PROBE tcp 10.2.0.10 503 2 || tpdlab_fail "TCP z1 -> z2:503 passed on version 1"
# the TPs' Status reaches the controller: policy state and tunnel peers
status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
for t in s["tps"]:
    assert t["policy_state"] == 2, t              # enforcing
    assert t["tunnel_peers"] == 2, t              # full mesh of three
    assert "policy_applied" in t["counters"], t
' || tpdlab_fail "tpolicy status --json: $(status --json)"
tpdlab_log "version 1 pushed, acked by every TP and enforced; tpctl status shows the session"

# --- 2. the site file edited ---------------------------------------------------
python3 - "$W/site/site.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("conduits:\n", """conduits:
  - id: 11
    name: opcua-z1-z2
    from: z1
    to: z2
    action: allow
    proto: tcp
    dst_ports: [503]
""", 1)
open(p, "w").write(s)
PY
status --wait 2 --timeout 30 >"$W/status2.txt" || tpdlab_fail "not every TP on version 2: $(cat "$W/status2.txt"; tail "$W/serve.log")"
tpdlab_exec z1-h1 $PROBE tcp 10.2.0.10 503 5 || tpdlab_fail "TCP z1 -> z2:503 on version 2"
tpdlab_exec z1-h1 $PROBE tcp 10.2.0.10 502 5 || tpdlab_fail "TCP z1 -> z2:502 on version 2"
tpdlab_log "site edited: every TP on version 2, traffic follows it"

# --- 3. controller down, tp2 restarted on its LKG ----------------------------
stop_serve KILL
for _ in $(seq 50); do
	[ "$(tp_json tp1 's["policy"]["state"]')" = island ] && break
	sleep 0.2
done
[ "$(tp_json tp1 's["policy"]["state"]')" = island ] || tpdlab_fail "tp1 not in island mode"
tpdlab_stop tp2 KILL
tpdlab_start tp2
grep -q "policy version 2 from last-known-good" "$W/tp2.log" || tpdlab_fail "tp2: no LKG at restart"
[ "$(tp_json tp2 's["policy"]["version"]')" = 2 ] || tpdlab_fail "tp2: not on version 2 after restart"
tpdlab_exec z1-h1 $PROBE tcp 10.2.0.10 503 5 || tpdlab_fail "TCP z1 -> z2:503 with the controller down"
tpdlab_log "controller down: island, tp2 restarted on its last-known-good and forwards"

# --- 4. the controller back ----------------------------------------------------
start_serve
kill -HUP "$SERVE_PID"
sleep 0.5
V=$(ctl_version)
[ "$V" -ge 3 ] || tpdlab_fail "serve did not move past version 2 ($V)"
status --wait "$V" --timeout 60 >"$W/status3.txt" || tpdlab_fail "not every TP back on $V: $(cat "$W/status3.txt")"
tpdlab_log "controller back: every TP reconnected and runs version $V"

# --- the controller collects the exports (ExportRequest, on SIGUSR1) --------
kill -USR1 "$SERVE_PID"
for _ in $(seq 100); do
	[ -s "$W/serve/exports/tp1.json" ] && [ -s "$W/serve/exports/tp2.json" ] &&
		[ -s "$W/serve/exports/tp3.json" ] && break
	sleep 0.1
done
ls "$W/serve/exports/"tp{1,2,3}.json >/dev/null || tpdlab_fail "no exports at the controller: $(tail -5 "$W/serve.log")"
tpdlab_ctl tp1 export "$W/tp1-local.json" || tpdlab_fail "tpctl export"
# the same document as tpctl's, apart from what moves (time, counters)
python3 - "$W/serve/exports/tp1.json" "$W/tp1-local.json" <<'PY' || tpdlab_fail "controller's export differs from tpctl's"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
for d in (a, b):
    d.pop("exported_at", None)
    d.pop("counters", None)
    d.pop("flows", None)
    for r in d.get("rules", []) or []:
        r.pop("hits", None)
    for p in d.get("peers", []) or []:
        p.pop("last_handshake", None)
assert a == b, [k for k in a if a.get(k) != b.get(k)]
PY
cp "$W/serve/current.tpb" "$W/serve/exports/bundle.tpb"
"$B/tpolicy" verify "$W/serve/exports" --pub "$W/ctl.key.pub" >"$W/verify.txt" 2>&1 ||
	{ cat "$W/verify.txt"; tpdlab_fail "tpolicy verify of the controller's exports"; }
tpdlab_log "the controller collected every TP's export (same document as tpctl export); verify passes"

# --- 5. 100 pushes during iperf3 ---------------------------------------------
ip netns exec "$PFX-z4-h1" iperf3 -s -p 5000 -1 >/dev/null 2>&1 &
SERVERS+=($!)
sleep 0.3
nacks() { local n=0 tp; for tp in tp1 tp2 tp3; do n=$((n + $(tp_json $tp 's["controller"]["nacks"]'))); done; echo $n; }
NACKS0=$(nacks)
tpdlab_exec z2-h1 iperf3 -c 10.4.0.10 -p 5000 -u -b "$TPDLAB_IPERF_RATE" -l 1200 -t 12 -J >"$W/iperf.json" 2>&1 &
IPERF=$!
sleep 1.5
V0=$(ctl_version)
# One version per SIGHUP: each waits until serve published the previous
# one, since signals that arrive while one is pending merge (a loaded
# machine took longer than any fixed gap).
published() { grep -c "published version" "$W/serve.log" || true; }
P0=$(published)
for i in $(seq 100); do
	kill -HUP "$SERVE_PID"
	for _ in $(seq 500); do
		[ "$(published)" -ge $((P0 + i)) ] && break
		sleep 0.01
	done
done
kill -0 $IPERF 2>/dev/null || tpdlab_fail "the 100 pushes outlasted the iperf3 run"
VN=$(ctl_version)
[ $((VN - V0)) -eq 100 ] || tpdlab_fail "100 SIGHUPs published $((VN - V0)) versions"
status --wait "$VN" --timeout 60 >"$W/status4.txt" || tpdlab_fail "not every TP on $VN: $(cat "$W/status4.txt")"
wait $IPERF || tpdlab_fail "iperf3: $(tail -5 "$W/iperf.json")"
NACKS=$(nacks)
[ "$NACKS" = "$NACKS0" ] || tpdlab_fail "nacks during the 100 pushes: $NACKS0 -> $NACKS"
tpdlab_iperf_lossless "$W/iperf.json" "during the pushes"
tpdlab_log "$((VN - V0)) pushes ($V0 -> $VN) during iperf3: every TP on $VN, no nack, no datagram lost"
echo PASS
