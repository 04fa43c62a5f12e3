#!/usr/bin/env bash
# The integrated dataplane's benchmarks, recorded in BENCHMARKS.md (section
# "dataplane"; the runtime subsections of tests/bench/tpd-runtime.sh that
# are already there are kept below them):
#  (a) memory mode, one core: egress and ingress paths at 64/512/1420 B
#      against raw ChaCha20-Poly1305 on the same buffers (bench_fwd)
#  (b) lab: iperf3 TCP and UDP with 64-byte payloads z2-h1 -> z4-h1 through
#      two tpd (tp2, tp3) and through two wireguard-go, same run
#  (d) lab: ping RTT p50/p99 over the same path through tpd, wireguard-go,
#      and plain kernel routing over the veths (no tunnel), same run, idle
#      back-off active (tpd's workers block on their AF_XDP sockets)
# (c), the XDP drop rate of denied traffic, is the "xdp" section.
# Needs root and a TP_BENCH build (it builds tpd too):
#   cmake -S . -B build-bench -DTP_BENCH=ON && make -C build-bench -j2
#   sudo tests/bench/tpd-pipeline.sh build-bench [--no-record]
set -euo pipefail
BD=$(cd "${1:-build-bench}" && pwd)
RECORD=1
[ "${2:-}" != --no-record ] || RECORD=
S=$(cd "$(dirname "$0")/../.." && pwd)
export TP_BUILD_DIR=$BD TP_SOURCE_DIR=$S
. "$S/tests/lab/lib/tpdlab.sh"
PINGS=${PINGS:-3000}
SECS=${SECS:-5}
WG_PIDS=()
cleanup() {
	for p in "${WG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	tpdlab_cleanup
}
trap cleanup EXIT
out=$(mktemp)

# tp2 on cores (control 0, worker 1), tp3 on (1, 0): the two busy workers
# do not share a core of this 2-core machine
export TPDLAB_CORES_tp2="0 1" TPDLAB_CORES_tp3="1 0"
tpdlab_init tlb
tpdlab_bundle 1 "$S/tests/lab/tpd-lab/plant-a.yaml"
tpdlab_up

iperf_tcp() { # Gbit/s received
	ip netns exec "$PFX-z4-h1" iperf3 -s -p 5000 -1 >/dev/null 2>&1 &
	sleep 0.3
	tpdlab_exec z2-h1 iperf3 -c 10.4.0.10 -p 5000 -t "$SECS" -J |
		python3 -c 'import json,sys; r=json.load(sys.stdin); print("%.3f" % (r["end"]["sum_received"]["bits_per_second"]/1e9))'
	wait
}
iperf_udp64() { # "kpps_received loss%"
	ip netns exec "$PFX-z4-h1" iperf3 -s -p 5000 -1 >/dev/null 2>&1 &
	sleep 0.3
	tpdlab_exec z2-h1 iperf3 -c 10.4.0.10 -p 5000 -u -l 64 -b 0 -t "$SECS" -J |
		python3 -c 'import json,sys; r=json.load(sys.stdin)["end"]; s=r.get("sum_received", r["sum"]); print("%.1f %.1f" % (s["packets"]/s["seconds"]/1e3, s["lost_percent"]))'
	wait
}
ping_rtt() { # "p50 p99" in us
	tpdlab_exec z2-h1 ping -i 0.002 -c "$PINGS" -W 1 10.4.0.10 |
		python3 -c '
import re, sys
t = sorted(float(m) * 1000 for m in re.findall(r"time=([0-9.]+) ms", sys.stdin.read()))
assert len(t) > 0.9 * int(sys.argv[1]), f"only {len(t)} replies"
print("%.0f %.0f %d" % (t[len(t) // 2], t[min(len(t) - 1, int(len(t) * 0.99))], len(t)))' "$PINGS"
}

tpdlab_log "(a) memory mode"
bench_a=$("$BD/bench/bench_fwd" 2 2>/dev/null | grep '^|')

tpdlab_log "(b)(d) through two tpd"
for tp in tp2 tp3; do tpdlab_start "$tp" "$W/plant-1.tpb"; done
tpdlab_exec z2-h1 ping -c2 -W2 10.4.0.10 >/dev/null || true # handshake, neighbours
tpd_tcp=$(iperf_tcp)
tpd_udp=$(iperf_udp64)
tpd_rtt=$(ping_rtt)
for tp in tp2 tp3; do tpdlab_stop "$tp"; done

tpdlab_log "(b)(d) through two tpd, workers SCHED_FIFO (worker_priority = 10)"
export TPDLAB_WORKER_PRIORITY=10
for tp in tp2 tp3; do tpdlab_start "$tp" "$W/plant-1.tpb"; done
tpdlab_exec z2-h1 ping -c2 -W2 10.4.0.10 >/dev/null || true
rt_tcp=$(iperf_tcp)
rt_udp=$(iperf_udp64)
rt_rtt=$(ping_rtt)
for tp in tp2 tp3; do tpdlab_stop "$tp"; done
unset TPDLAB_WORKER_PRIORITY

tpdlab_log "(b)(d) through two wireguard-go"
pub() { "$BD/tpolicy" keygen --public <"$S/deploy/examples/lab-keys/$1.key"; }
wg_up() { # TP OTHER OTHER_ADDR PREFIXES
	local tp=$1 wg=tlbwg$$${1#tp}
	ip netns exec "$PFX-$tp" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error wireguard-go -f "$wg" \
		>"$W/wg-$tp.log" 2>&1 &
	WG_PIDS+=($!)
	for _ in $(seq 50); do ip -n "$PFX-$tp" link show "$wg" >/dev/null 2>&1 && break; sleep 0.1; done
	ip netns exec "$PFX-$tp" wg set "$wg" private-key "$W/$tp.key" listen-port 51820 \
		peer "$(pub "$2")" endpoint "$3:51820" allowed-ips "$4"
	ip -n "$PFX-$tp" link set "$wg" up
	for p in ${4//,/ }; do ip -n "$PFX-$tp" route add "$p" dev "$wg"; done
}
wg_up tp2 tp3 192.0.2.13 10.4.0.0/16
wg_up tp3 tp2 192.0.2.12 10.2.0.0/16
tpdlab_exec z2-h1 ping -c2 -W2 10.4.0.10 >/dev/null || true
wg_tcp=$(iperf_tcp)
wg_udp=$(iperf_udp64)
wg_rtt=$(ping_rtt)
for p in "${WG_PIDS[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
WG_PIDS=()

tpdlab_log "(d) plain kernel routing, no tunnel"
ip -n "$PFX-tp2" route add 10.4.0.0/16 via 192.0.2.13
ip -n "$PFX-tp3" route add 10.2.0.0/16 via 192.0.2.12
tpdlab_exec z2-h1 ping -c2 -W2 10.4.0.10 >/dev/null || true
bare_rtt=$(ping_rtt)

read -r tu tl <<<"$tpd_udp"
read -r ru rl <<<"$rt_udp"
read -r rp50 rp99 rn <<<"$rt_rtt"
read -r wu wl <<<"$wg_udp"
read -r tp50 tp99 tn <<<"$tpd_rtt"
read -r wp50 wp99 wn <<<"$wg_rtt"
read -r bp50 bp99 bn <<<"$bare_rtt"
{
	echo "Measured by:"
	echo
	echo '```'
	echo "sudo tests/bench/tpd-pipeline.sh build-bench"
	echo '```'
	echo
	echo "Shared 2-core VM (load average $(cut -d' ' -f1-3 /proc/loadavg) at the end, the benchmark's own load included)."
	echo
	echo "### (a) Forwarding path, memory mode, one core, vs raw AEAD on the same buffers"
	echo
	echo "bench_fwd: 256 established UDP flows, bursts of 32, frames copied into the"
	echo "mbufs each time (as a NIC would write them) in both columns; ratio = raw"
	echo "ns / path ns (targets: >= 0.9 at 1420 B, >= 0.7 at 64 B)."
	echo
	echo "$bench_a"
	echo
	echo "### (b) Lab throughput: z2-h1 -> z4-h1 across tp2 and tp3, same run"
	echo
	echo "iperf3 ${SECS} s; TCP one stream; UDP 64-byte payloads at full rate (received"
	echo "rate). tp2's worker on core 1, tp3's on core 0; wireguard-go as it comes."
	echo
	echo "| path | TCP Gbit/s | UDP 64 B kpps received | UDP loss % |"
	echo "|---|---|---|---|"
	echo "| two tpd (xdp mode), worker_priority = 0 | $tpd_tcp | $tu | $tl |"
	echo "| two tpd (xdp mode), worker_priority = 10 | $rt_tcp | $ru | $rl |"
	echo "| two wireguard-go | $wg_tcp | $wu | $wl |"
	echo "| ratio tpd / wireguard-go, priority 0 | $(python3 -c "print('%.2f' % ($tpd_tcp / $wg_tcp))") | $(python3 -c "print('%.2f' % ($tu / $wu))") | |"
	echo "| ratio tpd / wireguard-go, priority 10 | $(python3 -c "print('%.2f' % ($rt_tcp / $wg_tcp))") | $(python3 -c "print('%.2f' % ($ru / $wu))") | |"
	echo
	echo "With worker_priority = 10 the workers preempt the iperf3 processes sharing"
	echo "their cores: the UDP sender then offers less, so fewer packets are lost but"
	echo "fewer are received too; on an appliance the workers have cores of their own."
	echo
	echo "### (c) XDP drop rate of denied traffic on the zone port"
	echo
	echo "Measured by its own benchmark: see the \"XDP fast path\" section"
	echo "(\`sudo build-bench/bench/bench_xdp_drop --veth\`)."
	echo
	echo "### (d) Ping RTT z2-h1 -> z4-h1, same run"
	echo
	echo "\`ping -i 0.002 -c $PINGS\`; tpd with idle back-off active (idle_wait = fd:"
	echo "workers block on their AF_XDP sockets between packets). \"Kernel\": the same"
	echo "veths and bridges with the TPs routing in clear, no tunnel."
	echo
	echo "| path | replies | p50 us | p99 us | p50 added over kernel | p99 added over kernel |"
	echo "|---|---|---|---|---|---|"
	echo "| kernel routing, no tunnel | $bn | $bp50 | $bp99 | - | - |"
	echo "| two tpd, worker_priority = 0 | $tn | $tp50 | $tp99 | $((tp50 - bp50)) | $((tp99 - bp99)) |"
	echo "| two tpd, worker_priority = 10 | $rn | $rp50 | $rp99 | $((rp50 - bp50)) | $((rp99 - bp99)) |"
	echo "| two wireguard-go | $wn | $wp50 | $wp99 | $((wp50 - bp50)) | $((wp99 - bp99)) |"
	echo
	echo "p99 added by tpd / added by wireguard-go: $(python3 -c "print('%.2f' % (($tp99 - $bp99) / max(1, $wp99 - $bp99)))") with normal scheduling,"
	echo "$(python3 -c "print('%.2f' % (($rp99 - $bp99) / max(1, $wp99 - $bp99)))") with SCHED_FIFO workers (target <= 0.33). Both with the idle back-off:"
	echo "an idle worker blocks on its sockets; what SCHED_FIFO removes is the wait for"
	echo "the core after the wake-up, behind other tasks of this shared machine."
	echo
} >"$out"
cat "$out"
[ -z "$RECORD" ] || "$S/tests/bench/record.sh" dataplane "$out"
rm -f "$out"
