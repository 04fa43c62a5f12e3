#!/usr/bin/env bash
# tpd in xdp mode on a veth pair in tpr- namespaces, with the af_xdp PMD's
# default XDP program (bpf/'s programs are not merged yet): it starts,
# receives real frames on both ports, parses them, counts a bad IPv4
# checksum and the no-policy drops, answers tpctl, and on SIGTERM exits 0,
# removes its socket and detaches XDP from both interfaces.
#
#   tpr-x (tpd)                       tpr-h (traffic source)
#   tpr-xz 10.9.0.1  <--- veth --->   tpr-hz 10.9.0.2
#   tpr-xt 10.8.0.1  <--- veth --->   tpr-ht 10.8.0.2
set -euo pipefail
B=${TP_BUILD_DIR:?}
work=$(mktemp -d /tmp/tpr-xdp.XXXXXX)
tpd_pid=
cleanup() {
	if [ -n "$tpd_pid" ]; then
		kill -TERM "$tpd_pid" 2>/dev/null || true
		wait "$tpd_pid" 2>/dev/null || true
	fi
	ip netns del tpr-x 2>/dev/null || true
	ip netns del tpr-h 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	[ -f "$work/tpd.log" ] && cat "$work/tpd.log" >&2
	exit 1
}

ip netns del tpr-x 2>/dev/null || true
ip netns del tpr-h 2>/dev/null || true
ip netns add tpr-x
ip netns add tpr-h
ip link add tpr-xz netns tpr-x type veth peer name tpr-hz netns tpr-h
ip link add tpr-xt netns tpr-x type veth peer name tpr-ht netns tpr-h
ip -n tpr-x addr add 10.9.0.1/24 dev tpr-xz
ip -n tpr-x addr add 10.8.0.1/24 dev tpr-xt
ip -n tpr-h addr add 10.9.0.2/24 dev tpr-hz
ip -n tpr-h addr add 10.8.0.2/24 dev tpr-ht
for l in tpr-xz tpr-xt lo; do ip -n tpr-x link set "$l" up; done
for l in tpr-hz tpr-ht lo; do ip -n tpr-h link set "$l" up; done

umask 077
wg genkey > "$work/key"
cat > "$work/tpd.conf" <<CONF
name = tpr-x
identity_key = $work/key
mode = xdp
zone_interface = tpr-xz
transit_interface = tpr-xt
memory_mb = 128
admin_socket = $work/tpd.sock
CONF
# ip netns exec mounts a fresh /sys without bpffs, so libxdp loads the
# PMD's program directly instead of through its dispatcher.
export LSAN_OPTIONS="suppressions=$(dirname "$0")/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
ip netns exec tpr-x "$B/tpd" --config "$work/tpd.conf" > "$work/tpd.log" 2>&1 &
tpd_pid=$!
for _ in $(seq 300); do
	grep -q "^tpd: tpr-x: running, mode " "$work/tpd.log" && break
	kill -0 "$tpd_pid" 2>/dev/null || break # tpd exited: its log says why
	sleep 0.1
done
grep -q "^tpd: tpr-x: running, mode " "$work/tpd.log" || fail "tpd did not start"
ip -n tpr-x link show tpr-xz | grep -q "prog/xdp" || fail "no XDP program on tpr-xz"
ip -n tpr-x link show tpr-xt | grep -q "prog/xdp" || fail "no XDP program on tpr-xt"

# A second tpd in the same namespace: the tunnel port is taken.
sed "s|^admin_socket = .*|admin_socket = $work/tpd2.sock|; s|^name = .*|name = tpr-x2|" \
	"$work/tpd.conf" > "$work/tpd2.conf"
rc=0
ip netns exec tpr-x "$B/tpd" --config "$work/tpd2.conf" > "$work/tpd2.log" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "second tpd started"
grep -q "^tpd: listen_port 51820/udp: Address already in use" "$work/tpd2.log" ||
	fail "second tpd: $(cat "$work/tpd2.log")"

# The default program takes ARP too, so the source needs static neighbours.
mac() {
	ip -n tpr-x -j link show "$1" |
		python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["address"])'
}
ip -n tpr-h neigh replace 10.9.0.1 lladdr "$(mac tpr-xz)" dev tpr-hz nud permanent
ip -n tpr-h neigh replace 10.8.0.1 lladdr "$(mac tpr-xt)" dev tpr-ht nud permanent

ip netns exec tpr-h ping -c 5 -i 0.05 -W 1 10.9.0.1 > /dev/null 2>&1 || true
ip netns exec tpr-h ping -c 3 -i 0.05 -W 1 10.8.0.1 > /dev/null 2>&1 || true
# one IPv4 frame with a wrong header checksum, raw on the zone link
ip netns exec tpr-h python3 - "$(mac tpr-xz)" <<'PY'
import socket, struct, sys
dst = bytes.fromhex(sys.argv[1].replace(":", ""))
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0xdead,
                 socket.inet_aton("10.9.0.2"), socket.inet_aton("10.9.0.1"))
udp = struct.pack("!HHHH", 40000, 47808, 8, 0)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("tpr-hz", 0))
s.send(dst + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00" + ip + udp)
PY
sleep 0.5

"$B/tpctl" --socket "$work/tpd.sock" --json counters > "$work/c.json" || fail "tpctl counters"
python3 - "$work/c.json" <<'PY' || fail "counters: $(cat "$work/c.json")"
import json, sys
c = json.load(open(sys.argv[1]))
s, d = c["stats"], c["drops"]
assert s["zone_rx_packets"] >= 6, s
assert s["transit_rx_packets"] >= 3, s
# The 5 echo requests on the zone port fail closed (no policy); the 3 on
# the transit port are not tunnel traffic. IPv6 noise on either link (MLD,
# router solicitations) may add to both, so these are lower bounds.
assert d["no_policy"] >= 5, d
assert d["not_tunnel"] >= 3, d
assert d["ip4_bad_checksum"] == 1, d
assert s["zone_tx_packets"] == 0 and s["transit_tx_packets"] == 0, s
PY
"$B/tpctl" --socket "$work/tpd.sock" --json status | grep -q '"neighbors": \[' ||
	fail "status has no neighbour list"
"$B/tpctl" --socket "$work/tpd.sock" status | grep -q "net_af_xdp_zone (tpr-xz), link up" ||
	fail "status"

kill -TERM "$tpd_pid"
rc=0
wait "$tpd_pid" || rc=$?
tpd_pid=
[ $rc = 0 ] || fail "tpd exit code $rc"
[ ! -e "$work/tpd.sock" ] || fail "admin socket left behind"
if ip -n tpr-x link show tpr-xz | grep -q "prog/xdp"; then fail "XDP left on tpr-xz"; fi
if ip -n tpr-x link show tpr-xt | grep -q "prog/xdp"; then fail "XDP left on tpr-xt"; fi
if grep -v '^tpd: \(tpr-x: running\|signal\|stopped\)' "$work/tpd.log" | grep -q .; then
	echo "note: tpd printed:"
	cat "$work/tpd.log"
fi
echo PASS
