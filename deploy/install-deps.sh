#!/usr/bin/env bash
# Install every Debian package that the build, the tests, the fuzzers, the lab and
# the benchmarks need. Idempotent: packages already present are left alone and
# apt is not even asked to update its lists when nothing is missing.
# Debian packages only; exits non-zero naming any package that cannot be had.
set -euo pipefail

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
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
for p in "${missing[@]}"; do
	if ! apt-cache show "$p" >/dev/null 2>&1; then
		echo "install-deps: package '$p' is not available from the configured mirrors" >&2
		exit 1
	fi
done
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
