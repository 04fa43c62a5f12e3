#!/usr/bin/env bash
# tpd with an IPv6 transit network (LAB_PREFIX tl6): the lab plant with
# every TP endpoint on the transit's IPv6 prefix. tp1 and tp3 only.
#
#   1. IPv4 and IPv6 inner traffic crosses with replies (ICMP z1 -> z3,
#      ICMPv6 z3 -> z1), carried by WireGuard over IPv6 UDP
#   2. inner MTU = 1500 - 80 = 1420: a bigger packet with DF gets
#      fragmentation-needed / packet-too-big with MTU 1420 (counted), a
#      1420-byte packet passes
#   3. the transit bridge carried WireGuard over IPv6 only: no IPv4 UDP,
#      no inner address in clear
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/tpdlab.sh"
trap tpdlab_cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tl6}"
tpdlab_up
# each TP's endpoint: its IPv6 transit address instead of the IPv4 one,
# both as the lab gave them
cp "$S/deploy/examples/lab-plant.yaml" "$W/plant-v6.yaml"
for tp in tp1 tp2 tp3; do
	a4=$("$LAB" addr "$tp" 4) a6=$("$LAB" addr "$tp" 6)
	grep -q "\[$a4:51820\]" "$W/plant-v6.yaml" || tpdlab_fail "$tp: no endpoint $a4:51820 in the lab plant"
	sed -i "s/\[$a4:51820\]/[\"[$a6]:51820\"]/" "$W/plant-v6.yaml"
done
tpdlab_bundle 1 "$W/plant-v6.yaml"

ip netns exec "$PFX-transit" tcpdump -ni br0 -w "$W/transit.pcap" -U >/dev/null 2>"$W/tcpdump.err" &
TCPDUMP=$!
trap 'kill $TCPDUMP 2>/dev/null || true; tpdlab_cleanup' EXIT
# capturing before the first handshake (a loaded machine starts it late)
for _ in $(seq 100); do
	grep -q "listening on" "$W/tcpdump.err" 2>/dev/null && break
	sleep 0.05
done
grep -q "listening on" "$W/tcpdump.err" || tpdlab_fail "tcpdump did not start: $(cat "$W/tcpdump.err")"

for tp in tp1 tp3; do tpdlab_start "$tp" "$W/plant-1.tpb"; done
tpdlab_log "tp1 and tp3 up with IPv6 endpoints"

# --- 1. traffic both ways ------------------------------------------------------
tpdlab_exec z1-h1 ping -c3 -i0.2 -W2 10.3.0.10 >/dev/null || tpdlab_fail "ping z1 -> z3 over IPv6 transit"
tpdlab_exec z3-h1 ping -6 -c3 -i0.2 -W2 fd00:1::a >/dev/null || tpdlab_fail "ping6 z3 -> z1 over IPv6 transit"
tpdlab_ctl tp1 --json peers | python3 -c '
import json, sys
p = {x["name"]: x for x in json.load(sys.stdin)["peers"]}
assert p["tp3"]["state"] == "up" and p["tp3"]["endpoint"].startswith("[2001:db8:0:ffff::d]"), p["tp3"]' ||
	tpdlab_fail "tp1: peer tp3 not up on its IPv6 endpoint"
tpdlab_log "inner IPv4 and IPv6 cross the IPv6 transit with replies"

# --- 2. MTU 1420 ---------------------------------------------------------------
c0=$(tpdlab_counter tp1 mtu_exceeded)
out=$(tpdlab_exec z1-h1 ping -M do -s 1400 -c2 -i0.3 -W1 10.3.0.10 2>&1 || true)
grep -Eq "mtu ?= ?1420" <<<"$out" || tpdlab_fail "no fragmentation-needed with MTU 1420: $out"
c3=$(tpdlab_counter tp3 mtu_exceeded)
out=$(tpdlab_exec z3-h1 ping -6 -M do -s 1400 -c2 -i0.3 -W1 fd00:1::a 2>&1 || true)
grep -Eq "mtu ?= ?1420" <<<"$out" || tpdlab_fail "no packet-too-big with MTU 1420: $out"
[ "$(tpdlab_counter tp1 mtu_exceeded)" -gt "$c0" ] || tpdlab_fail "tp1: mtu_exceeded did not rise"
[ "$(tpdlab_counter tp3 mtu_exceeded)" -gt "$c3" ] || tpdlab_fail "tp3: mtu_exceeded did not rise"
# 1392 + 8 + 20 = 1420 bytes (IPv4); 1372 + 8 + 40 = 1420 (IPv6)
tpdlab_exec z1-h1 ping -M do -s 1392 -c1 -W2 10.3.0.10 >/dev/null || tpdlab_fail "1420-byte ping"
tpdlab_exec z3-h1 ping -6 -M do -s 1372 -c1 -W2 fd00:1::a >/dev/null || tpdlab_fail "1420-byte ping6"
tpdlab_log "inner MTU 1420: too big answered with ICMP, 1420 bytes pass"

# --- 3. the transit carried WireGuard over IPv6 only ---------------------------
sleep 0.5
kill $TCPDUMP 2>/dev/null || true
wait $TCPDUMP 2>/dev/null || true
n_wg6=$(tcpdump -nr "$W/transit.pcap" 'ip6 and udp port 51820' 2>/dev/null | wc -l)
n_v4udp=$(tcpdump -nr "$W/transit.pcap" 'ip and udp' 2>/dev/null | wc -l)
# at least the handshake and the 3 + 3 echo requests with their replies
[ "$n_wg6" -ge 14 ] || tpdlab_fail "only $n_wg6 WireGuard-over-IPv6 packets captured"
[ "$n_v4udp" -eq 0 ] || tpdlab_fail "$n_v4udp IPv4 UDP packets on the transit"
if tcpdump -nr "$W/transit.pcap" 2>/dev/null | grep -Eq '10\.[1-4]\.[0-9]+\.[0-9]+|fd00:[1-4]:'; then
	tpdlab_fail "an inner address appears in clear on the transit network"
fi
tpdlab_log "transit: $n_wg6 WireGuard packets over IPv6, no IPv4 UDP, no inner address in clear"
echo PASS
