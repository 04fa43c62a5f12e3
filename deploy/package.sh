#!/usr/bin/env bash
# deploy/package.sh — the Debian packages, in one command:
#
#   deploy/package.sh [--build DIR] [--out DIR] [--version VERSION] [--no-lintian]
#
#   tableau-tpd    tpd, tpctl (/usr/sbin), the XDP programs (/usr/lib/tableau),
#                  tpd@.service, /etc/tableau/tpd.conf (conffile), man pages,
#                  /var/lib/tableau (0700); its postinst makes /etc/tableau/tpd.key (0600)
#   tableau-tools  tpolicy (/usr/bin), tpolicy-serve (/usr/lib/tableau: `tpolicy serve`
#                  execs it), tableau-controller.service, man page
#
# Packs the binaries of the build tree DIR (default build/, built here if
# tpd, tpctl, tpolicy, tpolicy-serve or the BPF objects are missing) with debhelper from
# deploy/debian/, then runs lintian: exit 1 on any lintian error. The .deb
# files land in OUT (default DIR/packages). VERSION defaults to the
# project's version (CMakeLists.txt) with Debian revision 1.
# Needs debhelper, dpkg-dev, fakeroot and lintian (deploy/install-deps.sh).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$TOP/build
OUT=
VERSION=
LINTIAN=1
usage() { sed -n '2,18s/^# \{0,1\}//p' "$0"; }
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$(realpath -m "$2"); shift 2 ;;
	--out) OUT=$(realpath -m "$2"); shift 2 ;;
	--version) VERSION=$2; shift 2 ;;
	--no-lintian) LINTIAN=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
OUT=${OUT:-$BUILD/packages}
if [ -z "$VERSION" ]; then
	VERSION=$(sed -nE 's/^project\(tableau VERSION ([0-9.]+).*/\1/p' "$TOP/CMakeLists.txt")-1
fi
say() { echo "package: $*"; }

need=("$BUILD/tpd" "$BUILD/tpctl" "$BUILD/tpolicy" "$BUILD/tpolicy-serve" "$BUILD/bpf/zone.bpf.o" "$BUILD/bpf/transit.bpf.o")
for f in "${need[@]}"; do
	if [ ! -e "$f" ]; then
		say "building tpd, tpctl, tpolicy, tpolicy-serve and the XDP programs in $BUILD"
		cmake -S "$TOP" -B "$BUILD" >/dev/null
		cmake --build "$BUILD" -j "$(nproc)" --target tpd tpctl tpolicy tpolicy-serve tp_bpf_objs >/dev/null
		break
	fi
done

STAGE=$(mktemp -d /tmp/tableau-package.XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
SRC=$STAGE/tableau-${VERSION%-*}
mkdir -p "$SRC"
cp -r "$TOP/deploy/debian" "$SRC/debian"

# The changelog carries the version dpkg compares on upgrade.
cat >"$SRC/debian/changelog" <<CL
tableau ($VERSION) bookworm; urgency=medium

  * Package of the tree at $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown).

 -- Tableau maintainers <maintainers@users.noreply.r-seed-77dec9c1.example>  $(date -R -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")
CL

# /etc/tableau/tpd.conf: the documented example (every key, its default),
# set up for the default instance tpd@tpd and the installed paths.
sub() { # sub 'sed expression' 'line it must produce'
	sed -i -E "$1" "$SRC/debian/tpd.conf"
	grep -qxF "$2" "$SRC/debian/tpd.conf" || { say "tpd.conf: no line '$2' after $1" >&2; exit 1; }
}
cp "$TOP/deploy/examples/tpd.conf" "$SRC/debian/tpd.conf"
sub 's|^# tpd.conf: configuration of one transition point daemon.$|# /etc/tableau/tpd.conf: the instance "tpd" (systemctl enable --now tpd@tpd).\n# Another instance NAME: copy this file to /etc/tableau/NAME.conf and change\n# name, identity_key, interfaces, cores, state_dir and admin_socket.\n#|' \
	'# /etc/tableau/tpd.conf: the instance "tpd" (systemctl enable --now tpd@tpd).'
sub 's|^name = tp$|name = tpd|' 'name = tpd'
sub 's|^identity_key = .*|identity_key = /etc/tableau/tpd.key|' 'identity_key = /etc/tableau/tpd.key'
sub 's|^# zone_xdp_program = .*|zone_xdp_program = /usr/lib/tableau/zone.bpf.o|' \
	'zone_xdp_program = /usr/lib/tableau/zone.bpf.o'
sub 's|^# transit_xdp_program = .*|transit_xdp_program = /usr/lib/tableau/transit.bpf.o|' \
	'transit_xdp_program = /usr/lib/tableau/transit.bpf.o'
sub 's|^state_dir = /var/lib/tableau$|state_dir = /var/lib/tableau/tpd|' 'state_dir = /var/lib/tableau/tpd'
sub 's|^admin_socket = .*|admin_socket = /run/tableau/tpd.sock|' 'admin_socket = /run/tableau/tpd.sock'

say "tableau $VERSION from $BUILD"
(
	cd "$SRC"
	export TP_BUILD_DIR=$BUILD TP_SOURCE_DIR=$TOP
	dpkg-buildpackage -b -uc -us >"$STAGE/build.log" 2>&1
) || { tail -40 "$STAGE/build.log" >&2; say "dpkg-buildpackage failed" >&2; exit 1; }

mkdir -p "$OUT"
arch=$(dpkg --print-architecture)
debs=()
for p in tableau-tpd tableau-tools; do
	f=${p}_${VERSION}_${arch}.deb
	mv "$STAGE/$f" "$OUT/$f"
	debs+=("$OUT/$f")
done
if [ "$LINTIAN" -eq 1 ]; then
	# errors fail; warnings and info are shown (overrides: deploy/debian/*.lintian-overrides)
	lintian --fail-on error --tag-display-limit 0 "${debs[@]}" || {
		say "lintian reports errors" >&2
		exit 1
	}
fi
printf '%s\n' "${debs[@]}"
