#!/usr/bin/env bash
# Interop over an IPv6 transit network (LAB_PREFIX tlw6): tp2 of the lab
# plant is a stock wireguard-go with kernel routing in its namespace, tp1
# and tp3 run tpd, and every endpoint is the TP's IPv6 transit address.
# A stock peer's kernel drops UDP over IPv6 whose checksum is wrong, so this
# only works if every datagram tpd sends (handshake initiation, response,
# keepalive, data) carries a correct one.
#
#   1. traffic both ways through wireguard-go: TCP z1 -> z2:502 (tp1
#      initiates towards wireguard-go, replies come back), UDP z2 -> z4:5000
#      (wireguard-go's side speaks first), inner IPv4 and IPv6
#   2. both wireguard-go peers have completed a handshake with tpd
#   3. on the transit bridge: WireGuard over IPv6 only, and every datagram
#      from a tpd carries a correct UDP checksum (tcpdump -vv: "udp sum ok",
#      never "bad udp cksum")
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../lab/lib/tpdlab.sh"
PROBE="python3 $HERE/../../lab/lib/probe.py"
command -v wireguard-go >/dev/null || { echo "wireguard-go not installed" >&2; exit 1; }
WG=tlw6wg$$
WG_PID=
TCPDUMP=
SERVERS=()
cleanup() {
	kill ${SERVERS[*]} 2>/dev/null || true
	[ -z "$TCPDUMP" ] || kill "$TCPDUMP" 2>/dev/null || true
	[ -z "$WG_PID" ] || { kill "$WG_PID" 2>/dev/null || true; wait "$WG_PID" 2>/dev/null || true; }
	tpdlab_cleanup
}
trap cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tlw6}"
tpdlab_up
declare -A A6=()
cp "$S/tests/lab/tpd-lab/plant-a.yaml" "$W/plant-v6.yaml"
for tp in tp1 tp2 tp3; do
	a4=$("$LAB" addr "$tp" 4) A6[$tp]=$("$LAB" addr "$tp" 6)
	grep -q "\[$a4:51820\]" "$W/plant-v6.yaml" || tpdlab_fail "$tp: no endpoint $a4:51820 in plant A"
	sed -i "s/\[$a4:51820\]/[\"[${A6[$tp]}]:51820\"]/" "$W/plant-v6.yaml"
done
tpdlab_bundle 1 "$W/plant-v6.yaml"

ip netns exec "$PFX-transit" tcpdump -ni br0 -w "$W/transit.pcap" -U >/dev/null 2>"$W/tcpdump.err" &
TCPDUMP=$!
for _ in $(seq 100); do
	grep -q "listening on" "$W/tcpdump.err" 2>/dev/null && break
	sleep 0.05
done
grep -q "listening on" "$W/tcpdump.err" || tpdlab_fail "tcpdump did not start: $(cat "$W/tcpdump.err")"

# tp2 = wireguard-go + kernel routing (its namespace is a plain router)
wgx() { ip netns exec "$PFX-tp2" "$@"; }
wgx sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
wgx env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error wireguard-go -f "$WG" >"$W/wg.log" 2>&1 &
WG_PID=$!
for _ in $(seq 50); do wgx ip link show "$WG" >/dev/null 2>&1 && break; sleep 0.1; done
wgx ip link show "$WG" >/dev/null 2>&1 || tpdlab_fail "wireguard-go did not come up: $(cat "$W/wg.log")"
pub() { "$B/tpolicy" keygen --public <"$S/deploy/examples/lab-keys/$1.key"; }
wgx wg set "$WG" private-key "$W/tp2.key" listen-port 51820 \
	peer "$(pub tp1)" endpoint "[${A6[tp1]}]:51820" allowed-ips 10.1.0.0/16,fd00:1::/64 \
	peer "$(pub tp3)" endpoint "[${A6[tp3]}]:51820" \
	allowed-ips 10.3.0.0/16,10.4.0.0/16,fd00:3::/64,fd00:4::/64
wgx ip link set "$WG" up
for p in 10.1.0.0/16 10.3.0.0/16 10.4.0.0/16; do wgx ip route add "$p" dev "$WG"; done
for p in fd00:1::/64 fd00:3::/64 fd00:4::/64; do wgx ip -6 route add "$p" dev "$WG"; done

for tp in tp1 tp3; do tpdlab_start "$tp" "$W/plant-1.tpb"; done
serve() { ip netns exec "$PFX-$1" $PROBE "$2" "$3" & SERVERS+=($!); }
serve z2-h1 tcp-server 502
serve z4-h1 udp-server 5000
sleep 0.5

# --- 1. traffic both ways ------------------------------------------------------
tpdlab_exec z1-h1 $PROBE tcp 10.2.0.10 502 5 || tpdlab_fail "TCP z1 -> z2:502 through wireguard-go over IPv6"
tpdlab_exec z1-h1 $PROBE tcp fd00:2::a 502 3 || tpdlab_fail "TCP z1 -> [fd00:2::a]:502 over IPv6"
tpdlab_exec z2-h1 $PROBE udp 10.4.0.10 5000 3 || tpdlab_fail "UDP z2 -> z4:5000 from wireguard-go over IPv6"
tpdlab_exec z2-h1 $PROBE udp fd00:4::a 5000 3 || tpdlab_fail "UDP z2 -> [fd00:4::a]:5000 over IPv6"
tpdlab_log "allowed flows pass both ways between tpd and wireguard-go over IPv6"

# --- 2. handshakes -------------------------------------------------------------
wgx wg show "$WG" latest-handshakes | awk '$2 == 0 { exit 1 }' || tpdlab_fail "wireguard-go: a peer without handshake"
for tp in tp1 tp3; do
	tpdlab_ctl "$tp" --json peers | python3 -c '
import json, sys
p = {x["name"]: x for x in json.load(sys.stdin)["peers"]}
assert p["tp2"]["state"] == "up" and p["tp2"]["endpoint"].startswith("[2001:db8:0:ffff::"), p["tp2"]' ||
		tpdlab_fail "$tp: peer tp2 (wireguard-go) not up on its IPv6 endpoint"
done
tpdlab_log "wireguard-go and both tpds completed handshakes over IPv6"

# --- 3. the wire -----------------------------------------------------------------
sleep 0.5
kill "$TCPDUMP" 2>/dev/null || true
wait "$TCPDUMP" 2>/dev/null || true
TCPDUMP=
n_v4wg=$(tcpdump -nr "$W/transit.pcap" 'ip and udp port 51820' 2>/dev/null | wc -l)
[ "$n_v4wg" -eq 0 ] || tpdlab_fail "$n_v4wg WireGuard packets over IPv4 on the transit"
from_tpd="ip6 and udp port 51820 and (src host ${A6[tp1]} or src host ${A6[tp3]})"
tcpdump -vv -nr "$W/transit.pcap" "$from_tpd" 2>/dev/null >"$W/from-tpd.txt"
n=$(grep -c "UDP, length" "$W/from-tpd.txt" || true)
ok=$(grep -c "udp sum ok" "$W/from-tpd.txt" || true)
bad=$(grep -c "bad udp cksum" "$W/from-tpd.txt" || true)
echo "transit: $n WireGuard datagrams from tpd over IPv6, $ok with a correct UDP checksum, $bad bad"
# not vacuous: a handshake message (initiation 148 or response 92 bytes of
# UDP payload) and more; how many the capture keeps of the rest varies with
# the load (the sanitizer build), the checksum of each one does not
n_hs=$(grep -cE "UDP, length (148|92)$" "$W/from-tpd.txt" || true)
[ "$n" -ge 4 ] && [ "$n_hs" -ge 1 ] ||
	tpdlab_fail "only $n datagrams from tpd captured ($n_hs handshake messages)"
[ "$bad" -eq 0 ] && [ "$ok" -eq "$n" ] ||
	tpdlab_fail "UDP checksums from tpd: $ok ok, $bad bad of $n: $(grep -m3 'bad udp' "$W/from-tpd.txt")"
tpdlab_log "every datagram tpd sent over IPv6 carries a correct UDP checksum"
echo PASS
