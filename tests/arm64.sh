#!/usr/bin/env bash
# tests/arm64.sh — the arm64 CI stage: cross-build the tree for aarch64 and run
# the unit tests (ctest label unit) under qemu-user. Idempotent; run as root:
#
#   tests/arm64.sh
#
#   1. deploy/install-deps.sh --arm64 (dpkg --add-architecture arm64, the
#      :arm64 -dev packages, qemu-user; refuses anything that would remove
#      an amd64 package)
#   2. build-arm64/: cmake/toolchain-aarch64.cmake, TP_DPDK=OFF (Debian's
#      libdpdk-dev:arm64 is not co-installable with the amd64 one; README.md,
#      "arm64")
#   3. ctest -L unit: ctest runs every test program through qemu-aarch64
#
# Ends with ctest's summary line; exits non-zero if anything failed.
set -uo pipefail

export PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP" || exit 1
JOBS=${JOBS:-$(nproc)}
B=build-arm64

die() {
	echo "arm64.sh: FAILED: $*"
	exit 1
}

if [ "$(id -u)" -ne 0 ]; then
	echo "arm64.sh: run as root (apt-get installs the arm64 packages)" >&2
	exit 1
fi

echo "=== arm64: dependencies"
deploy/install-deps.sh --arm64 || die "deploy/install-deps.sh --arm64"

echo "=== arm64: cross-build ($B/)"
mkdir -p "$B"
cmake -S "$TOP" -B "$B" -DCMAKE_TOOLCHAIN_FILE="$TOP/cmake/toolchain-aarch64.cmake" \
	-DTP_DPDK=OFF -DTP_SANITIZE=OFF -DTP_FUZZ=OFF -DTP_BENCH=OFF >"$B/configure.log" 2>&1 ||
	{ cat "$B/configure.log"; die "configure"; }
cmake --build "$B" -j "$JOBS" >"$B/build.log" 2>&1 ||
	{ grep -E 'error|Error' "$B/build.log" | head -40; die "build (log: $B/build.log)"; }

# A cross-build that quietly produced host binaries would pass every test:
# the programs must be aarch64 ELF files.
for f in "$B/tpolicy" "$B/tpctl" "$B/tests/test_pkt"; do
	LC_ALL=C readelf -h "$f" 2>/dev/null | grep -q 'Machine:.*AArch64' ||
		die "$f is not an AArch64 executable"
done

echo "=== arm64: unit tests under qemu-user"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
(cd "$B" && ctest --output-on-failure -j "$JOBS" -L unit -LE bench) 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -n1)
[ -n "$line" ] || die "ctest printed no summary"
echo "arm64: $line"
[ "$rc" -eq 0 ] || die "unit tests under qemu"
