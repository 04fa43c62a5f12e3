#!/usr/bin/env bash
# The systemd units of deploy/systemd/ (systemd is not PID 1 here: the
# offline checks are the test):
#   systemd-analyze verify   no error and no warning (unknown keys, missing
#                            binaries), with the units and the built binaries
#                            staged where the packages put them (--root)
#   systemd-analyze security --offline=true: every unit rates OK or better
#   the hardening the issue asks for is present (and not weakened later):
#   capability set, NoNewPrivileges, ProtectSystem=strict, State/Runtime
#   directories, a system-call filter, LimitMEMLOCK, Restart + StartLimit
# Needs TP_BUILD_DIR and TP_SOURCE_DIR.
set -euo pipefail
B=${TP_BUILD_DIR:?}
S=${TP_SOURCE_DIR:?}
U=$S/deploy/systemd
T=$(mktemp -d /tmp/tp-units.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

# a root with usr-merged links, systemd's own units, our units and binaries
mkdir -p "$T/usr/sbin" "$T/usr/bin" "$T/usr/lib/systemd" "$T/etc"
ln -s usr/bin "$T/bin"
ln -s usr/sbin "$T/sbin"
ln -s usr/lib "$T/lib"
cp -r /usr/lib/systemd/system "$T/usr/lib/systemd/"
cp "$B/tpd" "$B/tpctl" "$T/usr/sbin/"
cp "$B/tpolicy" /usr/bin/kill "$T/usr/bin/"
cp "$U/tpd@.service" "$U/tableau-controller.service" "$T/usr/lib/systemd/system/"

units=(tpd@tp1.service tableau-controller.service)
rc=0
out=$(systemd-analyze verify --man=no --root="$T" "${units[@]}" 2>&1) || rc=$?
if [ "$rc" -eq 0 ] && [ -z "$out" ]; then ok "systemd-analyze verify ${units[*]}"; else
	bad "systemd-analyze verify (exit $rc)"
	echo "$out" | sed 's/^/     /'
fi

for f in "$U/tpd@.service" "$U/tableau-controller.service"; do
	out=$(systemd-analyze security --offline=true "$f" 2>&1 || true)
	line=$(echo "$out" | grep 'Overall exposure level' || true)
	case "$line" in
	*" OK "* | *" SAFE "* | *" PERFECT "*) ok "$(basename "$f"): ${line##*: }" ;;
	*) bad "$(basename "$f"): ${line:-no rating}"; echo "$out" | grep '✗' | sed 's/^/     /' ;;
	esac
done

# has UNIT 'exact line'
has() {
	if grep -qxF -- "$2" "$U/$1"; then ok "  $1: $2"; else bad "  $1 lacks: $2"; fi
}
has tpd@.service 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_BPF CAP_SYS_ADMIN'
has tpd@.service 'ExecStart=/usr/sbin/tpd --config /etc/tableau/%i.conf'
has tpd@.service 'StateDirectory=tableau/%i'
has tpd@.service 'LimitMEMLOCK=infinity'
has tableau-controller.service 'CapabilityBoundingSet='
has tableau-controller.service 'StateDirectory=tableau/controller'
for u in tpd@.service tableau-controller.service; do
	for l in NoNewPrivileges=yes ProtectSystem=strict Restart=on-failure StartLimitBurst=5 \
		StartLimitIntervalSec=300 SystemCallArchitectures=native AmbientCapabilities= \
		StateDirectoryMode=0700; do
		has "$u" "$l"
	done
	grep -q '^SystemCallFilter=@system-service' "$U/$u" && ok "  $u: SystemCallFilter" ||
		bad "  $u: no SystemCallFilter allow list"
	grep -q '^LimitMEMLOCK=' "$U/$u" && ok "  $u: LimitMEMLOCK" || bad "  $u: no LimitMEMLOCK"
done
has tpd@.service 'RuntimeDirectory=tableau dpdk'

echo "$fails failed"
[ "$fails" -eq 0 ]
