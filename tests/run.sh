#!/usr/bin/env bash
# tests/run.sh — the one test command: installs what is missing, builds, runs
# every test label that CI runs, and ends with "N passed, N failed".
#
#   tests/run.sh            (as root) everything (what CI runs)
#   tests/run.sh --quick    (as root) skip the sanitizer+fuzz and arm64 stages
#                           (local iteration only)
#
# Stages:
#   1. deploy/install-deps.sh (idempotent)
#   2. build/ (gcc):               ctest -L 'unit|root|lab|interop'
#   3. build-san/ (clang, ASan+UBSan, libFuzzer):
#                                  ctest -L 'unit|root|lab|interop' except
#                                  'slow' (tpd, tpctl, tpolicy and the test
#                                  helpers under the sanitizers; a report
#                                  fails the test), then ctest -L fuzz
#   4. arm64: tests/arm64.sh cross-builds and runs ctest -L unit under qemu-user
#   5. static checks: the dependency graph between the top folders
#      (deploy/check.sh --deps), cppcheck, clang-format conformance
# Benchmarks (label bench) never run here; see BENCHMARKS.md.
set -uo pipefail

QUICK=0
for a in "$@"; do
	case "$a" in
	--quick) QUICK=1 ;;
	*) echo "usage: tests/run.sh [--quick]" >&2; exit 2 ;;
	esac
done

# Debian's tools first: the tests use the python3, clang and friends that
# deploy/install-deps.sh installs, not whatever a user's PATH prefers.
export PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
JOBS=${JOBS:-$(nproc)}
PASSED=0
FAILED=0

stage() { printf '\n=== %s ===\n' "$*"; }
fail_stage() { echo "run.sh: FAILED: $*"; FAILED=$((FAILED + 1)); }

# ctest_run DIR LABEL_REGEX [EXCLUDE_REGEX]: run ctest, add its counts to the
# totals. bench is always excluded.
ctest_run() {
	local dir=$1 labels=$2 exclude=bench${3:+|$3} out
	out=$(mktemp)
	(cd "$dir" && ctest --output-on-failure --no-tests=ignore -L "$labels" -LE "$exclude") 2>&1 | tee "$out"
	local rc=${PIPESTATUS[0]} line total failed
	line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -n1)
	if [ -n "$line" ]; then
		failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
		total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
		PASSED=$((PASSED + total - failed))
		FAILED=$((FAILED + failed))
	elif [ "$rc" -eq 0 ]; then
		echo "run.sh: no tests with labels '$labels' in $dir"
	else
		fail_stage "ctest in $dir for '$labels' printed no summary"
	fi
	rm -f "$out"
}

build() {
	local dir=$1; shift
	cmake -S "$TOP" -B "$dir" "$@" >"$dir/configure.log" 2>&1 || { cat "$dir/configure.log"; return 1; }
	cmake --build "$dir" -j "$JOBS" 2>&1 | grep -vE '^\[ *[0-9]+%\]|^make' || true
	cmake --build "$dir" -j "$JOBS" >/dev/null 2>&1 || { cmake --build "$dir" -j1 2>&1 | tail -40; return 1; }
}

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: run as root: tests use network namespaces and XDP" >&2
	exit 1
fi
ulimit -l unlimited 2>/dev/null || true # AF_XDP and BPF maps need locked memory

stage "dependencies"
deploy/install-deps.sh || { fail_stage "install-deps"; echo "$PASSED passed, $FAILED failed"; exit 1; }

stage "build (gcc)"
mkdir -p build
# TP_BENCH: the benchmarks are compiled (never run) so a broken one shows here
if build build -DCMAKE_C_COMPILER=gcc -DTP_SANITIZE=OFF -DTP_FUZZ=OFF -DTP_BENCH=ON; then
	stage "tests: unit, root, lab, interop"
	ctest_run build 'unit|root|lab|interop'
else
	fail_stage "build (gcc)"
fi

if [ "$QUICK" -eq 0 ]; then
	stage "build (clang, ASan+UBSan, libFuzzer)"
	mkdir -p build-san
	if build build-san -DCMAKE_C_COMPILER=clang -DTP_SANITIZE=ON -DTP_FUZZ=ON; then
		# every sanitized program of the tests (unit tests, tpd, tpctl,
		# tpolicy, tp-wg-peer) stops at its first report; the lab helpers
		# add tpd's third-party leak suppressions (tests/lab/lib/lsan.supp)
		export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
		export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
		# interop_wg_e (slow: a 200 s rekey soak) runs in the gcc pass only
		stage "sanitizer tests: unit, root, lab, interop (not slow)"
		ctest_run build-san 'unit|root|lab|interop' slow
		stage "fuzz (bounded: ${TP_FUZZ_SECONDS:=30} s per harness)"
		export TP_FUZZ_SECONDS
		ctest_run build-san 'fuzz'
	else
		fail_stage "build (clang, sanitizers)"
	fi
fi

if [ "$QUICK" -eq 0 ]; then
	# arm64 (tests/arm64.sh): cross-build into build-arm64/, the unit tests
	# under qemu-user; it installs its :arm64 packages and qemu-user itself
	stage "arm64: cross-build, unit tests under qemu-user"
	arm64_out=$(mktemp)
	tests/arm64.sh 2>&1 | tee "$arm64_out"
	line=$(grep -E '^arm64: [0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$arm64_out" | tail -n1)
	if [ -n "$line" ]; then
		failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
		total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
		PASSED=$((PASSED + total - failed))
		FAILED=$((FAILED + failed))
	else
		fail_stage "arm64 (tests/arm64.sh printed no summary)"
	fi
	rm -f "$arm64_out"
fi

stage "static checks"
for c in deps cppcheck format; do
	if deploy/check.sh --$c build; then
		PASSED=$((PASSED + 1))
	else
		fail_stage "$c"
	fi
done

stage "summary"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
