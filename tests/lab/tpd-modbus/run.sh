#!/usr/bin/env bash
# The Modbus/TCP profile end to end (TPDLAB_PREFIX tlm): conduit 10 z1->z2
# TCP 502 allows unit 1, function 3, registers 0-99 (plant-modbus.yaml).
# A Modbus server (modbus.py) in z2-h1, the client in z1-h1.
#
#   1. tp1 runs the plain lab plant (no profile: a sender that does not
#      check, as a compromised or outdated TP would), tp2 the profile: tp2,
#      the receiving side, is authoritative and drops what the profile
#      forbids after decryption
#   2. tp1 gets the profile too: tp1 drops before encrypting
# Both times: a read of registers 0-9 is answered with the right data (also
# with the ADU split over two TCP segments); a write (fc 6), a read at
# register 500 and a read on unit 2 get no answer, and modbus_function,
# modbus_register, modbus_unit and rule 10's profile drops rise on the TP
# that enforces.
#   3. a loss behind both TPs: the server's host drops the client's first
#      two requests once (nftables, by transaction id and length, so not
#      their retransmission); Linux resends them coalesced in one segment,
#      which both TPs compare with what they checked and pass; the answers
#      come and the connection goes on (no modbus_out_of_order).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/tpdlab.sh"
MB="python3 $HERE/modbus.py"
trap tpdlab_cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tlm}"
tpdlab_bundle 2 "$HERE/plant-modbus.yaml"
tpdlab_up
tpdlab_start tp1 "$W/plant-1.tpb"
tpdlab_start tp2 "$W/plant-2.tpb"
grep -q "^policy *version 1" <<<"$(tpdlab_ctl tp1 status)" || tpdlab_fail "tp1: no policy v1"
grep -q "^policy *version 2" <<<"$(tpdlab_ctl tp2 status)" || tpdlab_fail "tp2: no policy v2"

ip netns exec "$PFX-z2-h1" $MB server 502 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; tpdlab_cleanup' EXIT
sleep 0.5

profile_drops() {
	tpdlab_ctl "$1" --json counters |
		python3 -c 'import json,sys; print(json.load(sys.stdin).get("profile_drops", {}).get("10:modbus-z1-z2", 0))'
}

# expect TP: the profile's checks on the TP that enforces them
expect() {
	local tp=$1 c0 c1 p0 p1
	tpdlab_exec z1-h1 $MB read 10.2.0.10 1 0 10 || tpdlab_fail "read unit 1 registers 0-9"
	tpdlab_exec z1-h1 $MB read 10.2.0.10 1 90 10 --split ||
		tpdlab_fail "read split over two segments"
	p0=$(profile_drops "$tp")
	for check in "write 10.2.0.10 1 5 77:modbus_function" \
		"read 10.2.0.10 1 500 1:modbus_register" \
		"read 10.2.0.10 2 0 10:modbus_unit" \
		"read 10.2.0.10 1 95 10 --split:modbus_register"; do
		local args=${check%%:*} counter=${check##*:} rc=0
		c0=$(tpdlab_counter "$tp" "$counter")
		tpdlab_exec z1-h1 $MB $args || rc=$?
		[ "$rc" -eq 1 ] || tpdlab_fail "$args: answered (exit $rc), the profile forbids it"
		c1=$(tpdlab_counter "$tp" "$counter")
		[ "$c1" -gt "$c0" ] || tpdlab_fail "$tp: $counter did not rise ($c0 -> $c1) for $args"
	done
	p1=$(profile_drops "$tp")
	[ "$p1" -ge $((p0 + 4)) ] || tpdlab_fail "$tp: rule 10 profile drops $p0 -> $p1"
	# the server's answers are never checked, and the read still works
	tpdlab_exec z1-h1 $MB read 10.2.0.10 1 0 99 || tpdlab_fail "read 0-98 after the drops"
}

# --- 1. the receiving TP enforces --------------------------------------------
expect tp2
[ "$(tpdlab_counter tp1 modbus_function)" -eq 0 ] || tpdlab_fail "tp1 (no profile) dropped Modbus"
tpdlab_log "tp2 (receiver) enforces the profile after decryption"

# --- 2. the sending TP enforces too -------------------------------------------
tpdlab_ctl tp1 apply "$W/plant-2.tpb" >/dev/null || tpdlab_fail "tp1: apply v2"
n2=$(tpdlab_counter tp2 modbus_function)
expect tp1
[ "$(tpdlab_counter tp2 modbus_function)" -eq "$n2" ] ||
	tpdlab_fail "tp2 saw a write that tp1 should have dropped"
tpdlab_log "tp1 (sender) enforces the profile before encryption"

# --- 3. a segment lost behind both TPs, then a coalesced retransmission -----
# No TCP timestamps on the client: its data starts 20 bytes into the TCP
# header, and a 12-byte request is an IPv4 packet of 52 bytes. The first
# transmissions (and the tail loss probe of the second) are dropped; the
# resend of both in one segment (64 bytes) is counted and let through.
ip netns exec "$PFX-z1-h1" sysctl -qw net.ipv4.tcp_timestamps=0
ip netns exec "$PFX-z2-h1" nft -f - <<'EOF'
table ip tlm_loss {
	chain input {
		type filter hook input priority 0; policy accept;
		ip length 52 tcp dport 502 @th,160,16 0xaaa1 counter drop
		ip length 52 tcp dport 502 @th,160,16 0xaaa2 counter drop
		ip length 64 tcp dport 502 @th,160,16 0xaaa1 @th,256,16 0xaaa2 counter accept
	}
}
EOF
declare -A ooo
for tp in tp1 tp2; do
	ooo[$tp]=$(tpdlab_counter $tp modbus_out_of_order)
done
tpdlab_exec z1-h1 $MB pipeline 10.2.0.10 1 0 10 2 0xaaa1 ||
	tpdlab_fail "two requests lost behind the TPs: no answer after their retransmission"
rules=$(ip netns exec "$PFX-z2-h1" nft list table ip tlm_loss)
hit=$(grep -c 'packets [1-9]' <<<"$rules") || true
[ "$hit" -eq 3 ] ||
	tpdlab_fail "not both requests lost, then resent coalesced past both TPs: $rules"
for tp in tp1 tp2; do
	[ "$(tpdlab_counter $tp modbus_out_of_order)" -eq "${ooo[$tp]}" ] ||
		tpdlab_fail "$tp: the coalesced retransmission was dropped as out of order"
	[ "$(tpdlab_counter $tp modbus_retransmit_differs)" -eq 0 ] ||
		tpdlab_fail "$tp: an unaltered retransmission counted as altered"
done
ip netns exec "$PFX-z2-h1" nft delete table ip tlm_loss
tpdlab_log "a loss behind both TPs: the coalesced retransmission passed both, the session went on"
tpdlab_ctl tp1 counters | grep -E "modbus|profile|10:" || true
echo PASS
