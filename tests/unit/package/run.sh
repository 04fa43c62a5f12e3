#!/usr/bin/env bash
# The Debian packages on this machine (root): deploy/package.sh builds
# version V1 (lintian without errors) and V2, then
#   install V1   files where Debian puts them, modes (/var/lib/tableau 0700,
#                the identity key 0600), conffiles, `tpd --check` of the
#                shipped config, systemd-analyze verify and security of the
#                installed units, the installed tpd + `tpctl -i NAME status`
#   lab          TPDLAB_INSTALLED_TEST (default tpd-rate) with TP_INSTALLED=1
#                and no build tree at all, lab prefix tlk (TP_PKG_LAB=0 skips it)
#   upgrade V2   version changes, an admin's edit of tpd.conf, the key and
#                the state survive
#   purge        everything the packages and their scripts made is gone; a
#                config the admin wrote stays
# Refuses to run if tableau-tpd or tableau-tools is already installed (a
# real installation is not a test fixture). Needs TP_BUILD_DIR, TP_SOURCE_DIR.
set -euo pipefail
B=${TP_BUILD_DIR:?}
S=${TP_SOURCE_DIR:?}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
PKGS=(tableau-tpd tableau-tools)
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }

for p in "${PKGS[@]}"; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed"; then
		fail "$p is installed on this machine: not touching it (dpkg --purge it first)"
	fi
done
[ ! -e /etc/tableau ] || fail "/etc/tableau exists without the packages: not touching it"

work=$(mktemp -d /tmp/tp-package.XXXXXX)
tpd_pid=
had_run=0
[ ! -d /run/tableau ] || had_run=1
cleanup() {
	[ -z "$tpd_pid" ] || { kill -TERM "$tpd_pid" 2>/dev/null || true; wait "$tpd_pid" 2>/dev/null || true; }
	dpkg_w --purge "${PKGS[@]}" >/dev/null 2>&1 || true
	rm -f /etc/tableau/tpkg.conf
	rmdir /etc/tableau 2>/dev/null || true
	rm -f /run/tableau/tpkg.sock
	[ "$had_run" -eq 1 ] || rmdir /run/tableau 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# dpkg, waiting up to 3 minutes for a lock another apt/dpkg holds
dpkg_w() {
	local rc
	for _ in $(seq 90); do
		rc=0
		dpkg "$@" >"$work/dpkg.out" 2>&1 || rc=$?
		if [ "$rc" -ne 0 ] && grep -q "lock" "$work/dpkg.out" && ! grep -q "^dpkg: error processing" "$work/dpkg.out"; then
			sleep 2
			continue
		fi
		cat "$work/dpkg.out"
		return "$rc"
	done
	cat "$work/dpkg.out"
	return 1
}
mode() { stat -c %a "$1"; }
expect_mode() { [ "$(mode "$1")" = "$2" ] || fail "$1 is mode $(mode "$1"), want $2"; }

t0=$(date +%s)
"$S/deploy/package.sh" --build "$B" --out "$work/v1" --version 0.1.0-1 >"$work/pkg1.log" 2>&1 ||
	{ cat "$work/pkg1.log"; fail "package.sh (V1, with lintian)"; }
grep -q '^E: ' "$work/pkg1.log" && fail "lintian errors: $(grep '^E: ' "$work/pkg1.log")"
ok "package.sh V1, lintian without errors ($(($(date +%s) - t0)) s)"
"$S/deploy/package.sh" --build "$B" --out "$work/v2" --version 0.1.0-2 --no-lintian \
	>"$work/pkg2.log" 2>&1 || { cat "$work/pkg2.log"; fail "package.sh (V2)"; }
ok "package.sh V2"

# ---- install
dpkg_w -i "$work"/v1/*.deb >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "dpkg -i V1"; }
for p in "${PKGS[@]}"; do
	[ "$(dpkg-query -W -f='${Version}' "$p")" = 0.1.0-1 ] || fail "$p not at 0.1.0-1"
done
ok "dpkg -i V1"
for f in /usr/sbin/tpd /usr/sbin/tpctl /usr/bin/tpolicy /usr/lib/tableau/tpolicy-serve; do
	[ -x "$f" ] && expect_mode "$f" 755 || fail "$f"
done
# tpolicy serve execs the installed tpolicy-serve
/usr/bin/tpolicy serve --help | grep -q '^usage: tpolicy serve --site' ||
	fail "tpolicy serve does not run the installed tpolicy-serve"
for f in /usr/lib/tableau/zone.bpf.o /usr/lib/tableau/transit.bpf.o /etc/tableau/tpd.conf \
	/lib/systemd/system/tpd@.service /lib/systemd/system/tableau-controller.service \
	/etc/default/tableau-controller /usr/share/man/man8/tpd.8.gz /usr/share/man/man8/tpctl.8.gz \
	/usr/share/man/man5/tpd.conf.5.gz /usr/share/man/man1/tpolicy.1.gz; do
	[ -f "$f" ] || fail "$f missing"
	expect_mode "$f" 644
done
expect_mode /var/lib/tableau 700
expect_mode /etc/tableau/tpd.key 600
grep -Eqx '[A-Za-z0-9+/]{43}=' /etc/tableau/tpd.key || fail "tpd.key is not a WireGuard key"
dpkg-query -W -f='${Conffiles}\n' tableau-tpd | grep -q ' /etc/tableau/tpd.conf ' ||
	fail "tpd.conf is not a conffile"
dpkg-query -W -f='${Conffiles}\n' tableau-tools | grep -q ' /etc/default/tableau-controller ' ||
	fail "/etc/default/tableau-controller is not a conffile"
ok "paths and modes"
# the shipped config, the generated key and the installed XDP programs fit
/usr/sbin/tpd --check --config /etc/tableau/tpd.conf | grep -q ': ok (mode xdp)' ||
	fail "tpd --check of the shipped tpd.conf"
for k in zone transit; do
	grep -qx "${k}_xdp_program = /usr/lib/tableau/$k.bpf.o" /etc/tableau/tpd.conf ||
		fail "tpd.conf does not load /usr/lib/tableau/$k.bpf.o"
done
ok "tpd --check of /etc/tableau/tpd.conf"

# ---- the installed units: systemd-analyze offline checks
out=$(systemd-analyze verify tpd@tpd.service tableau-controller.service 2>&1) ||
	fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
for u in tpd@tpd.service tableau-controller.service; do
	level=$(systemd-analyze security --offline=true "$u" 2>&1 | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) \([A-Z]*\).*/\2/p')
	case "$level" in OK | SAFE | PERFECT) ok "$u: $level" ;; *) fail "$u: exposure '$level'" ;; esac
done

# ---- the installed tpd answers tpctl -i NAME
cat >/etc/tableau/tpkg.conf <<CONF
name = tpkg
identity_key = /etc/tableau/tpd.key
mode = memory
memory_mb = 128
state_dir = /var/lib/tableau/tpkg
admin_socket = /run/tableau/tpkg.sock
CONF
install -d -m 700 /var/lib/tableau/tpkg
/usr/sbin/tpd --config /etc/tableau/tpkg.conf >"$work/tpd.log" 2>&1 &
tpd_pid=$!
for _ in $(seq 300); do
	grep -q running "$work/tpd.log" && break
	kill -0 "$tpd_pid" 2>/dev/null || break
	sleep 0.1
done
grep -q running "$work/tpd.log" || { cat "$work/tpd.log"; fail "installed tpd did not start"; }
/usr/sbin/tpctl -i tpkg --json status >"$work/st" || fail "tpctl -i tpkg status"
grep -q '"name": "tpkg"' "$work/st" || fail "tpctl -i tpkg reached another tpd"
kill -TERM "$tpd_pid"
wait "$tpd_pid" || fail "installed tpd did not stop cleanly"
tpd_pid=
ok "installed tpd + tpctl -i tpkg status"

# ---- a lab test on the installed binaries, with no build tree to fall back on
if [ "${TP_PKG_LAB:-1}" = 1 ]; then
	t=${TPDLAB_INSTALLED_TEST:-tpd-rate}
	mkdir -p "$work/no-build"
	(cd "$S" && TP_INSTALLED=1 TP_BUILD_DIR=$work/no-build TPDLAB_PREFIX=tlk "$S/tests/lab/$t/run.sh") \
		>"$work/lab.log" 2>&1 || { tail -40 "$work/lab.log"; fail "lab test $t on the installed binaries"; }
	grep -q "TP_INSTALLED=1" "$work/lab.log" || fail "lab test $t did not use the installed binaries"
	ok "lab test $t with TP_INSTALLED=1"
fi

# ---- upgrade: an admin's edit, the key and the state survive
echo "# edited by the admin" >>/etc/tableau/tpd.conf
key=$(cat /etc/tableau/tpd.key)
echo lkg >/var/lib/tableau/tpkg/marker
dpkg_w -i "$work"/v2/*.deb >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; fail "dpkg -i V2"; }
for p in "${PKGS[@]}"; do
	[ "$(dpkg-query -W -f='${Version}' "$p")" = 0.1.0-2 ] || fail "$p not at 0.1.0-2 after upgrade"
done
grep -qx "# edited by the admin" /etc/tableau/tpd.conf || fail "upgrade lost the admin's tpd.conf edit"
[ "$(cat /etc/tableau/tpd.key)" = "$key" ] || fail "upgrade changed the identity key"
expect_mode /etc/tableau/tpd.key 600
[ -f /var/lib/tableau/tpkg/marker ] || fail "upgrade lost the state"
expect_mode /var/lib/tableau 700
ok "upgrade V1 -> V2"

# ---- purge
dpkg_w --purge "${PKGS[@]}" >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; fail "dpkg --purge"; }
for p in "${PKGS[@]}"; do
	! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed || fail "$p still installed"
done
for f in /usr/sbin/tpd /usr/sbin/tpctl /usr/bin/tpolicy /usr/lib/tableau /etc/tableau/tpd.conf \
	/etc/tableau/tpd.key /var/lib/tableau /lib/systemd/system/tpd@.service \
	/etc/default/tableau-controller; do
	[ ! -e "$f" ] || fail "$f left after purge"
done
[ -f /etc/tableau/tpkg.conf ] || fail "purge removed a config the admin wrote"
ok "purge"
echo "package test: ok"
