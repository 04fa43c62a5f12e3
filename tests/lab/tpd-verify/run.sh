#!/usr/bin/env bash
# Issue 7 acceptance in the lab (LAB_PREFIX tlx): three tpd on the lab
# plant, `tpctl export` from every TP into one folder, `tpolicy verify` on
# it passes (every check, drift included: the live exports match the
# intent `tpolicy export` derives) and writes an SVG of the plant. Then one
# TP is changed — tp3 is given an older bundle through a different path
# (its LKG replaced and restarted on it) — and verify fails naming tp3.
#
# Version 2 is the lab plant plus two one-way conduits (`stateful: false`,
# DESIGN.md §7.4): z1 -> z2 udp/514, whose reverse zone pair tp2's XDP
# passes anyway (for the replies of the Modbus conduit), so the reply is
# refused by the workers' policy and flow table; and z2 -> z3 udp/514, whose
# reverse pair tp3's XDP does not pass at all. Datagrams go through one way,
# their echoes and the reverse direction are refused, and the live exports
# of all three TPs still pass every check (drift included).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/tpdlab.sh"
PROBE="python3 $HERE/../lib/probe.py"
trap tpdlab_cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tlx}"
SITE=$W/lab-plant-oneway.yaml
cp "$S/deploy/examples/lab-plant.yaml" "$SITE"
# appended to the conduits (the file ends with the assertions): rebuild the
# list with the two one-way conduits before "assertions:"
python3 - "$SITE" <<'PY'
import sys
p = sys.argv[1]
t = open(p).read()
extra = """
  - { id: 40, name: syslog-z1-z2, from: z1, to: z2, action: allow, proto: udp,
      dst_ports: [514], stateful: false }
  - { id: 41, name: syslog-z2-z3, from: z2, to: z3, action: allow, proto: udp,
      dst_ports: [514], stateful: false }

"""
i = t.index("\nassertions:")
open(p, "w").write(t[:i] + "\n" + extra + t[i + 1:])
PY
"$B/tpolicy" lint "$SITE" >"$W/lint.txt" 2>&1 || { cat "$W/lint.txt"; tpdlab_fail "lint $SITE"; }
tpdlab_bundle 2 "$SITE"
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

# --- one-way conduits --------------------------------------------------------
# sink.py PORT FILE: log every datagram received, and echo it (the echo is
# the reply that a stateless conduit must not admit)
cat >"$W/sink.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
while True:
    d, a = s.recvfrom(65536)
    with open(sys.argv[2], "a") as f:
        f.write("%s %s\n" % (a[0], d.decode(errors="replace")))
    s.sendto(d, a)
PY
sink() { ip netns exec "$PFX-$1" python3 "$W/sink.py" 514 "$W/sink-$1.txt" & SERVERS+=($!); }
sink z1-h1
sink z2-h1
sink z3-h1
sleep 0.5
got() { { cat "$W/sink-$1.txt" 2>/dev/null || true; } | grep -c "^$2 " || true; }
deny0=$(tpdlab_counter tp2 policy_deny)
# z1 -> z2: arrives; its echo (z2 -> z1, no flow) is refused
! tpdlab_exec z1-h1 $PROBE udp 10.2.0.10 514 1 || tpdlab_fail "z2's echo reached z1 (one-way 40)"
[ "$(got z2-h1 10.1.0.10)" -ge 1 ] || tpdlab_fail "z1 -> z2 udp/514 did not arrive (conduit 40)"
deny1=$(tpdlab_counter tp2 policy_deny)
[ "$deny1" -gt "$deny0" ] || tpdlab_fail "tp2 did not count the refused echo ($deny0 -> $deny1)"
# z2 -> z1 opened from z2: nothing allows it
tpdlab_exec z2-h1 $PROBE udp 10.1.0.10 514 1 && tpdlab_fail "z2 -> z1 udp/514 answered"
[ "$(got z1-h1 10.2.0.10)" = 0 ] || tpdlab_fail "z2 -> z1 udp/514 arrived: one-way conduit 40 is two-way"
# z2 -> z3: arrives; tp3's XDP has no (z3, z2) pair for the echo
xdp_nc() {
	tpdlab_ctl tp3 --json counters |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["xdp"]["zone"].get("drop_no_conduit", 0))'
}
nc0=$(xdp_nc)
! tpdlab_exec z2-h1 $PROBE udp 10.3.0.10 514 1 || tpdlab_fail "z3's echo reached z2 (one-way 41)"
[ "$(got z3-h1 10.2.0.10)" -ge 1 ] || tpdlab_fail "z2 -> z3 udp/514 did not arrive (conduit 41)"
[ "$(got z2-h1 10.3.0.10)" = 0 ] || tpdlab_fail "z3 reached z2"
nc1=$(xdp_nc)
[ "$nc1" -gt "$nc0" ] || tpdlab_fail "tp3: XDP drop_no_conduit $nc0 -> $nc1 (echo z3 -> z2)"
tpdlab_log "one-way conduits 40, 41: forward delivered, echoes and reverse refused" \
	"(tp2 policy_deny $deny0 -> $deny1, tp3 XDP drop_no_conduit $nc0 -> $nc1)"

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
"$B/tpolicy" verify "$W/plant" --pub "$W/ctl.key.pub" --site "$SITE" \
	--svg "$W/plant.svg" >"$W/verify-ok.txt" 2>&1
rc=$?
set -e
[ $rc = 0 ] || { cat "$W/verify-ok.txt"; tpdlab_fail "verify of the healthy lab: exit $rc"; }
grep -q "drift" "$W/verify-ok.txt" || { cat "$W/verify-ok.txt"; tpdlab_fail "no drift check"; }
grep -q "<svg" "$W/plant.svg" && grep -q "z1" "$W/plant.svg" || tpdlab_fail "no SVG of the plant"
tpdlab_log "verify of the live exports passes, SVG written ($(wc -c <"$W/plant.svg") bytes)"
# tp3's live XDP table: z3 -> z2 stays closed (41 is one-way), as the intent says
python3 - "$W/plant/tp3.json" "$W/intent/tp3.json" <<'PY' || tpdlab_fail "tp3 XDP pairs"
import json, sys
live, intent = (json.load(open(p)) for p in sys.argv[1:3])
lp, ip = live["xdp"]["pass_pairs"], intent["xdp"]["pass_pairs"]
assert ["z3", "z2"] not in lp, lp
assert sorted(lp) == sorted(ip), (lp, ip)
PY

# --- one TP changed: tp3 back on version 1 through another path -----------
# Its last-known-good replaced by an older signed bundle: the rollback floor
# (STATE/floor) refuses it at start, so tp3 runs no policy rather than v1.
tpdlab_stop tp3
cp "$W/plant-1.tpb" "$W/state-tp3/lkg.tpb"
tpdlab_start tp3
if grep -q "^policy *version 1" <<<"$(tpdlab_ctl tp3 status)"; then
	tpdlab_fail "tp3: an older LKG was accepted past the rollback floor"
fi
tpdlab_log "tp3: an older last-known-good is refused at start (floor kept)"
# Both files of the state changed (the floor survives the loss of any one):
# only then does tp3 boot the older bundle, which verify must catch.
tpdlab_stop tp3
rm -f "$W/state-tp3/floor"
tpdlab_start tp3
grep -q "^policy *version 1" <<<"$(tpdlab_ctl tp3 status)" || tpdlab_fail "tp3: not on version 1"
tpdlab_ctl tp3 export "$W/plant/tp3.json" || tpdlab_fail "tp3: tpctl export"
set +e
"$B/tpolicy" verify "$W/plant" --pub "$W/ctl.key.pub" --site "$SITE" \
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
