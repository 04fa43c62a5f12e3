#!/usr/bin/env bash
# tests/bench/fwd/workers.sh BUILD_DIR [SECONDS]
#
# Dataplane benchmark (a2), issue 13 (a): the forwarding path in memory
# mode with 1 worker and with 2 (bench_workers of a -DTP_BENCH=ON build),
# egress and ingress, one peer and 64 peers, inner packets of 64 and
# 1420 B. Runs bench_workers --workers 1, then --workers 2, REPS times
# (default 5; REPS=n in the environment), SECONDS per row (default 1.5);
# prints the environment and a markdown table of the medians and the
# ratio 2 workers / 1 worker (target >= 1.8). On a machine whose cores
# other processes share, the workers get less than a core each: the table
# shows how much they got, and packets per second of worker CPU time;
# twice the 2w/1w ratio of the latter is what the ratio would be with a
# core per worker, if the work per packet stayed the same (a model, not
# a measurement). The bench pins its worker
# threads: one worker on core 1, two on cores 0 and 1. Needs root (DPDK
# with --no-huge); nothing leaves the process. About 3.5 minutes.
set -euo pipefail
BD=$(cd "${1:?usage: workers.sh BUILD_DIR [SECONDS]}" && pwd)
SECS=${2:-1.5}
REPS=${REPS:-5}
BIN=$BD/bench/bench_workers
[ -x "$BIN" ] || { echo "workers.sh: no $BIN (configure with -DTP_BENCH=ON)" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- git: $(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo ?)$(git -C "$(dirname "$0")" diff --quiet HEAD 2>/dev/null || echo ' (modified)')"
echo "- nproc: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'))"
echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- repetitions: $REPS (1 worker, then 2, in turn), $SECS s timed per row and run"
# busy jiffies of every CPU (/proc/stat), to tell how much of the
# machine other processes took while the bench ran
cpu_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
busy0=$(cpu_busy)
t0=$(date +%s.%N)
failed=0
for r in $(seq "$REPS"); do
	for w in 1 2; do
		if ! "$BIN" --workers "$w" --secs "$SECS" >"$out/run.$w.$r" 2>"$out/err.$w.$r"; then
			failed=1
			echo "workers.sh: bench_workers --workers $w (repetition $r) failed:" >&2
			grep -v '^TELEMETRY' "$out/err.$w.$r" >&2 || true
		fi
	done
done
busy1=$(cpu_busy)
t1=$(date +%s.%N)
# CPU seconds of the bench runs (this shell's children, from `times`)
times >"$out/times"
own=$(tail -1 "$out/times" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } print s }')
echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
awk -v b="$((busy1 - busy0))" -v hz="$(getconf CLK_TCK)" -v own="$own" -v el="$(echo "$t1 - $t0" | bc)" -v n="$(nproc)" \
	'BEGIN { other = b / hz - own; if (other < 0) other = 0
		printf "- during the runs: %.0f s; the bench used %.2f cores on average, other processes %.2f (of %d)\n", el, own / el, other / el, n }'

echo
python3 - "$out" "$REPS" <<'PY'
import statistics, sys
d, reps = sys.argv[1], int(sys.argv[2])
med = statistics.median
# row DIR PEERS SIZE WORKERS MPPS DELIVERED OFFERED DROPS HANDOFF_FULL HANDOFF_OUT
#     TIMED_S CPU_S [FAILED]
runs = {}  # (dir, peers, size) -> workers -> [dict per run]
for r in range(1, reps + 1):
    for w in (1, 2):
        try:
            lines = open(f"{d}/run.{w}.{r}").read().splitlines()
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if not f or f[0] != "row":
                continue
            key = (f[1], int(f[2]), int(f[3]))
            cpu = float(f[12])
            runs.setdefault(key, {1: [], 2: []})[w].append({
                "mpps": float(f[5]), "offered": int(f[7]), "hofull": int(f[9]),
                "ho": int(f[10]), "cores": cpu / max(float(f[11]), 1e-9),
                "percore": int(f[6]) / max(cpu, 1e-9) / 1e6, "failed": len(f) > 13})
print("| direction | peers | inner packet | 1 worker Mpps | 2 workers Mpps | **ratio 2w/1w** "
      "| ratio per repetition, min-max | cores the workers got, 1w / 2w "
      "| Mpps per worker core, 1w / 2w | 2 x per-core ratio | handed off (2w) | handoff_full + crypt_queue_full (2w) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for k in sorted(runs, key=lambda k: (k[0] != "egress", k[1], k[2])):
    a, b = runs[k][1], runs[k][2]
    if not a or not b:
        continue
    m = {w: {c: med(x[c] for x in runs[k][w]) for c in ("mpps", "cores", "percore")}
         for w in (1, 2)}
    per = [y["mpps"] / x["mpps"] for x, y in zip(a, b) if x["mpps"] > 0]
    off2 = max(sum(x["offered"] for x in b), 1)
    bad = " (a run FAILED)" if any(x["failed"] for x in a + b) else ""
    print(f"| {k[0]} | {k[1]} | {k[2]} B | {m[1]['mpps']:.2f} | {m[2]['mpps']:.2f} "
          f"| **{m[2]['mpps'] / m[1]['mpps']:.2f}**{bad} | {min(per):.2f}-{max(per):.2f} "
          f"| {m[1]['cores']:.2f} / {m[2]['cores']:.2f} "
          f"| {m[1]['percore']:.2f} / {m[2]['percore']:.2f} "
          f"| {2 * m[2]['percore'] / m[1]['percore']:.2f} "
          f"| {100 * sum(x['ho'] for x in b) / off2:.0f} % "
          f"| {100 * sum(x['hofull'] for x in b) / off2:.2f} % |")
PY
exit "$failed"
