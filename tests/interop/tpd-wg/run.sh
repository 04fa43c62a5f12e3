#!/usr/bin/env bash
# Interop: tp2 of the lab plant is a stock wireguard-go with kernel routing
# in its namespace (LAB_PREFIX tlq); tp1 and tp3 run tpd with the lab plant
# (tests/lab/tpd-lab/plant-a.yaml). wireguard-go enforces nothing, so the
# zone behind it is reachable exactly as the policy says because the tpd
# ends enforce it, the receiving one authoritatively:
#   allowed  TCP z1 -> z2:502 (reply through wireguard-go), UDP z2 -> z4:5000
#   denied   ICMP z1 -> z2 (tp1 egress), TCP z2 -> z1:502 (the responder
#            opening: wireguard-go carries it, tp1 drops it on ingress),
#            ICMP z2 -> z3 (tp3 ingress), and a z2 host claiming a z1
#            address (tp1: tunnel_spoof)
#   limited  ICMP z2 -> z1 allowed at 10 pps (burst 10): wireguard-go limits
#            nothing, tp1 holds a ping flood from z2 to the rate on ingress
#            (rate_limited), with twice the burst (dataplane/README.md)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../../lab/lib/tpdlab.sh"
PROBE="python3 $HERE/../../lab/lib/probe.py"
command -v wireguard-go >/dev/null || { echo "wireguard-go not installed" >&2; exit 1; }
WG=tlqwg$$
WG_PID=
SERVERS=()
cleanup() {
	kill ${SERVERS[*]} 2>/dev/null || true
	[ -z "$WG_PID" ] || { kill "$WG_PID" 2>/dev/null || true; wait "$WG_PID" 2>/dev/null || true; }
	tpdlab_cleanup
}
trap cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tlq}"
# plant A plus a rate-limited conduit from the zone behind wireguard-go
awk '/^assertions:/ { print "  - { id: 40, name: ping-z2-z1-limited, from: z2, to: z1, action: allow, proto: icmp, icmp: [echo-request], rate_limit: { pps: 10, burst: 10 } }\n" } { print }' \
	"$S/tests/lab/tpd-lab/plant-a.yaml" >"$W/plant-rl.yaml"
tpdlab_bundle 1 "$W/plant-rl.yaml"
tpdlab_up

# tp2 = wireguard-go + kernel routing
wgx() { ip netns exec "$PFX-tp2" "$@"; }
wgx sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 # a plain router
wgx env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error wireguard-go -f "$WG" >"$W/wg.log" 2>&1 &
WG_PID=$!
for _ in $(seq 50); do wgx ip link show "$WG" >/dev/null 2>&1 && break; sleep 0.1; done
wgx ip link show "$WG" >/dev/null 2>&1 || tpdlab_fail "wireguard-go did not come up: $(cat "$W/wg.log")"
pub() { "$B/tpolicy" keygen --public <"$S/deploy/examples/lab-keys/$1.key"; }
wgx wg set "$WG" private-key "$W/tp2.key" listen-port 51820 \
	peer "$(pub tp1)" endpoint 192.0.2.11:51820 allowed-ips 10.1.0.0/16,fd00:1::/64 \
	peer "$(pub tp3)" endpoint 192.0.2.13:51820 allowed-ips 10.3.0.0/16,10.4.0.0/16,fd00:3::/64,fd00:4::/64
wgx ip link set "$WG" up
for p in 10.1.0.0/16 10.3.0.0/16 10.4.0.0/16; do wgx ip route add "$p" dev "$WG"; done
for p in fd00:1::/64 fd00:3::/64 fd00:4::/64; do wgx ip -6 route add "$p" dev "$WG"; done

for tp in tp1 tp3; do tpdlab_start "$tp" "$W/plant-1.tpb"; done
serve() { ip netns exec "$PFX-$1" $PROBE "$2" "$3" & SERVERS+=($!); }
serve z2-h1 tcp-server 502
serve z1-h1 tcp-server 502
serve z4-h1 udp-server 5000
sleep 0.5

# allowed
tpdlab_exec z1-h1 $PROBE tcp 10.2.0.10 502 5 || tpdlab_fail "TCP z1 -> z2:502 through wireguard-go"
tpdlab_exec z1-h1 $PROBE tcp fd00:2::a 502 3 || tpdlab_fail "TCP z1 -> [fd00:2::a]:502"
tpdlab_exec z2-h1 $PROBE udp 10.4.0.10 5000 3 || tpdlab_fail "UDP z2 -> z4:5000 from wireguard-go"
wgx wg show "$WG" latest-handshakes | awk '$2 == 0 { exit 1 }' || tpdlab_fail "wireguard-go: a peer without handshake"
tpdlab_log "allowed flows pass between tpd and wireguard-go"

# denied
c0=$(tpdlab_counter tp1 policy_deny)
if tpdlab_exec z1-h1 ping -c2 -i0.2 -W1 10.2.0.10 >/dev/null; then tpdlab_fail "ping z1 -> z2 passed"; fi
c1=$(tpdlab_counter tp1 policy_deny)
[ "$c1" -ge $((c0 + 2)) ] || tpdlab_fail "tp1 egress policy_deny $c0 -> $c1"
if tpdlab_exec z2-h1 $PROBE tcp 10.1.0.10 502 1; then
	tpdlab_fail "TCP z2 -> z1:502: the responder opened a connection through wireguard-go"
fi
c2=$(tpdlab_counter tp1 policy_deny)
[ "$c2" -gt "$c1" ] || tpdlab_fail "tp1 ingress policy_deny did not rise ($c1 -> $c2)"
c0=$(tpdlab_counter tp3 policy_deny)
if tpdlab_exec z2-h1 ping -c2 -i0.2 -W1 10.3.0.10 >/dev/null; then tpdlab_fail "ping z2 -> z3 passed"; fi
c1=$(tpdlab_counter tp3 policy_deny)
[ "$c1" -ge $((c0 + 2)) ] || tpdlab_fail "tp3 ingress policy_deny $c0 -> $c1"
# wireguard-go's namespace sends with a z1 source: only tp1 hosts z1
c0=$(tpdlab_counter tp1 tunnel_spoof)
wgx ip addr add 10.1.99.1/32 dev "$WG"
wgx ping -c2 -i0.2 -W1 -I 10.1.99.1 10.1.0.10 >/dev/null 2>&1 || true
c1=$(tpdlab_counter tp1 tunnel_spoof)
[ "$c1" -ge $((c0 + 2)) ] || tpdlab_fail "tp1 tunnel_spoof $c0 -> $c1"
tpdlab_log "denied flows fail at the tpd ends; spoofed source dropped"

# rate limit on ingress: 200 requests in 2 s or more against 10 pps, burst
# 2 x 10 on the receiving side: about 40 answered, never more than the
# rate allows over the time the flood took
c0=$(tpdlab_counter tp1 rate_limited)
out=$(tpdlab_exec z2-h1 ping -c 200 -i 0.01 -W 1 -q 10.1.0.10 2>&1 || true)
got=$(sed -nE 's/.* ([0-9]+) received.*/\1/p' <<<"$out")
ms=$(sed -nE 's/.* time ([0-9]+)ms.*/\1/p' <<<"$out")
c1=$(tpdlab_counter tp1 rate_limited)
# at most the doubled burst plus the rate over the time ping took (+ 1 s)
max=$((20 + 10 * (${ms:-0} / 1000 + 2)))
echo "ping flood z2 -> z1 through a 10 pps conduit: $got of 200 answered in ${ms} ms (at most $max), tp1 rate_limited +$((c1 - c0))"
[ -n "$got" ] && [ -n "$ms" ] && [ "$got" -ge 15 ] && [ "$got" -le "$max" ] ||
	tpdlab_fail "answered $got of 200 in $ms ms (expected 15..$max): $out"
[ $((c1 - c0)) -ge 100 ] || tpdlab_fail "tp1 rate_limited rose by $((c1 - c0)) only"
tpdlab_log "tp1 enforces the rate limit on what wireguard-go sends"
echo PASS
