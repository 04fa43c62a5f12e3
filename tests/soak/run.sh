#!/usr/bin/env bash
# tests/soak/run.sh MINUTES — the soak with faults (RELIABILITY.md section 2).
#
# The lab plant (LAB_PREFIX tsk): tp1 and tp3 run tpd, tp2 is a stock
# wireguard-go with kernel routing, and `tpolicy serve` on the transit
# network (192.0.2.250) is the controller of tp1 and tp3 (tests/soak/site.yaml).
# Traffic, for the whole run (tests/soak/traffic.py):
#   udp     z2-h1 -> z4-h1:5000, 100 datagrams/s numbered  (wireguard-go -> tp3)
#   modbus  z1-h1 -> z2-h1:502, a read every 0.1 s through the profile (tp1 -> wg)
#   ping    z3-h1 -> z1-h1, every 0.2 s                    (tp3 -> tp1)
#   tcp     iperf3 z2-h1 -> z4-h1:5001 at 20 Mbit/s, 20 s runs back to back
# Every minute a fault, in this order, round and round:
#   kill-tpd      tp1 SIGKILLed, restarted (it boots on its last-known-good)
#   kill-ctl      the controller SIGKILLed, restarted 5 s later
#   push          the site file edited (conduit 60 in or out): a new version
#                 that tp1 and tp3 must both run
#   link-flap     tp3's transit link down for 3 s (the bridge's end: a cable pulled)
#   hs-flood      10 s of handshake initiations to tp1 and tp3 from 64
#                 addresses of a rogue host on the transit network, half
#                 with a valid mac1
#   flow-flood    10 s of UDP from z2-h2 into the telemetry conduit, each
#                 datagram from a new source port (a new flow at tp3)
# It asserts, and fails on the first that does not hold:
#   - no crash: tpd (tp1 between its kills, tp3 throughout), wireguard-go and
#     the controller are alive at every check (every 5 s); no sanitizer report
#   - memory: tp3's resident set (never restarted) in the last quarter of
#     the run is at most 5 % + 4 MiB above the first quarter's
#   - loss only inside a fault's window: every lost datagram, unanswered
#     ping and failed Modbus poll lies in [fault start - 1 s, fault end +
#     GRACE] of a fault that may lose traffic (kill-tpd, link-flap, hs-flood,
#     flow-flood); kill-ctl and push must lose nothing
#   - nothing in clear on the transit network: no packet there with an inner
#     (zone) address, from the first to the last second
#   - counters: on tp3 and tp1, every packet the XDP program redirected to
#     tpd was received by tpd or counted lost by the socket; every packet a
#     port received reached a verdict (tpctl's exits and drops)
# Results in $SOAK_OUT (default: the work directory, removed at the end):
# summary.txt (also printed), faults.log, rss.log, floods.txt (what each
# flood sent; around each flow-flood, what its path counted lost), the
# flows' logs.
#
#   SOAK_GRACE   seconds after a fault's end in which loss is allowed (15)
set -euo pipefail
MINUTES=${1:?usage: tests/soak/run.sh MINUTES}
HERE=$(cd "$(dirname "$0")" && pwd)
: "${TP_SOURCE_DIR:=$(cd "$HERE/../.." && pwd)}" "${TP_BUILD_DIR:=$TP_SOURCE_DIR/build}"
export TP_SOURCE_DIR TP_BUILD_DIR
. "$HERE/../lab/lib/tpdlab.sh"
TRAFFIC="python3 $HERE/traffic.py"
GRACE=${SOAK_GRACE:-15}
CTL_ADDR=192.0.2.250
command -v wireguard-go >/dev/null || { echo "wireguard-go not installed" >&2; exit 1; }

WG=tskwg$$
WG_PID= DUMP_PID=
BG=()
cleanup() {
	local rc=$?
	# only these PIDs: a bare wait would wait for the tpds too
	if [ ${#BG[@]} -gt 0 ]; then
		kill "${BG[@]}" 2>/dev/null || true
		wait "${BG[@]}" 2>/dev/null || true
	fi
	[ -z "$DUMP_PID" ] || { kill "$DUMP_PID" 2>/dev/null || true; wait "$DUMP_PID" 2>/dev/null || true; }
	tpdlab_serve_stop
	[ -z "$WG_PID" ] || { kill "$WG_PID" 2>/dev/null || true; wait "$WG_PID" 2>/dev/null || true; }
	if [ -n "${SOAK_OUT:-}" ] && [ -d "${W:-}" ]; then
		mkdir -p "$SOAK_OUT"
		cp "$W"/*.log "$W"/*.txt "$W"/*.json "$W"/*.pcap "$SOAK_OUT"/ 2>/dev/null || true
	fi
	tpdlab_cleanup
	exit $rc
}
trap cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tsk}"
export TPDLAB_CONTROLLER=$CTL_ADDR:7443
tpdlab_up
tx() { ip netns exec "$PFX-transit" "$@"; }
tx ip addr add $CTL_ADDR/24 dev br0
# the rogue host's 64 addresses, on the transit bridge
for i in $(seq 100 163); do tx ip addr add 192.0.2.$i/32 dev br0; done
mkdir -p "$W/site" "$W/serve"
cp "$HERE/site.yaml" "$W/site/site.yaml"
now() { date +%s.%N; }

# --- the controller ----------------------------------------------------------
start_serve() { tpdlab_serve_start $CTL_ADDR; }
ctl_status() { tpdlab_serve_status "$@"; }
ctl_version() { ctl_status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }
tp_version() { tpdlab_ctl "$1" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["version"])'; }
# wait_version V: tp1 and tp3 both run version V or a later one (30 s)
wait_version() {
	local tp v
	for tp in tp1 tp3; do
		for _ in $(seq 300); do
			v=$(tp_version $tp 2>/dev/null) || v=0
			[ "$v" -ge "$1" ] && continue 2
			sleep 0.1
		done
		tpdlab_fail "$tp does not run version $1 (it runs $v)"
	done
}

# --- tp2: wireguard-go with kernel routing -----------------------------------
wgx() { ip netns exec "$PFX-tp2" "$@"; }
start_wg() {
	wgx sysctl -qw net.ipv4.ip_forward=1
	# not through wgx(): $! must be wireguard-go itself (ip netns exec and
	# env exec it), or killing it would leave it running
	ip netns exec "$PFX-tp2" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error \
		wireguard-go -f "$WG" >"$W/wg.log" 2>&1 &
	WG_PID=$!
	for _ in $(seq 50); do wgx ip link show "$WG" >/dev/null 2>&1 && break; sleep 0.1; done
	wgx ip link show "$WG" >/dev/null 2>&1 || tpdlab_fail "wireguard-go did not come up: $(cat "$W/wg.log")"
	pub() { "$TPOLICY_BIN" keygen --public <"$S/deploy/examples/lab-keys/$1.key"; }
	wgx wg set "$WG" private-key "$W/tp2.key" listen-port 51820 \
		peer "$(pub tp1)" endpoint 192.0.2.11:51820 allowed-ips 10.1.0.0/16 \
		peer "$(pub tp3)" endpoint 192.0.2.13:51820 allowed-ips 10.3.0.0/16,10.4.0.0/16
	wgx ip link set "$WG" up
	for p in 10.1.0.0/16 10.3.0.0/16 10.4.0.0/16; do wgx ip route add "$p" dev "$WG"; done
}

# --- up ------------------------------------------------------------------------
start_serve
start_wg
tpdlab_start tp1
tpdlab_start tp3
V=$(ctl_version)
wait_version "$V"
tpdlab_log "controller on version $V, tp1 and tp3 run it, wireguard-go is tp2"

# nothing in clear on the transit: any packet with a zone address there
ip netns exec "$PFX-transit" tcpdump -n -i br0 -U -w "$W/clear.pcap" 'net 10.0.0.0/8 or net fd00::/16' \
	>"$W/tcpdump.log" 2>&1 &
DUMP_PID=$!

bg() { # bg NODE CMD...: a background process in a lab node
	local node=$1
	shift
	ip netns exec "$PFX-$node" "$@" &
	BG+=($!)
}
bg z4-h1 $TRAFFIC seq-recv 5000 "$W/udp.txt"
bg z2-h1 python3 "$S/tests/lab/tpd-modbus/modbus.py" server 502
bg z4-h1 iperf3 -s -p 5001 >"$W/iperf-server.log" 2>&1
sleep 0.5
bg z2-h1 $TRAFFIC seq-send 10.4.0.10 5000 100
bg z1-h1 $TRAFFIC modbus-poll 10.2.0.10 0.1 "$W/modbus.txt"
bg z3-h1 ping -D -n -i 0.2 -W 1 10.1.0.10 >"$W/ping.txt" 2>&1
bg z2-h1 bash -c "while :; do iperf3 -c 10.4.0.10 -p 5001 -t 20 -b 20M -J >>'$W/iperf.json' 2>&1; echo '#end' >>'$W/iperf.json'; sleep 0.5; done"
T0=$(now)
echo "$T0" >"$W/start.txt"
tpdlab_log "traffic running; $MINUTES minutes, a fault a minute"

# --- checks every 5 s: alive, memory --------------------------------------------
SKIP_ALIVE=
check_alive() {
	local tp
	for tp in tp1 tp3; do
		[ "$tp" = "$SKIP_ALIVE" ] && continue
		kill -0 "${TPD_PID[$tp]}" 2>/dev/null || tpdlab_fail "tpd $tp died (see $tp.log)"
	done
	kill -0 "$WG_PID" 2>/dev/null || tpdlab_fail "wireguard-go died"
	[ "$SKIP_ALIVE" = ctl ] || kill -0 "$SERVE_PID" 2>/dev/null || tpdlab_fail "the controller died"
}
sample_rss() {
	local tp rss
	for tp in tp1 tp3; do
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/${TPD_PID[$tp]}/status" 2>/dev/null) || continue
		echo "$(now) $tp ${TPD_PID[$tp]} $rss" >>"$W/rss.log"
	done
}
# sleep_checking SECONDS: wait, checking every 5 s
sleep_checking() {
	local end
	end=$(python3 -c "print($(now) + $1)")
	while python3 -c "import sys; sys.exit(0 if $(now) < $end else 1)"; do
		check_alive
		sample_rss
		sleep "$(python3 -c "print(max(0.1, min(5, $end - $(now))))")"
	done
}

# --- the faults -----------------------------------------------------------------
# fault NAME LOSSY: run fault_NAME and log "NAME LOSSY START END" in faults.log
fault() {
	local name=$1 lossy=$2 t0 t1
	t0=$(now)
	tpdlab_log "fault: $name"
	"fault_${name//-/_}"
	t1=$(now)
	echo "$name $lossy $t0 $t1" >>"$W/faults.log"
}
fault_kill_tpd() {
	SKIP_ALIVE=tp1
	tpdlab_stop tp1 KILL
	tpdlab_start tp1
	SKIP_ALIVE=
	grep -q "from last-known-good" "$W/tp1.log" || tpdlab_fail "tp1 did not boot on its last-known-good: $(tail -5 "$W/tp1.log")"
}
fault_kill_ctl() {
	SKIP_ALIVE=ctl
	tpdlab_serve_stop KILL
	sleep 5
	start_serve
	SKIP_ALIVE=
	# back: both TPs reconnect and run what it publishes
	V=$(ctl_version)
	wait_version "$V"
}
PUSHES=0
fault_push() {
	local v v0
	v0=$(ctl_version)
	python3 - "$W/site/site.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
extra = """  - id: 60
    name: soak-push-z3-z4
    from: z3
    to: z4
    action: allow
    proto: udp
    dst_ports: [6000]
"""
s = s.replace(extra, "") if extra in s else s.replace("conduits:\n", "conduits:\n" + extra, 1)
open(p, "w").write(s)
PY
	for _ in $(seq 100); do
		v=$(ctl_version)
		[ "$v" -gt "$v0" ] && break
		sleep 0.1
	done
	[ "$v" -gt "$v0" ] || tpdlab_fail "the controller did not move past version $v0: $(tail -3 "$W/serve.log")"
	V=$v
	wait_version "$V"
	PUSHES=$((PUSHES + 1))
}
fault_link_flap() {
	tx ip link set tp3 down
	sleep 3
	tx ip link set tp3 up
}
fault_hs_flood() {
	local src=() i
	for i in $(seq 100 163); do src+=(192.0.2.$i); done
	tx $TRAFFIC hs-flood 10 0 "$("$TPOLICY_BIN" keygen --public <"$W/tp1.key")" \
		192.0.2.11:51820 "${src[@]}" >>"$W/floods.txt" &
	local a=$!
	tx $TRAFFIC hs-flood 10 0 "$("$TPOLICY_BIN" keygen --public <"$W/tp3.key")" \
		192.0.2.13:51820 "${src[@]}" >>"$W/floods.txt"
	wait "$a"
}
# path_drops WHEN: a line "path WHEN NODE:COUNTS..." in floods.txt, what
# every node on the flood's path (the udp flow's too: z2-h1/z2-h2 -> tp2,
# wireguard-go -> transit -> tp3 -> z4-h1) has counted lost so far; the
# verdict prints the difference across each flood and what no counter holds
path_drops() {
	local n line="path $1"
	for n in z2-h1 z2-h2 tp2 transit z4-h1; do
		line+=" $n:$(ip netns exec "$PFX-$n" $TRAFFIC drops)"
	done
	line+=" tp3:$(tpdlab_ctl tp3 --json counters | python3 "$HERE/counters.py")"
	echo "$line" >>"$W/floods.txt"
}
fault_flow_flood() {
	path_drops before
	tpdlab_exec z2-h2 $TRAFFIC flow-flood 10 10.4.0.10 5000 >>"$W/floods.txt"
	sleep 1 # what is still in flight
	path_drops after
}

FAULTS=(kill-tpd:1 kill-ctl:0 push:0 link-flap:1 hs-flood:1 flow-flood:1)
END=$(python3 -c "print($T0 + $MINUTES * 60)")
k=0
while :; do
	# the next fault one minute after the last one began (the first after 30 s)
	next=$(python3 -c "print($T0 + 30 + 60 * $k)")
	if python3 -c "import sys; sys.exit(0 if $next + 20 > $END else 1)"; then break; fi
	sleep_checking "$(python3 -c "print(max(0, $next - $(now)))")"
	f=${FAULTS[$((k % ${#FAULTS[@]}))]}
	fault "${f%%:*}" "${f##*:}"
	k=$((k + 1))
done
sleep_checking "$(python3 -c "print(max(0, $END - $(now)))")"
T1=$(now)
echo "$T1" >"$W/end.txt"
tpdlab_log "run over after $k faults; stopping traffic"

# --- stop the traffic, let it drain ---------------------------------------------
kill "${BG[@]}" 2>/dev/null || true
wait "${BG[@]}" 2>/dev/null || true
BG=()
# iperf3 runs under a bash loop: the one running now
ip netns pids "$PFX-z2-h1" | xargs -r kill 2>/dev/null || true
sleep 2
kill "$DUMP_PID" 2>/dev/null || true
wait "$DUMP_PID" 2>/dev/null || true
DUMP_PID=
check_alive
for tp in tp1 tp3; do tpdlab_ctl "$tp" --json counters >"$W/counters-$tp.txt"; done

# --- the verdicts -------------------------------------------------------------------
python3 "$HERE/verdict.py" "$W" "$GRACE" "$PUSHES" | tee "$W/summary.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || tpdlab_fail "soak assertions failed (summary above)"
echo PASS
