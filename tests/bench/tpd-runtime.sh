#!/usr/bin/env bash
# tpd runtime benchmarks, recorded in BENCHMARKS.md (section "runtime")
# until the end-to-end benchmarks of the integrated dataplane replace them:
#  1. packet parser cost per packet (bench_pkt_parse);
#  2. idle back-off: first-packet wake-up latency and idle CPU of the
#     runtime, memory mode (sleep back-off) and xdp mode on veth (sleep
#     back-off vs blocking on the AF_XDP sockets), in one run.
# Needs root and a TP_BENCH build:
#   cmake -S . -B build-bench -DTP_BENCH=ON
#   make -C build-bench bench_idle_wakeup bench_pkt_parse
#   tests/bench/tpd-runtime.sh build-bench [SAMPLES]
set -euo pipefail
B=${1:-build-bench}
N=${2:-300}
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$B/bench/bench_idle_wakeup
out=$(mktemp)
cleanup() {
	ip netns del tpr-w 2>/dev/null || true
	rm -f "$out"
}
trap cleanup EXIT
cleanup
ip netns add tpr-w
ip -n tpr-w link add tpr-wz type veth peer name tpr-wzp
ip -n tpr-w link add tpr-wt type veth peer name tpr-wtp
for l in tpr-wz tpr-wzp tpr-wt tpr-wtp lo; do ip -n tpr-w link set "$l" up; done

run() { "$bin" "$@" 2>/dev/null | grep '^|'; }
{
	echo "Measured by:"
	echo
	echo '```'
	echo "sudo tests/bench/tpd-runtime.sh $B $N"
	echo '```'
	echo
	echo "### Packet parser (tp_pkt_parse_eth), one core, ring of 1024 frames"
	echo
	"$B/bench/bench_pkt_parse" 20000000
	echo
	echo "### Idle back-off: first-packet wake-up latency and idle CPU"
	echo
	echo "One worker (lcore 1), packets one at a time after a random 2-20 ms idle gap,"
	echo "$N samples per row; latency = frame handed to the port (memory: net_ring"
	echo "enqueue; xdp: raw send on the veth peer) until the worker's rx counter moves."
	echo "Idle CPU = whole process, 3 s without traffic, % of one core. Shared 2-core"
	echo "VM, other jobs running (load average $(cut -d' ' -f1 /proc/loadavg) at start),"
	echo "which is what sets p99 and max here."
	echo
	echo "| mode   | wait  | cap us | idle polls | p50 us | p99 us | max us | idle CPU % |"
	echo "|--------|-------|--------|----------|----------|----------|----------|-------|"
	run memory sleep 1000 256 "$N"
	run memory sleep 100 256 "$N"
	ip netns exec tpr-w "$bin" xdp sleep 1000 256 "$N" tpr-wz tpr-wt tpr-wzp 2>/dev/null | grep '^|'
	ip netns exec tpr-w "$bin" xdp fd 1000 256 "$N" tpr-wz tpr-wt tpr-wzp 2>/dev/null | grep '^|'
	echo
	echo "Default: idle_wait = fd (blocks on the AF_XDP sockets in xdp mode), cap 1000 us."
} > "$out"
cat "$out"
"$top/tests/bench/record.sh" runtime "$out"
