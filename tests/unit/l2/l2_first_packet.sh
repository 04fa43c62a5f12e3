#!/usr/bin/env bash
# The first packet to a next hop the kernel has not resolved is held and
# sent once the kernel resolved it; later ones take the worker's fast path.
# A tpr- namespace pair; removed on any exit.
set -euo pipefail
B=${TP_BUILD_DIR:?}
cleanup() {
	ip netns del tpr-l1 2>/dev/null || true
	ip netns del tpr-l2 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add tpr-l1
ip netns add tpr-l2
ip link add tpr-l1a netns tpr-l1 type veth peer name tpr-l2a netns tpr-l2
ip -n tpr-l1 addr add 10.67.0.1/24 dev tpr-l1a
ip -n tpr-l2 addr add 10.67.0.2/24 dev tpr-l2a
ip -n tpr-l1 link set tpr-l1a up
ip -n tpr-l1 link set lo up
ip -n tpr-l2 link set tpr-l2a up
for _ in $(seq 50); do
	ip -n tpr-l1 link show tpr-l1a | grep -q LOWER_UP && break
	sleep 0.1
done
mac=$(ip -n tpr-l2 -j link show tpr-l2a |
	python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["address"])')
ip -n tpr-l1 neigh flush dev tpr-l1a
ip netns exec tpr-l1 "$B/tests/l2_first_packet" tpr-l1a 10.67.0.2 "$mac"
echo PASS
