#!/usr/bin/env bash
# Install every Debian package that the build, the tests, the fuzzers, the lab and
# the benchmarks need. Idempotent: packages already present are left alone and
# apt is not even asked to update its lists when nothing is missing.
# Debian packages only; exits non-zero naming any package that cannot be had.
#
#   deploy/install-deps.sh           the amd64 build and every test
#   deploy/install-deps.sh --arm64   also the arm64 cross-build and qemu-user
#                                    (tests/arm64.sh; README.md, "arm64")
set -euo pipefail

ARM64=0
for a in "$@"; do
	case "$a" in
	--arm64) ARM64=1 ;;
	*) echo "usage: deploy/install-deps.sh [--arm64]" >&2; exit 2 ;;
	esac
done

PKGS=(
	# build
	build-essential cmake pkg-config clang llvm lld gcc-multilib
	clang-format clang-tidy cppcheck libclang-rt-14-dev
	# dataplane runtime and kernel interfaces (dpdk-dev: dpdk-testpmd for the AF_XDP smoke test)
	libdpdk-dev dpdk dpdk-dev libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev
	linux-libc-dev libmnl-dev libnuma-dev libpcap-dev
	# crypto, serialisation, config, tests
	libsodium-dev libb2-dev protobuf-c-compiler libprotobuf-c-dev
	libcunit1-dev libyaml-dev libjansson-dev
	# lab, interop, benchmarks
	iproute2 nftables wireguard-go wireguard-tools iperf3 tcpdump iputils-ping
	# lab-compare benchmark: the Nebula overlay (nebula, nebula-cert)
	nebula
	graphviz procps psmisc kmod util-linux ethtool
	# verify tests validate exports against the JSON Schema
	python3 python3-jsonschema python3-cryptography
	# Debian packages (deploy/package.sh) and their checks: debhelper, lintian,
	# systemd-analyze for the units, man for the man pages
	debhelper dpkg-dev fakeroot lintian systemd man-db
	# metrics tests: promtool check metrics, and a strict OpenMetrics parser
	prometheus python3-prometheus-client curl
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root (apt-get install)" >&2
	exit 1
fi

# Multiarch :arm64 libraries for the cross-build (clang --target and lld from
# PKGS; cmake/toolchain-aarch64.cmake). Not here, on purpose:
#   gcc-aarch64-linux-gnu / crossbuild-essential-arm64: Debian's
#     gcc-multilib (in PKGS) conflicts with every cross gcc;
#   libdpdk-dev:arm64: needs libfdt-dev:arm64 and rdma-core:arm64, which are
#     not Multi-Arch: same and would replace the amd64 ones that
#     libdpdk-dev:amd64 needs, so the arm64 build is TP_DPDK=OFF.
ARM64_PKGS=(
	# host side: run the test programs, inspect the objects
	qemu-user binutils-aarch64-linux-gnu
	# target C library, kernel headers (asm/ for BPF too) and compiler runtime
	libc6-dev:arm64 linux-libc-dev:arm64 libgcc-12-dev:arm64
	# the libraries of the build, DPDK excepted
	libbpf-dev:arm64 libxdp-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64 libmnl-dev:arm64
	libsodium-dev:arm64 libb2-dev:arm64 libprotobuf-c-dev:arm64 libcunit1-dev:arm64
	libyaml-dev:arm64 libjansson-dev:arm64
)

export DEBIAN_FRONTEND=noninteractive
UPDATED=0
if [ "$ARM64" -eq 1 ]; then
	PKGS+=("${ARM64_PKGS[@]}")
	if ! dpkg --print-foreign-architectures | grep -qx arm64; then
		echo "install-deps: dpkg --add-architecture arm64"
		dpkg --add-architecture arm64
		apt-get update -q
		UPDATED=1
	fi
fi

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PKGS[@]} packages already installed"
	exit 0
fi

echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}"
[ "$UPDATED" -eq 1 ] || apt-get update -q
for p in "${missing[@]}"; do
	if ! apt-cache show "$p" >/dev/null 2>&1; then
		echo "install-deps: package '$p' is not available from the configured mirrors" >&2
		exit 1
	fi
done
# Multiarch packages can displace the amd64 ones the build needs (a package
# that is not Multi-Arch: same replaces its other-architecture twin): never
# let this script remove anything.
removed=$(apt-get -s install --no-install-recommends "${missing[@]}" |
	sed -n 's/^Remv \([^ ]*\).*/\1/p' | tr '\n' ' ')
if [ -n "$removed" ]; then
	echo "install-deps: refusing: installing ${missing[*]} would remove: $removed" >&2
	exit 1
fi
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Verify: apt may exit 0 and still leave something unconfigured.
failed=()
for p in "${missing[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || failed+=("$p")
done
if [ ${#failed[@]} -ne 0 ]; then
	echo "install-deps: failed to install: ${failed[*]}" >&2
	exit 1
fi
echo "install-deps: done"
