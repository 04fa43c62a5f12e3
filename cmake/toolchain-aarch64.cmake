# Cross-build for arm64 (aarch64) on a Debian amd64 host with multiarch
# libraries (dpkg --add-architecture arm64; the :arm64 -dev packages that
# deploy/install-deps.sh --arm64 installs):
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake -DTP_DPDK=OFF
#
# Compiler: clang --target=aarch64-linux-gnu linking with lld, against the
# multiarch libc6-dev:arm64 and libgcc-12-dev:arm64. Debian's cross gcc
# (gcc-aarch64-linux-gnu) cannot be installed next to gcc-multilib, which
# deploy/install-deps.sh installs for amd64: the two packages conflict. Where
# gcc-multilib is absent, -DCMAKE_C_COMPILER=aarch64-linux-gnu-gcc selects the
# cross gcc instead (not tested on the CI machine, which has gcc-multilib).
#
# Test programs run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR), so
# ctest works unchanged; -L / makes qemu take the arm64 loader and libraries
# from the multiarch paths of this very system (/usr/lib/aarch64-linux-gnu).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

if(NOT CMAKE_C_COMPILER)
	find_program(TP_CROSS_CLANG NAMES clang clang-14 REQUIRED)
	set(CMAKE_C_COMPILER ${TP_CROSS_CLANG})
endif()
if(CMAKE_C_COMPILER MATCHES "clang")
	set(CMAKE_C_COMPILER_TARGET aarch64-linux-gnu)
	set(CMAKE_EXE_LINKER_FLAGS_INIT -fuse-ld=lld)
	set(CMAKE_SHARED_LINKER_FLAGS_INIT -fuse-ld=lld)
	set(CMAKE_MODULE_LINKER_FLAGS_INIT -fuse-ld=lld)
endif()

# pkg-config must see the arm64 .pc files only: an amd64 one would hand the
# linker x86-64 libraries (and a missing arm64 library must fail loudly).
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

find_program(TP_QEMU_AARCH64 qemu-aarch64 REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${TP_QEMU_AARCH64} -L /)
