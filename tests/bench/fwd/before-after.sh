#!/usr/bin/env bash
# tests/bench/fwd/before-after.sh BEFORE_BUILD AFTER_BUILD [ROUNDS [SECONDS]]
#
# Dataplane benchmark (a) of two builds in one run: bench_fwd of each build
# dir (-DTP_BENCH=ON), alternating BEFORE, AFTER, BEFORE, ... ROUNDS times
# (default 5), each pinned to the same core; prints per direction and size
# the median path ns/packet and ratio raw/path of each build, and
# after/before of the path time (> 1: the after build is slower). Needs
# root (bench_fwd runs DPDK with --no-huge); nothing leaves the process.
set -euo pipefail
BEFORE=${1:?usage: before-after.sh BEFORE_BUILD AFTER_BUILD [ROUNDS [SECONDS]]}
AFTER=${2:?usage: before-after.sh BEFORE_BUILD AFTER_BUILD [ROUNDS [SECONDS]]}
ROUNDS=${3:-5}
SECS=${4:-2}
CORE=$(($(nproc) - 1))
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "before: $BEFORE ($(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo ?) tree for after)"
echo "rounds: $ROUNDS, $SECS s per size, core $CORE; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
	for which in before after; do
		dir=$BEFORE
		[ "$which" = after ] && dir=$AFTER
		taskset -c "$CORE" "$dir/bench/bench_fwd" "$SECS" 2>/dev/null | grep '^| [ei]' >"$out/$which.$r"
	done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$out" "$ROUNDS" <<'PY'
import statistics, sys
d, n = sys.argv[1], int(sys.argv[2])
rows = {}
for which in ("before", "after"):
    for r in range(1, n + 1):
        for line in open(f"{d}/{which}.{r}"):
            c = [x.strip() for x in line.strip().strip("|").split("|")]
            key = (c[0], c[1])
            rows.setdefault(key, {"before": [], "after": []})
            rows[key][which].append((float(c[2]), float(c[6])))
print("| direction | inner packet | before path ns | after path ns | after/before | before ratio raw/path | after ratio raw/path |")
print("|---|---|---|---|---|---|---|")
for key, v in rows.items():
    bp = statistics.median(x[0] for x in v["before"])
    ap = statistics.median(x[0] for x in v["after"])
    br = statistics.median(x[1] for x in v["before"])
    ar = statistics.median(x[1] for x in v["after"])
    print(f"| {key[0]} | {key[1]} | {bp:.0f} | {ap:.0f} | {ap / bp:.3f} | {br:.2f} | {ar:.2f} |")
PY
