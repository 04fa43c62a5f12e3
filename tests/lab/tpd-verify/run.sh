#!/usr/bin/env bash
# Issue 7 acceptance in the lab (LAB_PREFIX tlx): three tpd on the lab
# plant, `tpctl export` from every TP into one folder, `tpolicy verify` on
# it passes (every check, drift included: the live exports match the
# intent `tpolicy export` derives) and writes an SVG of the plant. Then one
# TP is changed — tp3 is given an older bundle through a different path
# (its LKG replaced and restarted on it) — and verify fails naming tp3.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/tpdlab.sh"
PROBE="python3 $HERE/../lib/probe.py"
trap tpdlab_cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tlx}"
tpdlab_bundle 2 "$S/deploy/examples/lab-plant.yaml"
tpdlab_up
for tp in tp1 tp2 tp3; do
	tpdlab_start "$tp" "$W/plant-2.tpb"
done
for tp in tp1 tp2 tp3; do
	grep -q "^policy *version 2" <<<"$(tpdlab_ctl "$tp" status)" || tpdlab_fail "$tp: no policy v2"
done
SERVERS=()
serve() { ip netns exec "$PFX-$1" $PROBE "$2" "$3" & SERVERS+=($!); }
serve z2-h1 tcp-server 502
serve z4-h1 udp-server 5000
trap 'kill ${SERVERS[*]} 2>/dev/null || true; tpdlab_cleanup' EXIT
sleep 0.5
# traffic through every tunnel so handshakes are established and hits count
tpdlab_exec z1-h1 $PROBE tcp 10.2.0.10 502 5 || tpdlab_fail "TCP z1 -> z2:502"
tpdlab_exec z1-h1 ping -c 2 -W 2 10.3.0.10 >/dev/null || tpdlab_fail "ping z1 -> z3"
tpdlab_exec z2-h1 $PROBE udp 10.4.0.10 5000 5 || tpdlab_fail "UDP z2 -> z4:5000"
tpdlab_log "3 tpd up on version 2, traffic through every tunnel"

mkdir -p "$W/plant" "$W/intent"
for tp in tp1 tp2 tp3; do
	tpdlab_ctl "$tp" export "$W/plant/$tp.json" || tpdlab_fail "$tp: tpctl export"
done
# never a secret in an export
for tp in tp1 tp2 tp3; do
	! grep -qF "$(cat "$W/$tp.key")" "$W/plant/"*.json || tpdlab_fail "a private key in an export"
done
"$B/tpolicy" export "$W/plant-2.tpb" -o "$W/intent" --pub "$W/ctl.key.pub" >/dev/null ||
	tpdlab_fail "tpolicy export"
cp "$W/intent/bundle.tpb" "$W/plant/bundle.tpb"
set +e
"$B/tpolicy" verify "$W/plant" --pub "$W/ctl.key.pub" --site "$S/deploy/examples/lab-plant.yaml" \
	--svg "$W/plant.svg" >"$W/verify-ok.txt" 2>&1
rc=$?
set -e
[ $rc = 0 ] || { cat "$W/verify-ok.txt"; tpdlab_fail "verify of the healthy lab: exit $rc"; }
grep -q "drift" "$W/verify-ok.txt" || { cat "$W/verify-ok.txt"; tpdlab_fail "no drift check"; }
grep -q "<svg" "$W/plant.svg" && grep -q "z1" "$W/plant.svg" || tpdlab_fail "no SVG of the plant"
tpdlab_log "verify of the live exports passes, SVG written ($(wc -c <"$W/plant.svg") bytes)"

# --- one TP changed: tp3 back on version 1 through another path -----------
# (its last-known-good replaced by an older signed bundle, then restarted)
tpdlab_stop tp3
cp "$W/plant-1.tpb" "$W/state-tp3/lkg.tpb"
tpdlab_start tp3
grep -q "^policy *version 1" <<<"$(tpdlab_ctl tp3 status)" || tpdlab_fail "tp3: not on version 1"
tpdlab_ctl tp3 export "$W/plant/tp3.json" || tpdlab_fail "tp3: tpctl export"
set +e
"$B/tpolicy" verify "$W/plant" --pub "$W/ctl.key.pub" --site "$S/deploy/examples/lab-plant.yaml" \
	>"$W/verify-bad.txt" 2>&1
rc=$?
set -e
[ $rc = 1 ] || { cat "$W/verify-bad.txt"; tpdlab_fail "verify with tp3 on an old bundle: exit $rc"; }
# the failed check and its findings, up to the next check
awk '/^\[FAIL\]/{f=1; print; next} /^\[(PASS|FAIL)\]/{f=0} f' "$W/verify-bad.txt" >"$W/failed.txt"
grep -q "integrity" "$W/failed.txt" && grep -q "tp3" "$W/failed.txt" ||
	{ cat "$W/verify-bad.txt"; tpdlab_fail "verify does not fail integrity naming tp3"; }
tpdlab_log "tp3 on version 1: verify fails, naming tp3:"
head -6 "$W/failed.txt"
echo PASS
