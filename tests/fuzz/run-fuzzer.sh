#!/usr/bin/env bash
# run-fuzzer.sh HARNESS SEED_CORPUS WORKDIR SECONDS
# Runs a libFuzzer harness for a bounded time on a copy of its seed corpus and
# of what fuzz campaigns found (SEED_CORPUS/../found/HARNESS, campaign.sh), so
# new inputs it finds never dirty the source tree. Fails if the harness crashes,
# leaks or times out on an input; the reproducer is left in WORKDIR.
set -euo pipefail
harness=$1 seeds=$2 work=$3 secs=$4
# TP_FUZZ_SECONDS overrides every harness's own time (tests/run.sh sets it).
secs=${TP_FUZZ_SECONDS:-$secs}
rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
if [ -d "$seeds" ]; then
	cp -r "$seeds"/. "$work/corpus/"
fi
found=$(dirname "$seeds")/found/$(basename "$harness")
if [ -d "$found" ]; then
	cp -r "$found"/. "$work/corpus/"
fi
exec "$harness" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus"
