#!/usr/bin/env bash
# The audit trail of a lab run (issue 14 item 4; LAB_PREFIX tla): three tpd
# (xdp mode, audit = file:$W/tpN.audit) with `tpolicy serve` as their
# controller on the transit bridge (192.0.2.250), the lab plant with the
# Modbus conduit z1 -> z2 logged.
#   1. version 1 pushed, a Modbus connection z1 -> z2 (tunnel up, flow log)
#   2. version 2 pushed (SIGHUP), then `tpctl apply` of version 1 at tp1:
#      refused as a rollback
#   3. 20 forged handshake initiations at tp1 from the transit bridge:
#      refused (bad_mac1), at most TP_AUDIT_HS_PER_INTERVAL (5) lines
#   4. the controller killed: every TP loses it and goes to island; tp1
#      stops; tp2 restarts on its last-known-good (boot, island at once)
# Then every line of every trail must parse as RFC 5424 with the
# tableau@32473 structured data (a small parser below, independent of the
# C formatter), and the events above must be there with their fields.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/tpdlab.sh"
PROBE="python3 $HERE/../lib/probe.py"
CTL_ADDR=192.0.2.250
SERVERS=()
stop_serve() { tpdlab_serve_stop "$@"; }
cleanup() {
	stop_serve
	kill "${SERVERS[@]}" 2>/dev/null || true
	tpdlab_cleanup
}
trap cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tla}"
export TPDLAB_CONTROLLER=$CTL_ADDR:7443 TPDLAB_AUDIT=file
T_START=$(date +%s)
tpdlab_up
tx() { ip netns exec "$PFX-transit" "$@"; }
tx ip addr add $CTL_ADDR/24 dev br0
mkdir -p "$W/site" "$W/serve"
# the lab plant, its Modbus conduit logged
sed 's/^    dst_ports: \[502\]$/    dst_ports: [502]\n    log: true/' "$S/deploy/examples/lab-plant.yaml" >"$W/site/site.yaml"
grep -q "log: true" "$W/site/site.yaml" || tpdlab_fail "could not mark the Modbus conduit logged"

start_serve() { tpdlab_serve_start $CTL_ADDR; }
status() { tpdlab_serve_status "$@"; }
tp_json() { tpdlab_ctl "$1" --json status | python3 -c "import json,sys; s=json.load(sys.stdin); print($2)"; }

# --- 1. version 1, a logged connection ----------------------------------------
start_serve
for tp in tp1 tp2 tp3; do tpdlab_start "$tp"; done
status --wait 1 --timeout 30 >"$W/status1.txt" || tpdlab_fail "not every TP on version 1: $(cat "$W/status1.txt")"
ip netns exec "$PFX-z2-h1" $PROBE tcp-server 502 &
SERVERS+=($!)
sleep 0.5
tpdlab_exec z1-h1 $PROBE tcp 10.2.0.10 502 5 || tpdlab_fail "TCP z1 -> z2:502"
tpdlab_log "version 1 enforced, Modbus z1 -> z2 passed"

# --- 2. version 2 pushed, version 1 applied from a file: a rollback ----------
kill -HUP "$SERVE_PID"
status --wait 2 --timeout 30 >"$W/status2.txt" || tpdlab_fail "not every TP on version 2: $(cat "$W/status2.txt")"
if tpdlab_ctl tp1 apply "$W/plant-1.tpb" >"$W/apply.out" 2>&1; then
	tpdlab_fail "tpctl apply of version 1 over version 2 succeeded"
fi
grep -q "not newer" "$W/apply.out" || tpdlab_fail "apply refusal: $(cat "$W/apply.out")"
tpdlab_log "version 2 pushed; tpctl apply of version 1 refused: $(cat "$W/apply.out")"

# --- 3. forged handshake initiations at tp1 ------------------------------------
# type 1, 148 bytes, zero MACs: tp1's tunnel refuses them (bad_mac1)
tx python3 - <<'PY'
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.250", 40000))
msg = struct.pack("<I", 1) + bytes(144)
for _ in range(20):
    s.sendto(msg, ("192.0.2.11", 51820))
PY
sleep 1
tpdlab_log "20 forged handshake initiations sent to tp1"

# --- 4. the controller lost, tp1 stopped ---------------------------------------
stop_serve KILL
for _ in $(seq 50); do
	[ "$(tp_json tp1 's["policy"]["state"]')" = island ] && break
	sleep 0.2
done
[ "$(tp_json tp1 's["policy"]["state"]')" = island ] || tpdlab_fail "tp1 not in island mode"
[ "$(tp_json tp1 's["audit"]["fallback"]')" = 0 ] || tpdlab_fail "tp1: audit lines went to the fallback"
tpdlab_stop tp1
# tp2 restarted without its controller: version 2 from its last-known-good
tpdlab_stop tp2
tpdlab_start tp2
[ "$(tp_json tp2 's["policy"]["state"]')" = island ] || tpdlab_fail "tp2 not in island mode after restart"
tpdlab_log "controller lost: island; tp1 stopped; tp2 restarted on its last-known-good"
T_END=$(($(date +%s) + 1))

python3 - "$W" "$T_START" "$T_END" <<'PY' || tpdlab_fail "audit trail: see above"
import datetime, re, sys

W, t0, t1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
HDR = re.compile(r"<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) ")


def parse(line):
    """RFC 5424 (section 6) with one SD-ELEMENT; returns (pri, ts, msgid, params, msg)."""
    m = HDR.match(line)
    assert m, f"header: {line!r}"
    pri, ts, host, app, procid, msgid = m.groups()
    assert 0 <= int(pri) <= 191, line
    for f, n in ((host, 255), (app, 48), (procid, 128), (msgid, 32)):
        assert 1 <= len(f) <= n and all(33 <= ord(c) <= 126 for c in f), (f, line)
    assert app == "tpd", line
    when = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    assert t0 - 1 <= when.timestamp() <= t1, f"timestamp {ts} outside the run: {line}"
    rest = line[m.end():]
    assert rest.startswith("[tableau@32473"), line
    i, params = len("[tableau@32473"), {}
    while rest[i] == " ":
        j = rest.index("=", i)
        name = rest[i + 1:j]
        assert 1 <= len(name) <= 32 and not set(name) & set(' ="]'), line
        assert rest[j + 1] == '"', line
        i, val = j + 2, []
        while rest[i] != '"':
            assert rest[i] != "]", f"unescaped ] in {line}"
            if rest[i] == "\\" and rest[i + 1] in '"\\]':
                i += 1
            val.append(rest[i])
            i += 1
        params[name] = "".join(val)
        i += 1
    assert rest[i] == "]", line
    msg = rest[i + 1:]
    assert msg == "" or msg.startswith(" "), line
    return int(pri), when, msgid, params, msg[1:]


trails = {}
for tp in ("tp1", "tp2", "tp3"):
    with open(f"{W}/{tp}.audit", encoding="utf-8") as f:
        raw = f.read()
    assert raw.endswith("\n"), tp
    trails[tp] = [parse(line) for line in raw[:-1].split("\n")]
    print(f"{tp}: {len(trails[tp])} audit lines, all RFC 5424")


def find(tp, msgid, **want):
    return [e for e in trails[tp] if e[2] == msgid and all(e[3].get(k) == v for k, v in want.items())]


def one(tp, msgid, **want):
    got = find(tp, msgid, **want)
    assert got, f"{tp}: no {msgid} {want}; have: " + "\n".join(
        f"{e[2]} {e[3]}" for e in trails[tp])
    return got[0]


for tp in ("tp1", "tp2", "tp3"):
    one(tp, "daemon-start", name=f"tla-{tp}")
    one(tp, "policy-state", state="no-policy")
    one(tp, "bundle-applied", source="controller", version="1", current="1")
    one(tp, "bundle-applied", source="controller", version="2", current="2")
    one(tp, "policy-state", state="enforcing", previous="no-policy", version="1")
    one(tp, "controller-up", address="192.0.2.250:7443")
    one(tp, "controller-down", address="192.0.2.250:7443")
    e = one(tp, "policy-state", state="island", previous="enforcing")
    assert e[0] == 10 * 8 + 4, e  # authpriv.warning
# the timestamps are in order within a trail (one control thread)
for tp, t in trails.items():
    assert all(a[1] <= b[1] for a, b in zip(t, t[1:])), tp

one("tp1", "peer-up", peer="tp2")
one("tp2", "peer-up", peer="tp1")
e = one("tp1", "bundle-refused", source="file", version="1", current="2")
assert e[3]["file"].endswith("/plant-1.tpb") and "not newer" in e[3]["reason"], e
hs = find("tp1", "handshake-failed", src="192.0.2.250", port="40000", reason="bad_mac1")
assert 1 <= len(hs) <= 5, f"{len(hs)} handshake-failed lines (rate limit 5 per minute)"
flows = [e for e in trails["tp1"] if e[2] == "flow" and 'rule 10 "modbus-z1-z2" allow tcp 10.1.0.10:' in e[4]]
assert len(flows) == 1 and flows[0][4].endswith("-> 10.2.0.10:502 zones z1 -> z2 (egress)"), flows
assert any(e[2] == "flow" and "(ingress)" in e[4] for e in trails["tp2"]), "tp2: no ingress flow line"
one("tp1", "daemon-stop")
one("tp2", "daemon-stop")
e = one("tp2", "bundle-applied", source="boot", version="2", current="2")
assert e[3]["file"].endswith("/state-tp2/lkg.tpb"), e
# the restarted tp2 (its second daemon-start): no-policy, then island at
# once (the last-known-good is live before the controller is reached)
i = [k for k, x in enumerate(trails["tp2"]) if x[2] == "daemon-start"][1]
assert e in trails["tp2"][i:], "the boot apply is not in tp2's second life"
assert [(x[3]["state"], x[3].get("previous")) for x in trails["tp2"][i:] if x[2] == "policy-state"] \
    == [("no-policy", None), ("island", "no-policy")], [f"{x[2]} {x[3]}" for x in trails["tp2"][i:]]
print("tp1:", len(hs), "handshake-failed line(s);", " ".join(sorted({e[2] for e in trails["tp1"]})))
PY
tpdlab_log "audit trails parse as RFC 5424 and hold every event of the run"
echo PASS
