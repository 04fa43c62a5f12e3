#!/usr/bin/env bash
# Storage faults (RELIABILITY.md section 4), tpd in memory mode with its
# state_dir on a small tmpfs of its own. Needs root (mount, EAL).
#   1. version 1 applied: the last-known-good (LKG) is its exact bytes
#   2. the filesystem full but one page, version 2 (above a page) applied:
#      refused, "cannot persist the last-known-good bundle: No space left
#      on device"; version 1 still runs, the LKG is still version 1 and no
#      temporary file is left; the floor was staged first (version 2,
#      PREV = version 1's hash)
#   3. tpd SIGKILLed and started again: it boots on version 1 (below that
#      floor, allowed as the bundle that ran before) and says why
#   4. space again: version 2 applied and persisted
#   5. tpd SIGKILLed between the write of version 3's LKG and its rename
#      (LD_PRELOAD kill_at_rename.so): lkg.tpb is version 2, lkg.tpb.tmp
#      all of version 3; started again it boots on version 2 and names the
#      unfinished save
#   6. half a bundle as lkg.tpb (a disk that lost the end of a write): never
#      run; tpd starts without policy (fail closed) and says why
#   7. version 3 applied: persisted, the leftover temporary file gone
set -euo pipefail
B=${TP_BUILD_DIR:?}
S=${TP_SOURCE_DIR:?}
SHIM=${TP_KILL_AT_RENAME_LIB:?the kill_at_rename module (tests/lab/tpd-storage/CMakeLists.txt)}
. "$S/tests/lib/daemons.sh"
tl_work tpr-storage
ST=$work/state
mkdir -p "$ST"
trap 'umount "$ST" 2>/dev/null || true; tl_stop_all' EXIT
mount -t tmpfs -o size=1m,mode=0700 tpr-storage "$ST"
umask 077

# tp1 of the lab plant (deploy/examples/lab-keys: lab only)
cp "$S/deploy/examples/lab-keys/tp1.key" "$work/key"
"$B/tpolicy" keygen --controller -o "$work/ctl.key" >/dev/null 2>&1
compile() { # compile VERSION SITE.yaml
	"$B/tpolicy" compile "$2" -o "$work/v$1.tpb" --key "$work/ctl.key" --version "$1" \
		--valid-for 30d >"$work/compile.log" 2>&1 || fail "compile v$1: $(cat "$work/compile.log")"
}
# version 2: the lab plant with 200 more conduits, so its LKG needs more
# than the one page left free in step 2
python3 - "$S/deploy/examples/lab-plant.yaml" "$work/big.yaml" <<'PY'
import sys
s = open(sys.argv[1]).read()
extra = "".join(f"""  - id: {1000 + i}
    name: filler-{i}
    from: z1
    to: z2
    action: allow
    proto: tcp
    dst_ports: [{10000 + i}]
""" for i in range(200))
open(sys.argv[2], "w").write(s.replace("conduits:\n", "conduits:\n" + extra, 1))
PY
compile 1 "$S/deploy/examples/lab-plant.yaml"
compile 2 "$work/big.yaml"
compile 3 "$S/deploy/examples/lab-plant.yaml"
[ "$(stat -c %s "$work/v2.tpb")" -gt 4096 ] || fail "version 2 is not above a page ($(stat -c %s "$work/v2.tpb") bytes)"

cat >"$work/tpd.conf" <<CONF
name = tpr-storage
identity_key = $work/key
mode = memory
memory_mb = 128
admin_socket = $work/tpd.sock
state_dir = $ST
controller_key = $(cat "$work/ctl.key.pub")
audit = off
CONF

TPD=
start_tpd() { # start_tpd [ENV=VALUE...]: tpd in the background, until it runs
	: >"$work/tpd.log"
	env "$@" "$B/tpd" --config "$work/tpd.conf" >"$work/tpd.log" 2>&1 &
	TPD=$!
	pids+=("$TPD")
	for _ in $(seq 300); do
		grep -q "^tpd: tpr-storage: running, mode " "$work/tpd.log" && return 0
		kill -0 "$TPD" 2>/dev/null || break
		sleep 0.1
	done
	cat "$work/tpd.log" >&2
	fail "tpd did not start"
}
kill_tpd() {
	kill -KILL "$TPD" 2>/dev/null || true
	wait "$TPD" 2>/dev/null || true
}
ctl() { "$B/tpctl" --socket "$work/tpd.sock" "$@"; }
policy() { ctl --json status | python3 -c "import json,sys; p=json.load(sys.stdin)['policy']; print(p.get('version', 0), p['state'])"; }
apply() { ctl apply "$1" >"$work/apply.out" 2>&1; }

# --- 1 ------------------------------------------------------------------------
start_tpd
apply "$work/v1.tpb" || fail "apply v1: $(cat "$work/apply.out")"
cmp -s "$ST/lkg.tpb" "$work/v1.tpb" || fail "the LKG is not version 1's bytes"
[ "$(policy)" = "1 enforcing" ] || fail "v1: $(policy)"
echo "1. version 1 applied and persisted"

# --- 2 ------------------------------------------------------------------------
dd if=/dev/zero of="$ST/filler" bs=4096 >/dev/null 2>&1 || true # until ENOSPC
truncate -s -4096 "$ST/filler"
avail=$(df --output=avail -B1 "$ST" | tail -n1 | tr -d ' ')
[ "$avail" -le 8192 ] || fail "the filesystem is not full: $avail bytes free"
if apply "$work/v2.tpb"; then fail "v2 applied on a full filesystem"; fi
grep -q "cannot persist the last-known-good bundle: No space left on device" "$work/apply.out" ||
	fail "v2 refusal: $(cat "$work/apply.out")"
[ "$(policy)" = "1 enforcing" ] || fail "after the refusal: $(policy)"
cmp -s "$ST/lkg.tpb" "$work/v1.tpb" || fail "the LKG changed"
[ ! -e "$ST/lkg.tpb.tmp" ] || fail "a temporary file was left behind"
read -r _ fv _ <"$ST/floor"
[ "$fv" = 2 ] || fail "the floor was not staged at version 2: $(cat "$ST/floor")"
echo "2. full filesystem: version 2 refused ($(tail -n1 "$work/apply.out")), version 1 runs"

# --- 3 ------------------------------------------------------------------------
kill_tpd
start_tpd
grep -q "policy version 1 from last-known-good: the bundle that ran before version 2, whose save did not finish" \
	"$work/tpd.log" || fail "boot after the failed save: $(cat "$work/tpd.log")"
[ "$(policy)" = "1 enforcing" ] || fail "after the restart: $(policy)"
echo "3. killed and started again: boots on version 1 and says why"

# --- 4 ------------------------------------------------------------------------
rm -f "$ST/filler"
apply "$work/v2.tpb" || fail "apply v2 with space: $(cat "$work/apply.out")"
cmp -s "$ST/lkg.tpb" "$work/v2.tpb" || fail "the LKG is not version 2"
echo "4. space again: version 2 applied and persisted"

# --- 5 ------------------------------------------------------------------------
kill_tpd
# a sanitizer build's runtime wants to come first; the shim only wraps rename
start_tpd LD_PRELOAD="$SHIM" TP_KILL_AT_RENAME=/lkg.tpb \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
if apply "$work/v3.tpb"; then fail "apply v3 returned although tpd was to die at the rename"; fi
rc=0
wait "$TPD" || rc=$?
[ "$rc" = 137 ] || fail "tpd did not die by SIGKILL at the rename (status $rc): $(tail -3 "$work/tpd.log")"
cmp -s "$ST/lkg.tpb" "$work/v2.tpb" || fail "the LKG is not version 2 after the kill"
cmp -s "$ST/lkg.tpb.tmp" "$work/v3.tpb" || fail "lkg.tpb.tmp is not version 3 whole"
start_tpd
grep -q "lkg.tpb.tmp ($(stat -c %s "$work/v3.tpb") bytes) is a last-known-good save that did not finish" "$work/tpd.log" ||
	fail "no word of the unfinished save: $(cat "$work/tpd.log")"
grep -q "policy version 2 from last-known-good: the bundle that ran before version 3, whose save did not finish" \
	"$work/tpd.log" || fail "boot after the kill: $(cat "$work/tpd.log")"
[ "$(policy)" = "2 enforcing" ] || fail "after the kill: $(policy)"
echo "5. killed between write and rename: boots on version 2, names the unfinished save"

# --- 6 ------------------------------------------------------------------------
kill_tpd
head -c "$(($(stat -c %s "$work/v2.tpb") / 2))" "$work/v2.tpb" >"$ST/lkg.tpb"
start_tpd
grep -q "last-known-good $ST/lkg.tpb not used: " "$work/tpd.log" ||
	fail "half a bundle: $(cat "$work/tpd.log")"
p=$(policy)
[ "${p#* }" = no-policy ] || fail "half a bundle: policy $p"
echo "6. half a bundle as the LKG: not run ($(grep -o 'not used: .*' "$work/tpd.log")), no policy (fail closed)"

# --- 7 ------------------------------------------------------------------------
apply "$work/v3.tpb" || fail "apply v3: $(cat "$work/apply.out")"
cmp -s "$ST/lkg.tpb" "$work/v3.tpb" || fail "the LKG is not version 3"
[ ! -e "$ST/lkg.tpb.tmp" ] || fail "lkg.tpb.tmp is still there"
echo "7. version 3 applied: persisted, nothing left over"
echo PASS
