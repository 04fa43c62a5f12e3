#!/usr/bin/env bash
# run.sh BUILD_DIR [ROUNDS]: run bench_tunnel and record its output in the
# tunnel section of BENCHMARKS.md, with the command that produced it.
set -euo pipefail
build=${1:?build dir (configured with -DTP_BENCH=ON)}
rounds=${2:-25}
top=$(cd "$(dirname "$0")/../../.." && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
{
	echo "Command: \`cmake -S . -B build -DTP_BENCH=ON && make -C build bench_tunnel && tests/bench/tunnel/run.sh build $rounds\`"
	echo "(runs \`build/bench/bench_tunnel $rounds\`; $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))."
	echo
	"$build/bench/bench_tunnel" "$rounds"
} >"$out"
cat "$out"
"$top/tests/bench/record.sh" tunnel "$out"
