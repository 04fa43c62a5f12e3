#!/usr/bin/env bash
# campaign.sh HOURS [HARNESS...] — a fuzz campaign over every libFuzzer
# harness (or the ones named), for RELIABILITY.md section 1.
#
#   tests/fuzz/campaign.sh 2              two hours, both cores
#   setsid tests/fuzz/campaign.sh 2       the same, yielding to everything
#                                         else (autogroup, below)
#   tests/fuzz/campaign.sh 0.5 fuzz_tunnel
#   tests/fuzz/campaign.sh --report       the ledger's totals, nothing run
#
# What a campaign does, harness by harness, JOBS at a time (default: nproc),
# each at nice 19 so it only takes idle cores:
#   1. its time: MIN_SECONDS (120), then HOURS x JOBS core-hours shared by
#      what each harness still needs to reach its target in the ledger
#      (TARGET, default 10^7 executions, for the harnesses of untrusted
#      input; TARGET/10 for the others), at the rate the ledger (or a 10 s
#      probe) measured: the small needs met whole, the rest split evenly
#   2. runs it on a copy of its seeds (tests/fuzz/DIR/corpus, hand-made,
#      never changed here) plus what earlier campaigns found
#      (tests/fuzz/DIR/found/HARNESS), -timeout=10 -rss_limit_mb=2048, and
#      stops it early (-runs) once it reaches its target, so the time the
#      ledger's rate overestimated goes to the next harness
#   3. a crash, leak, timeout or out-of-memory: its input is kept in
#      tests/fuzz/DIR/crashes/HARNESS/ (to be fixed and moved to the seeds),
#      the harness counts as failed
#   4. merges and minimises: -merge=1 of seeds + found + the new inputs
#      into an empty folder; the inputs that add coverage and are not seeds
#      become found/HARNESS (committed)
#   5. coverage: the edges the seeds + found reach (-runs=0, "cov:")
#   6. a row in tests/fuzz/campaign.tsv (committed): date, commit, harness,
#      seconds it ran, executions, edges, crashes, found inputs
# Then it prints the ledger's totals per harness (--report does only that):
# executions summed over every campaign on record, the last edges, crashes.
#
# Environment: TP_BUILD_DIR (default build-san: a -DTP_FUZZ=ON clang
# build, built here if a harness is missing), JOBS, TARGET, MIN_SECONDS;
# UNTIL (a time, e.g. 11:20): no harness fuzzes past it, one that would
# start later does not start (the merges still follow).
# A harness stopped by SIGINT (libFuzzer exits 72 with its statistics) is
# recorded with what it ran and no crash; any other non-zero exit without
# an artifact is a failure.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
# With autogroup scheduling (kernel.sched_autogroup_enabled), nice orders
# processes within one session only: a campaign started from another
# session took half the cores from a test run at nice 0. Started as its
# own session (setsid tests/fuzz/campaign.sh ...), it makes its autogroup
# nice 19 as well; from a terminal's session it leaves that session alone.
if [ "$(ps -o sid= -p $$ | tr -d ' ')" = "$$" ] && [ -w /proc/$$/autogroup ]; then
	echo 19 >/proc/$$/autogroup 2>/dev/null || true
fi
TOP=$(cd "$(dirname "$0")/../.." && pwd)
B=${TP_BUILD_DIR:-$TOP/build-san}
JOBS=${JOBS:-$(nproc)}
TARGET=${TARGET:-10000000}
MIN_SECONDS=${MIN_SECONDS:-120}
LEDGER=$TOP/tests/fuzz/campaign.tsv
DEADLINE=
if [ -n "${UNTIL:-}" ]; then
	DEADLINE=$(date -d "$UNTIL" +%s) || { echo "campaign.sh: UNTIL='$UNTIL' is not a time" >&2; exit 2; }
fi

# The harnesses that parse bytes a zone host, the transit network or the
# controller (or a TP, for the controller) controls: TARGET executions each.
UNTRUSTED="fuzz_pkt_parse fuzz_flow_parse fuzz_parse_diff fuzz_fwd_ingress fuzz_fwd_stages
fuzz_neigh_input fuzz_modbus fuzz_xdp_programs fuzz_tunnel fuzz_ctrl_frame fuzz_ctrl_client
fuzz_ctrl_server fuzz_bundle fuzz_export_reader fuzz_metrics_http fuzz_engine_diff"

usage() {
	echo "usage: tests/fuzz/campaign.sh HOURS [HARNESS...] | --report" >&2
	exit 2
}

report() {
	[ -f "$LEDGER" ] || { echo "campaign.sh: no ledger yet ($LEDGER)"; return 0; }
	python3 - "$LEDGER" "$TARGET" $UNTRUSTED <<'PY'
import sys
ledger, target, untrusted = sys.argv[1], int(sys.argv[2]), set(sys.argv[3:])
rows = [l.rstrip("\n").split("\t") for l in open(ledger) if not l.startswith("#")]
tot = {}
for date, commit, h, secs, execs, edges, crashes, found in rows:
    t = tot.setdefault(h, {"secs": 0, "execs": 0, "crashes": 0, "runs": 0})
    t["secs"] += int(secs); t["execs"] += int(execs); t["crashes"] += int(crashes)
    t["runs"] += 1; t["edges"] = int(edges); t["found"] = int(found); t["last"] = date + " " + commit
print("| harness | input from | campaigns | seconds (nice 19) | executions | exec/s | edges (last) | found inputs | crashes |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
all_execs = 0; short = []
for h in sorted(tot):
    t = tot[h]; all_execs += t["execs"]
    src = "untrusted" if h in untrusted else "local"
    if h in untrusted and t["execs"] < target:
        short.append(h)
    rate = t["execs"] / t["secs"] if t["secs"] else 0
    print(f"| {h} | {src} | {t['runs']} | {t['secs']} | {t['execs']:,} | {rate:,.0f} | {t['edges']} | {t['found']} | {t['crashes']} |")
print()
print(f"total: {all_execs:,} executions over {len(tot)} harnesses; "
      f"crashes: {sum(t['crashes'] for t in tot.values())}")
if short:
    print(f"below {target:,} executions: {', '.join(short)}")
else:
    print(f"every untrusted-input harness has at least {target:,} executions")
PY
}

[ $# -ge 1 ] || usage
if [ "$1" = --report ]; then
	report
	exit 0
fi
HOURS=$1
shift
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)" "$HOURS" 2>/dev/null || usage

# name, binary, seed folder of every harness, from ctest (tests/fuzz/*/CMakeLists.txt)
list_harnesses() {
	(cd "$B" && ctest --show-only=json-v1 -L fuzz) | python3 -c '
import json, sys
for t in json.load(sys.stdin)["tests"]:
    c = t["command"]
    print(t["name"], c[1], c[2])'
}
if [ ! -f "$B/CTestTestfile.cmake" ] || ! grep -q "TP_FUZZ:BOOL=ON" "$B/CMakeCache.txt" 2>/dev/null; then
	mkdir -p "$B"
	cmake -S "$TOP" -B "$B" -DCMAKE_C_COMPILER=clang -DTP_SANITIZE=ON -DTP_FUZZ=ON >"$B/configure.log"
fi
mapfile -t ALL < <(list_harnesses)
[ ${#ALL[@]} -gt 0 ] || { echo "campaign.sh: no fuzz harness in $B" >&2; exit 1; }
cmake --build "$B" -j "$JOBS" --target $(printf '%s\n' "${ALL[@]}" | awk '{ print $1 }') >/dev/null

WORK=$(mktemp -d /tmp/fuzz-campaign.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# the harnesses run from a copy: a rebuild during the campaign changes nothing
mkdir -p "$WORK/bin"
SEL=()
for row in "${ALL[@]}"; do
	read -r name bin seeds <<<"$row"
	if [ $# -eq 0 ] || printf '%s\n' "$@" | grep -qx "$name"; then
		cp "$bin" "$WORK/bin/$name"
		SEL+=("$name $WORK/bin/$name $seeds")
	fi
done
[ ${#SEL[@]} -gt 0 ] || { echo "campaign.sh: none of '$*' is a harness" >&2; exit 2; }
COMMIT=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -f "$LEDGER" ] || printf '# date\tcommit\tharness\tseconds\texecutions\tedges\tcrashes\tfound\n' >"$LEDGER"

found_dir() { echo "$(dirname "$2")/found/$1"; } # found_dir NAME SEEDS

# rate NAME BIN SEEDS: executions per second, from the ledger or a 10 s probe
rate() {
	local r
	r=$(awk -F'\t' -v h="$1" '!/^#/ && $3 == h { s += $4; e += $5 } END { if (s > 0) printf "%d", e / s }' "$LEDGER")
	if [ -z "$r" ] || [ "$r" -eq 0 ]; then
		mkdir -p "$WORK/probe-$1"
		cp -r "$3"/. "$WORK/probe-$1/"
		r=$(nice -n 19 "$2" -max_total_time=10 -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix="$WORK/probe-$1-" "$WORK/probe-$1" 2>&1 |
			sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p')
		r=$(((${r:-10} + 9) / 10))
	fi
	echo "$r"
}

# 1. the time of each
echo "campaign.sh: $HOURS h x $JOBS cores over ${#SEL[@]} harnesses, target $TARGET executions each"
declare -A SECS=() RUNS=()
plan=$WORK/plan
for row in "${SEL[@]}"; do
	read -r name bin seeds <<<"$row"
	done_execs=$(awk -F'\t' -v h="$name" '!/^#/ && $3 == h { e += $5 } END { printf "%d", e }' "$LEDGER")
	printf '%s %s %s\n' "$name" "$(rate "$name" "$bin" "$seeds")" "$done_execs"
done >"$plan"
while read -r name secs runs; do
	SECS[$name]=$secs
	RUNS[$name]=$runs
done < <(python3 - "$plan" "$HOURS" "$JOBS" "$TARGET" "$MIN_SECONDS" $UNTRUSTED <<'PY'
import sys
plan, hours, jobs, target, least = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
untrusted = set(sys.argv[6:])
rows = [l.split() for l in open(plan)]
budget = hours * 3600 * jobs - least * len(rows)
# what each still needs beyond its least: untrusted-input harnesses TARGET
# executions, the others TARGET/10; shared max-min fair (the small needs
# met whole, the rest split evenly), so a campaign too short for all of
# them still brings as many as it can to their target
need, runs = {}, {}
for n, r, d in rows:
    t = target if n in untrusted else target // 10
    need[n] = max(0.0, (t - int(d)) / max(1, int(r)) - least)
    runs[n] = t - int(d) if t > int(d) else -1  # -1: no cap, it is there
share = {}
left = sorted(need, key=need.get)
while left:
    even = max(0.0, budget) / len(left)
    n = left.pop(0)
    share[n] = min(need[n], even)
    budget -= share[n]
# time left over when every need is met: evenly to all
extra = max(0.0, budget) / len(rows)
for n, r, d in rows:
    print(n, int(least + share[n] + extra), runs[n])
PY
)

# 2-6. one harness
run_one() {
	local name=$1 bin=$2 seeds=$3 secs=${SECS[$1]} runs=${RUNS[$1]} w=$WORK/$1 found crashes=0 execs edges n t0 rc=0
	if [ -n "$DEADLINE" ]; then
		t0=$((DEADLINE - $(date +%s)))
		if [ "$t0" -lt 30 ]; then
			echo "[$(date +%T)] $name: not started, UNTIL is reached"
			return 0
		fi
		[ "$secs" -le "$t0" ] || secs=$t0
	fi
	found=$(found_dir "$name" "$seeds")
	mkdir -p "$w/corpus" "$w/artifacts" "$w/min"
	cp -r "$seeds"/. "$w/corpus/"
	[ ! -d "$found" ] || cp -r "$found"/. "$w/corpus/"
	echo "[$(date +%T)] $name: $secs s$([ "$runs" -lt 0 ] || echo ", or $runs executions")"
	t0=$(date +%s)
	nice -n 19 "$bin" -max_total_time="$secs" -runs="$runs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$w/artifacts/" "$w/corpus" >"$w/log" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || [ "$rc" -eq 72 ] || crashes=1 # 72: interrupted
	secs=$(($(date +%s) - t0)) # what it ran, for the ledger's rate
	execs=$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)/\1/p' "$w/log" | tail -n1)
	if [ -n "$(ls -A "$w/artifacts")" ]; then
		crashes=$(ls "$w/artifacts" | wc -l)
		mkdir -p "$(dirname "$seeds")/crashes/$name"
		cp "$w/artifacts"/* "$(dirname "$seeds")/crashes/$name/"
		echo "[$(date +%T)] $name: CRASH, input kept in $(dirname "$seeds")/crashes/$name:"
		grep -E "ERROR|SUMMARY|==[0-9]+==" "$w/log" | head -5
	elif [ "$crashes" -ne 0 ]; then
		echo "[$(date +%T)] $name: exited $rc without an artifact:"
		tail -5 "$w/log"
	elif [ "$rc" -eq 72 ]; then
		echo "[$(date +%T)] $name: interrupted, ${execs:-0} executions kept"
	fi
	# merge: seeds first, so an input a seed already covers is not kept
	mkdir -p "$w/seeds-found"
	[ ! -d "$found" ] || cp -r "$found"/. "$w/seeds-found/"
	nice -n 19 "$bin" -merge=1 -timeout=10 -rss_limit_mb=2048 "$w/min" "$seeds" "$w/seeds-found" "$w/corpus" \
		>"$w/merge.log" 2>&1 || { echo "$name: merge failed"; tail -5 "$w/merge.log"; }
	# the hand-made seeds stay where they are, under their names
	(cd "$seeds" && find . -type f -exec sha1sum {} +) | awk '{ print $1 }' | while read -r h; do
		rm -f "$w/min/$h"
	done
	rm -rf "$found"
	mkdir -p "$found"
	cp -r "$w/min"/. "$found/" 2>/dev/null || true
	n=$(find "$found" -type f | wc -l)
	[ "$n" -gt 0 ] || rmdir "$found"
	local dirs=("$seeds")
	[ "$n" -eq 0 ] || dirs+=("$found")
	edges=$("$bin" -runs=0 "${dirs[@]}" 2>&1 |
		sed -nE 's/.*(INITED|DONE) cov: ([0-9]+).*/\2/p' | tail -n1)
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$COMMIT" "$name" "$secs" \
		"${execs:-0}" "${edges:-0}" "$crashes" "$n" >>"$LEDGER"
	echo "[$(date +%T)] $name: ${execs:-0} executions, ${edges:-0} edges, $n found inputs, $crashes crashes"
}

# JOBS at a time, the longest first so the cores finish together
running=0
fails=0
for row in $(for row in "${SEL[@]}"; do read -r n _ _ <<<"$row"; echo "${SECS[$n]}:${row// /|}"; done | sort -t: -k1,1nr); do
	IFS='|' read -r name bin seeds <<<"${row#*:}"
	run_one "$name" "$bin" "$seeds" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n || fails=$((fails + 1))
		running=$((running - 1))
	fi
done
while [ "$running" -gt 0 ]; do
	wait -n || fails=$((fails + 1))
	running=$((running - 1))
done

echo
report
crashed=$(awk -F'\t' -v c="$COMMIT" '!/^#/ && $2 == c && $7 > 0' "$LEDGER" | wc -l)
[ "$crashed" -eq 0 ] && [ "$fails" -eq 0 ]
