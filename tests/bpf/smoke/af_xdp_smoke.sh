#!/usr/bin/env bash
# AF_XDP smoke test: DPDK's net_af_xdp PMD loads OUR programs through its
# xdp_prog= devarg, redirects through OUR xsks_map, and tp_xdp drives the maps
# of the program the PMD attached.
#
#   tpb-host (10.1.0.2) --veth-- tpb-tp [tpb-z0: zone.bpf.o]     dpdk-testpmd
#   tpb-peer (192.0.2.2) --veth-- tpb-tp [tpb-t0: transit.bpf.o]  rxonly, 2 ports
#
# Asserts: (a) tp_xdp_zone / tp_xdp_transit are the programs attached;
# (b) packets the programs redirect reach testpmd (its RX count equals our
# redirect counters) and each class of traffic moves its own counter.
# Needs root, dpdk-testpmd (package dpdk-dev), python3. Label: root.
# (grep without -q after a pipe: -q exits early and pipefail then fails
# the pipeline on the writer's SIGPIPE.)
set -euo pipefail

B=${TP_BUILD_DIR:?TP_BUILD_DIR not set}
CTL=$B/tests/tp_xdp_ctl
NS_TP=tpb-tp NS_HOST=tpb-host NS_PEER=tpb-peer
PREFIX=tpb-smoke
LOG=
pid=

fail() {
	echo "FAIL: $*" >&2
	if [ -n "$LOG" ] && [ -s "$LOG" ]; then
		echo "--- testpmd output (tail) ---" >&2
		tr -d '\033' <"$LOG" | grep -v '^\s*$' | tail -25 >&2
	fi
	exit 1
}

cleanup() {
	set +e
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid"
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	fi
	ip netns del $NS_TP 2>/dev/null
	ip netns del $NS_HOST 2>/dev/null
	ip netns del $NS_PEER 2>/dev/null
	rm -rf /var/run/dpdk/$PREFIX
	[ -z "$LOG" ] || rm -f "$LOG"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" -eq 0 ] || fail "needs root"
command -v dpdk-testpmd >/dev/null || fail "dpdk-testpmd missing (package dpdk-dev)"
[ -x "$CTL" ] || fail "$CTL not built"
for o in zone transit; do [ -f "$B/bpf/$o.bpf.o" ] || fail "$B/bpf/$o.bpf.o not built"; done

in_tp() { ip netns exec $NS_TP "$@"; }
counter() { # KIND IF NAME
	in_tp "$CTL" "$2" "$1" counters | awk -v n="$3" '$1 == n { print $2 }'
}

# ---- namespaces ----
cleanup # leftovers of an earlier run that was killed
LOG=$(mktemp /tmp/tpb-testpmd.XXXXXX)
ip netns add $NS_TP
ip netns add $NS_HOST
ip netns add $NS_PEER
ip link add tpb-z0 netns $NS_TP type veth peer name tpb-h0 netns $NS_HOST
ip link add tpb-t0 netns $NS_TP type veth peer name tpb-p0 netns $NS_PEER
ip -n $NS_TP link set lo up
ip -n $NS_TP addr add 10.1.0.1/24 dev tpb-z0
ip -n $NS_TP addr add 192.0.2.1/24 dev tpb-t0
ip -n $NS_TP link set tpb-z0 up
ip -n $NS_TP link set tpb-t0 up
ip -n $NS_HOST addr add 10.1.0.2/24 dev tpb-h0
ip -n $NS_HOST addr add 10.7.0.2/24 dev tpb-h0 # a source in no zone
ip -n $NS_HOST link set tpb-h0 up
ip -n $NS_HOST route add 10.2.0.0/16 via 10.1.0.1
ip -n $NS_HOST route add 10.3.0.0/16 via 10.1.0.1
ip -n $NS_PEER addr add 192.0.2.2/24 dev tpb-p0
ip -n $NS_PEER link set tpb-p0 up

# ---- testpmd with both programs ----
# AF_XDP umem needs locked memory; root with CAP_IPC_LOCK is exempt where
# the limit cannot be raised (containers).
ulimit -l unlimited 2>/dev/null || true
ip netns exec $NS_TP dpdk-testpmd -l 0,1 --no-huge -m 256 --no-pci --file-prefix $PREFIX \
	--vdev "net_af_xdp0,iface=tpb-z0,xdp_prog=$B/bpf/zone.bpf.o" \
	--vdev "net_af_xdp1,iface=tpb-t0,xdp_prog=$B/bpf/transit.bpf.o" \
	-- --forward-mode=rxonly --nb-cores=1 --total-num-mbufs=16384 --stats-period 1 \
	</dev/null >"$LOG" 2>&1 &
pid=$!
for _ in $(seq 100); do
	grep -q "Port statistics" "$LOG" && break
	kill -0 $pid 2>/dev/null || { cat "$LOG"; fail "testpmd exited"; }
	sleep 0.2
done
grep -q "Port statistics" "$LOG" || { cat "$LOG"; fail "testpmd did not start forwarding"; }

# (a) our programs are attached, and tp_xdp finds them by ifindex
ip -n $NS_TP -d link show tpb-z0 | grep "prog/xdp .*name tp_xdp_zone " >/dev/null ||
	fail "tp_xdp_zone not attached to tpb-z0"
ip -n $NS_TP -d link show tpb-t0 | grep "prog/xdp .*name tp_xdp_transit " >/dev/null ||
	fail "tp_xdp_transit not attached to tpb-t0"
in_tp bpftool net show dev tpb-z0 | grep "tpb-z0.*driver id" >/dev/null || fail "bpftool net: no native XDP"
in_tp "$CTL" tpb-z0 zone check || fail "tp_xdp_open(tpb-z0) failed"
in_tp "$CTL" tpb-t0 transit check || fail "tp_xdp_open(tpb-t0) failed"
echo "ok: programs attached by the PMD (native mode)"

# ---- tables and settings through tp_xdp ----
in_tp "$CTL" tpb-z0 zone apply 10.1.0.0/24=1 10.2.0.0/24=2 10.3.0.0/24=3 \
	local=1 pair=1:2 addr=10.1.0.1
# The ports' MACs (the PMD makes them promiscuous), and 1 handshake per
# second per source, burst 5: a burst of 30 loses at least 20
zmac=$(ip -n $NS_TP -br link show tpb-z0 | awk '{ print $3 }')
tmac=$(ip -n $NS_TP -br link show tpb-t0 | awk '{ print $3 }')
in_tp "$CTL" tpb-z0 zone config mac="$zmac"
in_tp "$CTL" tpb-t0 transit config port=51820 rate=1 burst=5 mac="$tmac" addr=192.0.2.1

# ---- zone port traffic ----
ip netns exec $NS_HOST ping -q -c 3 -i 0.2 -W 1 10.1.0.1 >/dev/null || fail "ping to the TP failed"
ip netns exec $NS_HOST ping -q -c 20 -i 0.02 -W 0.1 10.2.0.5 >/dev/null || true
ip netns exec $NS_HOST ping -q -c 5 -i 0.02 -W 0.1 10.3.0.5 >/dev/null || true
ip netns exec $NS_HOST ping -q -c 5 -i 0.02 -W 0.1 -I 10.7.0.2 10.2.0.5 >/dev/null || true

# ---- transit port traffic ----
ip netns exec $NS_PEER python3 - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = bytes([4, 0, 0, 0]) + bytes(44)          # type 4, 48 bytes
init = bytes([1, 0, 0, 0]) + bytes(144)         # type 1, 148 bytes
for _ in range(10):
    s.sendto(data, ("192.0.2.1", 51820))
for _ in range(30):
    s.sendto(init, ("192.0.2.1", 51820))
for _ in range(3):
    s.sendto(b"x", ("192.0.2.1", 5353))
EOF
sleep 1

z_redirect=$(counter zone tpb-z0 redirect)
t_data=$(counter transit tpb-t0 redirect_data)
t_hs=$(counter transit tpb-t0 redirect_handshake)
in_tp "$CTL" tpb-z0 zone counters | sed 's/^/  zone    /'
in_tp "$CTL" tpb-t0 transit counters | sed 's/^/  transit /'

check_ge() { # NAME VALUE MIN
	[ "$2" -ge "$3" ] || fail "counter $1 = $2, expected >= $3"
}
check_ge zone.redirect "$z_redirect" 20
check_ge zone.pass_to_tp "$(counter zone tpb-z0 pass_to_tp)" 3
check_ge zone.pass_arp "$(counter zone tpb-z0 pass_arp)" 1
check_ge zone.drop_no_conduit "$(counter zone tpb-z0 drop_no_conduit)" 5
check_ge zone.drop_spoofed "$(counter zone tpb-z0 drop_spoofed)" 5
check_ge transit.redirect_data "$t_data" 10
check_ge transit.redirect_handshake "$t_hs" 5
check_ge transit.drop_hs_ratelimit "$(counter transit tpb-t0 drop_hs_ratelimit)" 20
check_ge transit.pass_other_udp "$(counter transit tpb-t0 pass_other_udp)" 3
[ "$(counter zone tpb-z0 xsk_miss)" -eq 0 ] || fail "zone xsk_miss: socket not in xsks_map"
[ "$(counter zone tpb-z0 drop_other_host)" -eq 0 ] || fail "zone: our own MAC taken for another"

# ---- stop testpmd, compare what it received ----
kill -INT $pid
wait $pid || true
pid=
rx_port() { # PORT -> RX-total of the forward statistics
	awk -v p="$1" '$0 ~ "Forward statistics for port " p " " { f = 1; next }
		f && /RX-total:/ { print $NF; exit }' "$LOG"
}
rx0=$(rx_port 0)
rx1=$(rx_port 1)
echo "testpmd RX: port 0 (zone) $rx0, port 1 (transit) $rx1"
[ "$rx0" = "$z_redirect" ] || fail "testpmd port 0 got $rx0 packets, zone program redirected $z_redirect"
[ "$rx1" = "$((t_data + t_hs))" ] ||
	fail "testpmd port 1 got $rx1 packets, transit program redirected $((t_data + t_hs))"
ip -n $NS_TP link show tpb-z0 | grep "prog/xdp" >/dev/null && fail "program still attached after testpmd exit"
echo "PASS: af_xdp smoke"
