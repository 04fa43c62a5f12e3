#!/usr/bin/env bash
# The TP's own kernel is no way around tpd (LAB_PREFIX tnb, DESIGN.md §2.7).
# tp1 and tp3 run tpd; then IP forwarding is turned ON in tp1's namespace
# (after tpd started, so the XDP programs hold alone: writing ip_forward
# turns every port's IPv4 forwarding back on), and the kernel's routing
# table would carry clear packets between tp1's ports.
#
#   1. a host on the transit network (192.0.2.99, 2001:db8:0:ffff::99, route
#      to z1 via tp1) sends clear ICMP, UDP and TCP to z1-h1, and UDP source
#      routed by way of tp1's transit address: nothing reaches z1-h1, and
#      tp1's transit program counts them (drop_not_local, drop_ip_options)
#   2. z1-h1 sends clear ICMP, UDP and TCP to the transit host, and UDP to
#      tp1's own zone address with a loose source route on to the transit
#      host (tp1's kernel set to accept source routes): nothing appears on
#      the transit bridge, counted by tp1's zone program
#   3. tunnel traffic still crosses (z1 <-> z3, IPv4 and IPv6)
#   4. restarting tp1 with IPv6 forwarding on is refused with one line
#      naming net.ipv6.conf.all.forwarding; with only IPv4 forwarding on,
#      tpd turns it off on both ports, says so, and carries traffic again
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/tpdlab.sh"
CAPS=()
cleanup() {
	kill ${CAPS[*]} 2>/dev/null || true
	tpdlab_cleanup
}
trap cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tnb}"
tpdlab_up
for tp in tp1 tp3; do tpdlab_start "$tp" "$W/plant-1.tpb"; done
tpdlab_log "tp1 and tp3 up"

tp1x() { ip netns exec "$PFX-tp1" "$@"; }
trx() { ip netns exec "$PFX-transit" "$@"; }
T1_4=$("$LAB" addr tp1 4) T1_6=$("$LAB" addr tp1 6)
EVIL4=192.0.2.99 EVIL6=2001:db8:0:ffff::99
H4=10.1.0.10 H6=fd00:1::a
xdp() { # KIND COUNTER
	tpdlab_ctl tp1 --json counters | python3 -c '
import json, sys
print(json.load(sys.stdin)["xdp"][sys.argv[1]][sys.argv[2]])' "$1" "$2"
}
xdp_drops() { # KIND: every drop_* counter of the program, summed
	tpdlab_ctl tp1 --json counters | python3 -c '
import json, sys
c = json.load(sys.stdin)["xdp"][sys.argv[1]]
print(sum(v for k, v in c.items() if k.startswith("drop_")))' "$1"
}
# COUNT datagrams to HOST:9 and a TCP connect to HOST:22 (from a lab node)
clear_traffic() { # NODE HOST
	tpdlab_exec "$1" python3 -c '
import socket, sys
h = sys.argv[1]
f = socket.AF_INET6 if ":" in h else socket.AF_INET
u = socket.socket(f, socket.SOCK_DGRAM)
for _ in range(3):
    u.sendto(b"clear", (h, 9))
t = socket.socket(f, socket.SOCK_STREAM)
t.settimeout(1)
try:
    t.connect((h, 22))
except OSError:
    pass' "$2"
	tpdlab_exec "$1" ping -c3 -i0.2 -W1 "$2" >/dev/null 2>&1 || true
}
# UDP to HOST by way of one of tp1's addresses (VIA): an IPv4 loose source
# route (the kernel puts the first hop in the destination, HOST in the option)
source_routed() { # NODE VIA HOST
	tpdlab_exec "$1" python3 -c '
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
lsrr = bytes([131, 7, 4]) + socket.inet_aton(sys.argv[1]) + bytes([1])
u.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, lsrr)
for _ in range(3):
    u.sendto(b"routed", (sys.argv[2], 9))' "$2" "$3"
}
capture() { # NAMESPACE IFACE FILTER FILE
	ip netns exec "$1" tcpdump -ni "$2" -w "$4" -U "$3" >/dev/null 2>"$4.err" &
	CAPS+=($!)
	for _ in $(seq 100); do
		grep -q "listening on" "$4.err" 2>/dev/null && return 0
		sleep 0.05
	done
	tpdlab_fail "tcpdump in $1 did not start: $(cat "$4.err")"
}

# the transit host, routing z1 through tp1's transit address
trx ip addr add "$EVIL4/24" dev br0
trx ip addr add "$EVIL6/64" dev br0 nodad
trx ip route add 10.1.0.0/16 via "$T1_4"
trx ip -6 route add fd00:1::/64 via "$T1_6"

# forwarding ON in tp1's namespace, after tpd started
tp1x sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
	net.ipv4.conf.all.accept_source_route=1 net.ipv4.conf.zone0.accept_source_route=1 \
	net.ipv4.conf.transit0.accept_source_route=1
for s in net.ipv4.conf.zone0.forwarding net.ipv4.conf.transit0.forwarding net.ipv6.conf.all.forwarding; do
	[ "$(tp1x sysctl -n $s)" = 1 ] || tpdlab_fail "$s is not 1: the test proves nothing"
done
# ... and the kernel's routing would carry both directions
tp1x ip route get "$H4" from "$EVIL4" iif transit0 | grep -q "dev zone0" ||
	tpdlab_fail "tp1's kernel has no forwarding route transit -> z1: $(tp1x ip route get "$H4" from "$EVIL4" iif transit0 2>&1)"
tp1x ip -6 route get "$H6" from "$EVIL6" iif transit0 | grep -q "dev zone0" ||
	tpdlab_fail "tp1's kernel has no IPv6 forwarding route transit -> z1"
tp1x ip route get "$EVIL4" from "$H4" iif zone0 | grep -q "dev transit0" ||
	tpdlab_fail "tp1's kernel has no forwarding route z1 -> transit"
tpdlab_log "forwarding on in tp1's namespace: its kernel would route between the ports"

# --- 1. and 2.: clear traffic both ways, captured on the far side ---------------
capture "$PFX-z1-h1" eth0 "src host $EVIL4 or src host $EVIL6" "$W/z1.pcap"
capture "$PFX-transit" br0 "src host $H4 or src host $H6" "$W/transit.pcap"
t0=$(xdp transit drop_not_local) z0=$(xdp_drops zone)
clear_traffic transit "$H4"
clear_traffic transit "$H6"
t1=$(xdp transit drop_not_local)
source_routed transit "$T1_4" "$H4"
clear_traffic z1-h1 "$EVIL4"
clear_traffic z1-h1 "$EVIL6"
source_routed z1-h1 10.1.0.1 "$EVIL4"
z1=$(xdp_drops zone)
sleep 0.5
kill ${CAPS[*]} 2>/dev/null || true
wait ${CAPS[*]} 2>/dev/null || true
CAPS=()
n_z1=$(tcpdump -nr "$W/z1.pcap" 2>/dev/null | wc -l)
n_tr=$(tcpdump -nr "$W/transit.pcap" 2>/dev/null | wc -l)
[ "$n_z1" -eq 0 ] || tpdlab_fail "$n_z1 clear packets from the transit host reached z1-h1: $(tcpdump -nr "$W/z1.pcap" 2>/dev/null | head -3)"
[ "$n_tr" -eq 0 ] || tpdlab_fail "$n_tr clear packets of z1-h1 appeared on the transit: $(tcpdump -nr "$W/transit.pcap" 2>/dev/null | head -3)"
tpdlab_log "nothing crossed tp1 in clear in either direction"
# counted: 2 x (3 UDP + 1 or more TCP SYN + 3 echo requests) each way,
# and the 3 source-routed datagrams
echo "tp1 transit program: drop_not_local +$((t1 - t0)); zone program: drops +$((z1 - z0)) (drop_no_dst_zone $(xdp zone drop_no_dst_zone))"
[ $((t1 - t0)) -ge 14 ] || tpdlab_fail "transit drop_not_local rose by $((t1 - t0)), expected >= 14"
[ $((z1 - z0)) -ge 17 ] || tpdlab_fail "zone program drops rose by $((z1 - z0)), expected >= 17"
for k in zone transit; do
	[ "$(xdp $k drop_ip_options)" -ge 3 ] || tpdlab_fail "$k drop_ip_options: $(xdp $k drop_ip_options)"
done

# --- 3. the tunnel still carries what the policy allows --------------------------
tpdlab_exec z1-h1 ping -c3 -i0.2 -W2 10.3.0.10 >/dev/null || tpdlab_fail "ping z1 -> z3 through the tunnel"
tpdlab_exec z3-h1 ping -6 -c3 -i0.2 -W2 "$H6" >/dev/null || tpdlab_fail "ping6 z3 -> z1 through the tunnel"
tpdlab_log "tunnel traffic crosses with forwarding on"

# --- 4. tpd's own check at start -------------------------------------------------
tpdlab_stop tp1
tpdlab_conf tp1 "$W/plant-1.tpb" >"$W/tp1.conf"
rc=0
timeout 30 ip netns exec "$PFX-tp1" "$B/tpd" --config "$W/tp1.conf" >"$W/refused.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || tpdlab_fail "tpd started (rc $rc) with net.ipv6.conf.all.forwarding = 1"
grep -q "net.ipv6.conf.all.forwarding" "$W/refused.log" ||
	tpdlab_fail "the refusal does not name the sysctl: $(cat "$W/refused.log")"
[ "$(grep -c . "$W/refused.log")" -eq 1 ] || tpdlab_fail "the refusal is not one line: $(cat "$W/refused.log")"
tpdlab_log "refused with IPv6 forwarding on: $(cat "$W/refused.log")"
tp1x sysctl -qw net.ipv6.conf.all.forwarding=0
tpdlab_start tp1 "$W/plant-1.tpb"
for port in zone0 transit0; do
	grep -q "turned off net.ipv4.conf.$port.forwarding" "$W/tp1.log" ||
		tpdlab_fail "tpd did not say it turned off net.ipv4.conf.$port.forwarding"
	[ "$(tp1x sysctl -n net.ipv4.conf.$port.forwarding)" = 0 ] ||
		tpdlab_fail "net.ipv4.conf.$port.forwarding still 1 after tpd started"
done
tpdlab_exec z1-h1 ping -c3 -i0.2 -W2 10.3.0.10 >/dev/null || tpdlab_fail "ping z1 -> z3 after the restart"
tpdlab_log "IPv4 forwarding turned off on both ports, said, traffic carried again"
echo PASS
