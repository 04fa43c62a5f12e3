#!/usr/bin/env bash
# tpolicy export, verify and diff end to end on the example plant:
#  - the intent exports of a signed bundle pass all ten checks, as text,
#    JSON (validated against policy/schema/tp-export.schema.json when
#    python3-jsonschema is there) and SVG;
#  - one TP left on the older bundle fails check 1, naming it;
#  - one TP's changed conduit fails drift, naming the conduit;
#  - a bundle checked with the wrong controller key fails check 1;
#  - diff between two versions of the example plant lists exactly the
#    changed flows;
#  - the RFC 8519 export holds the conduits as ACEs.
# Needs TP_BUILD_DIR and TP_SOURCE_DIR.
set -euo pipefail
# unquoted $P below: TP_EMULATOR (cross-build: qemu) splits into words
P="${TP_EMULATOR:-} ${TP_BUILD_DIR:?}/tpolicy"
SRC=${TP_SOURCE_DIR:?}
EX=$SRC/deploy/examples
. "$(dirname "$0")/../../lib/tally.sh"
tl_scratch tpv-cli
NOW=2026-11-28T00:00:00Z
# contains FILE "text" : some line contains text
contains() {
	if grep -qF -- "$2" "$1"; then ok "  mentions: $2"; else
		bad "  nothing mentions: $2"
		sed 's/^/     /' "$1"
	fi
}

# Version 2 of the example plant: one conduit gone, one narrowed, one added.
python3 - "$EX/plant.yaml" "$T/plant-v2.yaml" <<'PY'
import sys
src = open(sys.argv[1]).read()
def edit(old, new):
    global src
    assert src.count(old) == 1, "anchor not found once: " + old
    src = src.replace(old, new)
# historian no longer replicates to the DMZ
edit("""  - id: 201
    name: historian-replicates-to-dmz
    from: historian
    to: dmz
    action: allow
    proto: tcp
    dst_ports: [443]
""", "")
# engineering loses S7comm to cell 1
edit("""    to: cell1
    action: allow
    proto: tcp
    dst_ports: [102, 502, 4840]  # S7comm, Modbus, OPC UA""", """    to: cell1
    action: allow
    proto: tcp
    dst_ports: [502, 4840]""")
# SCADA writes its alarms to the historian
edit("""  # --- historian ---""", """  - id: 140
    name: scada-alarms-historian
    from: scada
    to: historian
    action: allow
    proto: tcp
    dst_ports: [5432]

  # --- historian ---""")
open(sys.argv[2], "w").write(src)
PY
ok "plant v2 written"

# ---- keys, two signed versions
expect 0 "controller key" $P keygen --controller -o "$T/ctl.key"
expect 0 "another controller key" $P keygen --controller -o "$T/other.key"
expect 0 "compile v1" $P compile "$EX/plant.yaml" -o "$T/v1.tpb" --key "$T/ctl.key" \
	--version 1 --now $NOW --valid-for 30d
expect 0 "compile v2" $P compile "$T/plant-v2.yaml" -o "$T/v2.tpb" --key "$T/ctl.key" \
	--version 2 --now $NOW --valid-for 30d

# ---- intent export of v2, verify passes
expect 0 "export v2 bundle" $P export "$T/v2.tpb" -o "$T/plant" --pub "$T/ctl.key.pub" --now $NOW
for tp in tp-dmz tp-control tp-cell1 tp-cell2 tp-safety; do
	has "$T/out" "$T/plant/$tp.json"
done
has "$T/out" "$T/plant/bundle.tpb"
expect 0 "verify: the intent passes" $P verify "$T/plant" --pub "$T/ctl.key.pub" --now $NOW \
	--svg "$T/plant.svg"
has "$T/out" "result: PASS (0 of 10 checks failed)"
has "$T/out" "  scada -> cell1: icmp 8 (130) tcp/502 (100) tcp/4840 (110)"
has "$T/out" "  scada -> historian: tcp/5432 (140)"
grep -q "<svg" "$T/plant.svg" && ok "  SVG written" || bad "  no SVG"
for z in dmz scada historian eng cell1 cell2 safety; do
	grep -q ">$z<" "$T/plant.svg" || bad "  zone $z not in the SVG"
done
grep -q 'stroke="red"' "$T/plant.svg" && bad "  red in a passing SVG" || ok "  nothing red"
expect 0 "verify --json" $P verify "$T/plant" --pub "$T/ctl.key.pub" --now $NOW --json
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["result"] == "pass", r["result"]
assert [c["status"] for c in r["checks"]] == ["pass"] * 10
assert {"from": "eng", "to": "cell1", "service": "tcp/502", "intent": True, "effective": True,
        "conduit": 300} in r["matrix"]
' "$T/out" && ok "  JSON report" || bad "  JSON report"
python3 - "$SRC/policy/schema/tp-export.schema.json" "$T"/plant/*.json <<'PY' &&
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for f in sys.argv[2:]:
    errs = list(v.iter_errors(json.load(open(f))))
    assert not errs, (f, errs[0].message)
PY
	ok "  exports valid against the JSON Schema" || bad "  JSON Schema (needs python3-jsonschema)"
# canonical: exporting again gives the same bytes
expect 0 "export again" $P export "$T/v2.tpb" -o "$T/again" --pub "$T/ctl.key.pub" --now $NOW
cmp -s "$T/plant/tp-cell1.json" "$T/again/tp-cell1.json" && ok "  same bytes" || bad "  not canonical"

# ---- one TP left on the older bundle: check 1 fails, naming it
expect 0 "export v1 for tp-cell1" $P export "$T/v1.tpb" -o "$T/old" --tp tp-cell1 \
	--pub "$T/ctl.key.pub" --now $NOW
cp -r "$T/plant" "$T/mixed"
cp "$T/old/tp-cell1.json" "$T/mixed/tp-cell1.json"
expect 1 "verify: a TP on the old bundle fails" $P verify "$T/mixed" --pub "$T/ctl.key.pub" \
	--now $NOW --svg "$T/mixed.svg"
has "$T/out" "[FAIL]  1 integrity     schema, bundle hash and signature, one policy version"
contains "$T/out" "tp-cell1: runs policy version 1 while tp-cell2 runs version 2"
contains "$T/out" "tp-cell1: runs bundle "
grep -q 'red' "$T/mixed.svg" && ok "  failures drawn red" || bad "  no red in the SVG"

# ---- one TP's conduit changed: drift names the conduit and a flow
cp -r "$T/plant" "$T/drift"
python3 - "$T/drift/tp-cell1.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["rules"]:
    if r["id"] == 100:
        r["dst_ports"] = [[503, 503]]
json.dump(d, open(sys.argv[1], "w"), indent=2, sort_keys=True)
PY
expect 1 "verify: a changed conduit fails" $P verify "$T/drift" --pub "$T/ctl.key.pub" --now $NOW
contains "$T/out" "tp-cell1: conduit 100 'scada-modbus-cell1' differs from the intent in 'dst_ports'"
contains "$T/out" "scada -> cell1 tcp/502: 'tp-control' sends it, 'tp-cell1' drops it (black hole)"
contains "$T/out" "flow: tcp 10.20.1.1:49152 -> 10.31.0.1:502"

# ---- a malformed export and a foreign controller key
cp -r "$T/plant" "$T/broken"
echo '{"schema": "tableau-export/1"' >"$T/broken/tp-dmz.json"
expect 1 "verify: an unreadable export fails" $P verify "$T/broken" --pub "$T/ctl.key.pub" --now $NOW
contains "$T/out" "unreadable export: tp-dmz.json: export: not JSON"
expect 1 "verify: wrong controller key fails" $P verify "$T/plant" --pub "$T/other.key.pub" --now $NOW
contains "$T/out" "bundle refused"
expect 2 "verify: usage" $P verify
expect 2 "verify: no such folder" $P verify "$T/nope"

# ---- YAML intent against itself, and --site as the reference
expect 0 "export yaml" $P export "$EX/plant.yaml" -o "$T/yaml" --now $NOW
expect 0 "verify yaml exports with --site" $P verify "$T/yaml" --site "$EX/plant.yaml" --now $NOW
expect 1 "verify v2 exports against v1 --site" $P verify "$T/yaml" --site "$T/plant-v2.yaml" --now $NOW
contains "$T/out" "conduit 140 'scada-alarms-historian' of the intent is not enforced"
expect 1 "verify: the bundle is not the --site policy" $P verify "$T/plant" --pub "$T/ctl.key.pub" \
	--site "$EX/plant.yaml" --now $NOW
contains "$T/out" "the signed bundle (version 2) does not hold the reference policy"

# ---- diff: exactly the changed flows
expect 1 "diff v1 v2" $P diff "$EX/plant.yaml" "$T/plant-v2.yaml" --now $NOW
cat >"$T/want" <<'W'
- eng -> cell1 tcp/102 (was conduit 300)
- historian -> dmz tcp/443 (was conduit 201)
+ scada -> historian tcp/5432 (conduit 140)
1 newly allowed, 2 newly denied
W
diff -u "$T/want" "$T/out" && ok "  exactly the changed flows" || bad "  diff output"
expect 1 "diff of the bundles" $P diff "$T/v1.tpb" "$T/v2.tpb" --pub "$T/ctl.key.pub" --now $NOW
diff -u "$T/want" "$T/out" && ok "  same from bundles" || bad "  bundle diff output"
expect 0 "diff v1 v1" $P diff "$EX/plant.yaml" "$T/v1.tpb" --pub "$T/ctl.key.pub" --now $NOW
has "$T/out" "0 newly allowed, 0 newly denied"
# inside the vendor window the same three flows change (conduit 500 is in both)
expect 1 "diff --json" $P diff "$EX/plant.yaml" "$T/plant-v2.yaml" --now 2036-12-01T09:00:00Z --json
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["flows"]) == 3, d
' "$T/out" 2>/dev/null && ok "  JSON diff" || bad "  JSON diff"

# ---- RFC 8519
expect 0 "export --format ietf-acl" $P export "$EX/plant.yaml" -o "$T/acl" --format ietf-acl --now $NOW
python3 - "$T/acl/tp-cell1.acl.json" <<'PY' && ok "  ACEs of tp-cell1" || bad "  ietf-acl content"
import json, sys
d = json.load(open(sys.argv[1]))
acls = d["ietf-access-control-list:acls"]["acl"]
names = [a["name"] for a in acls]
assert names == ["tp-cell1-ipv4", "tp-cell1-ipv6"], names
aces = acls[0]["aces"]["ace"]
m = [a for a in aces if a["name"] == "conduit-100-0"][0]
assert m["matches"]["ipv4"] == {"protocol": 6, "source-ipv4-network": "10.20.1.0/24",
                                "destination-ipv4-network": "10.31.0.0/24"}, m
assert m["matches"]["tcp"] == {"destination-port": {"operator": "eq", "port": 502}}, m
assert m["actions"]["forwarding"] == "ietf-access-control-list:accept"
assert aces[-1]["name"] == "default-deny"
assert not any(a["name"].startswith("conduit-500-") for a in aces)  # window closed now
PY

echo "$fails failure(s)"
[ "$fails" -eq 0 ]
