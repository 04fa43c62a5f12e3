#!/usr/bin/env bash
# Neighbour resolution against the real kernel in a tpr- namespace pair:
# IPv4 (ARP) and IPv6 (ND) peers that nobody has resolved yet, and a
# route through each peer. Namespaces are removed on any exit.
set -euo pipefail
B=${TP_BUILD_DIR:?}
cleanup() {
	ip netns del tpr-n1 2>/dev/null || true
	ip netns del tpr-n2 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add tpr-n1
ip netns add tpr-n2
ip link add tpr-n1a netns tpr-n1 type veth peer name tpr-n2a netns tpr-n2
# No DAD: right after link-up the link-local address is tentative, and the
# kernel's own solicitations for a resolve request (which has no packet to
# borrow a source address from) would go out from :: and race with DAD.
ip netns exec tpr-n1 sysctl -qw net.ipv6.conf.tpr-n1a.accept_dad=0
ip netns exec tpr-n2 sysctl -qw net.ipv6.conf.tpr-n2a.accept_dad=0
ip -n tpr-n1 addr add 10.66.0.1/24 dev tpr-n1a
ip -n tpr-n2 addr add 10.66.0.2/24 dev tpr-n2a
ip -n tpr-n1 addr add fd00:66::1/64 dev tpr-n1a nodad
ip -n tpr-n2 addr add fd00:66::2/64 dev tpr-n2a nodad
ip -n tpr-n1 link set tpr-n1a up
ip -n tpr-n2 link set tpr-n2a up
for _ in $(seq 50); do
	ip -n tpr-n1 link show tpr-n1a | grep -q LOWER_UP && break
	sleep 0.1
done
ip -n tpr-n1 route add 10.77.0.0/16 via 10.66.0.2
ip -n tpr-n1 route add fd00:77::/64 via fd00:66::2
mac=$(ip -n tpr-n2 -j link show tpr-n2a |
	python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["address"])')
ip -n tpr-n1 neigh flush dev tpr-n1a
ip netns exec tpr-n1 "$B/tests/neigh_resolve" tpr-n1a 4 10.66.0.2 "$mac" 10.77.0.5
ip netns exec tpr-n1 "$B/tests/neigh_resolve" tpr-n1a 6 fd00:66::2 "$mac" fd00:77::5
echo PASS
