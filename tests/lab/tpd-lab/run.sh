#!/usr/bin/env bash
# tpd end to end in the lab (LAB_PREFIX tlp, LAB_ROUTING=none): one tpd per
# TP in xdp mode with the lab plant (plant-a.yaml) compiled and signed.
#
#   1. allowed flows work, with replies: TCP 502 z1->z2, ICMP echo z1->z3
#      (v4) and z3->z1 (v6), UDP 5000 z2->z4
#   2. denied flows fail and their counter rises: the responder of the
#      TCP conduit cannot open (tp2 policy_deny), ICMP z1->z2 (default deny
#      at tp1), z4->z1 (no conduit: the zone XDP program drops it), and a
#      spoofed source on z1's LAN (XDP anti-spoof)
#   3. the transit bridge only ever carries WireGuard UDP (capture)
#   4. policy B applied during an iperf3 UDP run between z2 and z4 loses no
#      datagram, and cuts the revoked ping z1->z3 within 1 s
#   5. tp2 killed (SIGKILL) and restarted without a bundle in its config
#      comes back with its last-known-good (version 2) and forwards
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/tpdlab.sh"
PROBE="python3 $HERE/../lib/probe.py"
trap tpdlab_cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tlp}" # another prefix: two worktrees at once
tpdlab_bundle 1 "$HERE/plant-a.yaml"
tpdlab_bundle 2 "$HERE/plant-b.yaml"
tpdlab_up

# the transit capture runs for the whole test
ip netns exec "$PFX-transit" tcpdump -ni br0 -w "$W/transit.pcap" -U >/dev/null 2>&1 &
TCPDUMP=$!
trap 'kill $TCPDUMP 2>/dev/null || true; tpdlab_cleanup' EXIT

for tp in tp1 tp2 tp3; do tpdlab_start "$tp" "$W/plant-1.tpb"; done
for tp in tp1 tp2 tp3; do
	grep -q "^policy *version 1" <<<"$(tpdlab_ctl "$tp" status)" || tpdlab_fail "$tp: no policy v1"
done
tpdlab_log "3 tpd up with policy version 1"

# servers
SERVERS=()
serve() { ip netns exec "$PFX-$1" $PROBE "$2" "$3" & SERVERS+=($!); }
serve z2-h1 tcp-server 502
serve z2-h1 tcp-server 503
serve z1-h1 tcp-server 502
serve z4-h1 udp-server 5000
trap 'kill $TCPDUMP ${SERVERS[*]} 2>/dev/null || true; tpdlab_cleanup' EXIT
sleep 0.5

# --- 1. allowed --------------------------------------------------------------
tpdlab_exec z1-h1 $PROBE tcp 10.2.0.10 502 3 || tpdlab_fail "TCP z1 -> z2:502 (allowed)"
tpdlab_exec z1-h1 $PROBE tcp fd00:2::a 502 3 || tpdlab_fail "TCP z1 -> [fd00:2::a]:502 (allowed)"
tpdlab_exec z1-h1 ping -c3 -i0.2 -W2 10.3.0.10 >/dev/null || tpdlab_fail "ping z1 -> z3 (allowed)"
tpdlab_exec z3-h1 ping -6 -c3 -i0.2 -W2 fd00:1::a >/dev/null || tpdlab_fail "ping6 z3 -> z1 (allowed)"
tpdlab_exec z2-h1 $PROBE udp 10.4.0.10 5000 2 || tpdlab_fail "UDP z2 -> z4:5000 (allowed)"
tpdlab_log "allowed flows pass with their replies"
# path MTU: inner MTU = 1500 - 60 (IPv4 transit); too big gets ICMP back
c0=$(tpdlab_counter tp1 mtu_exceeded)
out=$(tpdlab_exec z1-h1 ping -M do -s 1420 -c2 -i0.3 -W1 10.3.0.10 2>&1 || true)
grep -Eq "mtu ?= ?1440" <<<"$out" || tpdlab_fail "no fragmentation-needed with MTU 1440: $out"
out=$(tpdlab_exec z3-h1 ping -6 -M do -s 1420 -c2 -i0.3 -W1 fd00:1::a 2>&1 || true)
grep -Eq "mtu ?= ?1440" <<<"$out" || tpdlab_fail "no packet-too-big with MTU 1440: $out"
[ "$(tpdlab_counter tp1 mtu_exceeded)" -gt "$c0" ] || tpdlab_fail "tp1: mtu_exceeded did not rise"
tpdlab_exec z1-h1 ping -M do -s 1412 -c1 -W2 10.3.0.10 >/dev/null || tpdlab_fail "1440-byte ping"
tpdlab_log "too-big packets answered with ICMP (MTU 1440), packets of 1440 bytes pass"
[ "$(tpdlab_counter tp2 10:modbus-z1-z2)" -ge 2 ] || tpdlab_fail "tp2: rule 10 hits"
[ "$(tpdlab_counter tp1 20:ping-z1-z3)" -ge 1 ] || tpdlab_fail "tp1: rule 20 hits"
tpdlab_ctl tp1 --json peers | python3 -c '
import json, sys
p = {x["name"]: x for x in json.load(sys.stdin)["peers"]}
assert p["tp2"]["state"] == "up" and p["tp2"]["tx_bytes"] > 0, p' || tpdlab_fail "tp1: peer tp2 not up"
st=$(tpdlab_ctl tp1 flows)
grep -q "10.1.0.10:.*10.2.0.10:502 *10 " <<<"$st" || tpdlab_fail "tp1 flows: no TCP 502 flow: $st"

# --- 2. denied ---------------------------------------------------------------
c0=$(tpdlab_counter tp2 policy_deny)
if tpdlab_exec z2-h1 $PROBE tcp 10.1.0.10 502 1; then
	tpdlab_fail "TCP z2 -> z1:502: the responder opened a connection"
fi
[ "$(tpdlab_counter tp2 policy_deny)" -gt "$c0" ] || tpdlab_fail "tp2: policy_deny did not rise"
c0=$(tpdlab_counter tp1 policy_deny)
if tpdlab_exec z1-h1 ping -c2 -i0.2 -W1 10.2.0.10 >/dev/null; then
	tpdlab_fail "ping z1 -> z2 passed (no rule allows it)"
fi
[ "$(tpdlab_counter tp1 policy_deny)" -ge $((c0 + 2)) ] || tpdlab_fail "tp1: policy_deny (ping)"
if tpdlab_exec z1-h1 $PROBE tcp 10.2.0.10 503 1; then
	tpdlab_fail "TCP z1 -> z2:503 passed (only 502 is allowed)"
fi
c0=$(tpdlab_ctl tp3 --json counters | python3 -c 'import json,sys; print(json.load(sys.stdin)["xdp"]["zone"].get("drop_no_conduit", 0))')
if tpdlab_exec z4-h1 ping -c2 -i0.2 -W1 10.1.0.10 >/dev/null; then
	tpdlab_fail "ping z4 -> z1 passed (rule 90 denies it)"
fi
c1=$(tpdlab_ctl tp3 --json counters | python3 -c 'import json,sys; print(json.load(sys.stdin)["xdp"]["zone"].get("drop_no_conduit", 0))')
[ "$c1" -ge $((c0 + 2)) ] || tpdlab_fail "tp3: XDP drop_no_conduit $c0 -> $c1"
# a host on z1's LAN claiming an address of z2
c0=$(tpdlab_ctl tp1 --json counters | python3 -c 'import json,sys; print(json.load(sys.stdin)["xdp"]["zone"].get("drop_spoofed", 0))')
tpdlab_exec z1-h2 ip addr add 10.2.0.99/32 dev eth0
tpdlab_exec z1-h2 ping -c2 -i0.2 -W1 -I 10.2.0.99 10.3.0.10 >/dev/null || true
c1=$(tpdlab_ctl tp1 --json counters | python3 -c 'import json,sys; print(json.load(sys.stdin)["xdp"]["zone"].get("drop_spoofed", 0))')
[ "$c1" -ge $((c0 + 2)) ] || tpdlab_fail "tp1: XDP drop_spoofed $c0 -> $c1"
tpdlab_log "denied flows fail and their counters rise"

# --- 4. policy update during iperf3, revoked ping cut within 1 s --------------
kill "${SERVERS[3]}" # UDP 5000 is iperf3's now
wait "${SERVERS[3]}" 2>/dev/null || true
ip netns exec "$PFX-z4-h1" iperf3 -s -p 5000 -1 >/dev/null 2>&1 &
SERVERS+=($!)
sleep 0.3
tpdlab_exec z1-h1 ping -D -i0.01 -W1 -w 8 10.3.0.10 >"$W/ping.log" 2>&1 &
PING=$!
tpdlab_exec z2-h1 iperf3 -c 10.4.0.10 -p 5000 -u -b "$TPDLAB_IPERF_RATE" -l 1200 -t 5 -J >"$W/iperf.json" 2>&1 &
IPERF=$!
sleep 2
t_apply=$(date +%s.%N)
for tp in tp1 tp2 tp3; do
	tpdlab_ctl "$tp" apply "$W/plant-2.tpb" >/dev/null || tpdlab_fail "$tp: apply v2"
done
t_done=$(date +%s.%N)
wait $IPERF || tpdlab_fail "iperf3: $(tail -5 "$W/iperf.json")"
wait $PING || true
tpdlab_iperf_lossless "$W/iperf.json" "during the update"
python3 - "$W/ping.log" "$t_apply" "$t_done" <<'PY' || tpdlab_fail "policy update"
import re, sys
t_apply, t_done = float(sys.argv[2]), float(sys.argv[3])
replies = [float(m.group(1)) for m in re.finditer(r"^\[(\d+\.\d+)\] \d+ bytes from", open(sys.argv[1]).read(), re.M)]
before = [t for t in replies if t < t_apply]
after = [t for t in replies if t > t_done]
assert len(before) > 20, f"ping did not work before the update ({len(before)} replies)"
last = max(replies)
print(f"revoked ping: last reply {last - t_apply:+.3f} s after the apply began (applies took {t_done - t_apply:.3f} s)")
assert last - t_apply < 1.0, "revoked flow still passing after 1 s"
PY
[ "$(tpdlab_counter tp1 revoked)" -ge 1 ] || tpdlab_fail "tp1: no flow counted as revoked"
grep -q "^policy *version 2" <<<"$(tpdlab_ctl tp3 status)" || tpdlab_fail "tp3: not on version 2"
tpdlab_log "policy v2: iperf3 flow kept every datagram, revoked ping cut"

# --- 5. restart with the last-known-good ---------------------------------------
tpdlab_stop tp2 KILL
tpdlab_start tp2
grep -q "policy version 2 from last-known-good" "$W/tp2.log" || tpdlab_fail "tp2: no LKG at restart"
grep -q "^policy *version 2" <<<"$(tpdlab_ctl tp2 status)" || tpdlab_fail "tp2: status after restart"
tpdlab_exec z1-h1 $PROBE tcp 10.2.0.10 502 5 || tpdlab_fail "TCP z1 -> z2:502 after tp2 restart"
tpdlab_log "tp2 restarted with its last-known-good policy"

# --- 3. the transit bridge carried only WireGuard ------------------------------
sleep 0.5
kill $TCPDUMP 2>/dev/null || true
wait $TCPDUMP 2>/dev/null || true
n_wg=$(tcpdump -nr "$W/transit.pcap" 'udp port 51820' 2>/dev/null | wc -l)
# Besides WireGuard: ARP, link-local control (ND, MLD, IGMP), and the
# kernel's "port unreachable" while a tpd is not (yet, or no longer) there.
other=$(tcpdump -nr "$W/transit.pcap" \
	'ip and not (udp port 51820) and not (icmp and icmp[icmptype] == 3 and icmp[icmpcode] == 3) and not dst net 224.0.0.0/24' \
	2>/dev/null | head -5)
other6=$(tcpdump -nr "$W/transit.pcap" 'ip6 and not (udp port 51820) and not src net fe80::/10' \
	2>/dev/null | head -5)
[ "$n_wg" -gt 1000 ] || tpdlab_fail "only $n_wg WireGuard packets captured"
[ -z "$other$other6" ] || tpdlab_fail "non-WireGuard traffic on transit: $other $other6"
if tcpdump -nr "$W/transit.pcap" 2>/dev/null | grep -Eq '10\.[1-4]\.[0-9]+\.[0-9]+|fd00:[1-4]:'; then
	tpdlab_fail "an inner address appears in clear on the transit network"
fi
tpdlab_log "transit: $n_wg WireGuard packets, nothing else, no inner address in clear"
echo PASS
