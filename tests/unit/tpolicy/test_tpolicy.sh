#!/usr/bin/env bash
# tpolicy end to end: keygen, lint (a good plant passes, a copy with a
# mistake fails at file:line:col), compile, show, check, and refusals of
# tampered or foreign bundles. Needs TP_BUILD_DIR and TP_SOURCE_DIR.
set -euo pipefail
# unquoted $P below: TP_EMULATOR (cross-build: qemu) splits into words
P="${TP_EMULATOR:-} ${TP_BUILD_DIR:?}/tpolicy"
# `tpolicy serve` execs the program tpolicy-serve found next to tpolicy. Under
# qemu-user (cross-build) a program cannot exec another one without binfmt_misc,
# so there serve is run as the program it execs.
SERVE="$P serve"
[ -z "${TP_EMULATOR:-}" ] || SERVE="$TP_EMULATOR $TP_BUILD_DIR/tpolicy-serve"
EX=${TP_SOURCE_DIR:?}/deploy/examples
. "$(dirname "$0")/../../lib/tally.sh"
tl_scratch tpolicy-test

NOW=2026-11-28T00:00:00Z

# ---- keygen
expect 0 "keygen --controller" $P keygen --controller -o "$T/ctl.key"
[ "$(stat -c %a "$T/ctl.key")" = 600 ] && ok "  secret is 0600" || bad "  secret mode"
[ "$(cat "$T/out")" = "$(cat "$T/ctl.key.pub")" ] && ok "  prints the public key" ||
	bad "  public key printed differs from ctl.key.pub"
expect 2 "keygen refuses to overwrite a key" $P keygen --controller -o "$T/ctl.key"
expect 0 "keygen --controller (another key)" $P keygen --controller -o "$T/other.key"
expect 0 "keygen --tp" $P keygen --tp
grep -Eq '^private_key: [A-Za-z0-9+/]{43}=$' "$T/out" && ok "  private key line" || bad "  private key line"
priv=$(sed -n 's/^private_key: //p' "$T/out")
pub=$(sed -n 's/^public_key: //p' "$T/out")
[ "$(echo "$priv" | $P keygen --public)" = "$pub" ] && ok "  keygen --public agrees" ||
	bad "  keygen --public"
if command -v wg >/dev/null; then
	[ "$(echo "$priv" | wg pubkey)" = "$pub" ] && ok "  wg pubkey agrees" || bad "  wg pubkey disagrees"
fi
expect 2 "keygen without a mode is a usage error" $P keygen

# ---- lint
expect 0 "lint lab plant" $P lint --now $NOW "$EX/lab-plant.yaml"
expect 0 "lint example plant" $P lint --now $NOW "$EX/plant.yaml"
has "$T/err" "$EX/plant.yaml: 0 errors, 0 warnings"

# a copy with a mistake: conduit 100 names a zone that does not exist
line=$(grep -n 'name: scada-modbus-cell1' "$EX/plant.yaml" | cut -d: -f1)
line=$((line + 2)) # from:, then to:
sed "${line}s/to: cell1/to: cel1/" "$EX/plant.yaml" >"$T/plant-bad.yaml"
expect 1 "lint a copy with a mistake" $P lint --now $NOW "$T/plant-bad.yaml"
has "$T/out" "$T/plant-bad.yaml:$line:9: error: unknown zone 'cel1'"

# a copy that breaks an assertion: the vendor window left open
sed 's/^    not_after: 2036-12-01T16:00:00Z$//' "$EX/plant.yaml" >"$T/plant-open.yaml"
aline=$(grep -n 'name: vendor-after-window' "$T/plant-open.yaml" | cut -d: -f1)
cline=$(grep -n 'name: vendor-maintenance-cell2' "$T/plant-open.yaml" | cut -d: -f1)
expect 1 "lint finds the assertion the open window breaks" $P lint --now $NOW "$T/plant-open.yaml"
has "$T/out" "$T/plant-open.yaml:$aline:5: error: assertion 'vendor-after-window' fails: 'tcp 172.16.10.5:40000 -> 10.32.0.5:4840' must be denied but is allowed by conduit 500 'vendor-maintenance-cell2' (at $((cline - 1)):5)"

# lint --json: the same findings, structured (kind, conduit ids, location)
expect 1 "lint --json a copy with a mistake" $P lint --json --now $NOW "$T/plant-bad.yaml"
python3 - "$T/out" "$line" <<'PY' && ok "  JSON: syntax finding at $line:9" || bad "  JSON of plant-bad"
import json, sys
d = json.load(open(sys.argv[1]))
f = [f for f in d["findings"] if f["line"] == int(sys.argv[2])]
assert not d["ok"] and d["errors"] >= 1, d
assert f and f[0]["kind"] == "syntax" and f[0]["column"] == 9, f
assert f[0]["message"] == "unknown zone 'cel1'", f
PY
# a deny over the Modbus conduit 10 of the lab plant: 10 is shadowed by 99
python3 - "$EX/lab-plant.yaml" "$T/lab-shadow.yaml" <<'PY'
import sys
t = open(sys.argv[1]).read()
i = t.index("\nassertions:")
deny = "\n  - { id: 99, name: no-tcp, from: z1, to: z2, action: deny, proto: tcp }\n"
open(sys.argv[2], "w").write(t[:i] + deny + t[i:])
PY
expect 1 "lint a shadowed conduit" $P lint --now $NOW "$T/lab-shadow.yaml"
cp "$T/out" "$T/shadow.txt"
expect 1 "lint --json a shadowed conduit" $P lint --json --now $NOW "$T/lab-shadow.yaml"
python3 - "$T/out" "$T/shadow.txt" "$T/lab-shadow.yaml" <<'PY' && ok "  JSON: shadowed [10, 99], messages as text" ||
import json, sys
d = json.load(open(sys.argv[1]))
kinds = {(f["kind"], tuple(f["conduits"])) for f in d["findings"]}
assert ("shadowed", (10, 99)) in kinds, kinds
assert ("assertion-failed", (99,)) in kinds, kinds
# the text output is these findings, rendered
text = ["%s:%d:%d: %s: %s" % (sys.argv[3], f["line"], f["column"], f["severity"], f["message"])
        for f in d["findings"]]
assert text == open(sys.argv[2]).read().splitlines(), (text, open(sys.argv[2]).read())
PY
	bad "  JSON of lab-shadow"

# ---- compile
expect 1 "compile refuses what lint rejects" \
	$P compile "$T/plant-bad.yaml" -o "$T/bad.tpb" --key "$T/ctl.key" --version 1 --now $NOW
[ ! -e "$T/bad.tpb" ] && ok "  no bundle written" || bad "  a bundle was written"
expect 0 "compile" $P compile "$EX/plant.yaml" -o "$T/plant.tpb" --key "$T/ctl.key" \
	--version 42 --now $NOW --valid-for 7d
grep -q "version 42, 7 zones, 16 conduits" "$T/out" && ok "  summary" || bad "  summary: $(cat "$T/out")"
chmod 644 "$T/other.key"
expect 2 "compile refuses a world-readable key" $P compile "$EX/plant.yaml" -o "$T/x.tpb" \
	--key "$T/other.key" --version 1
chmod 600 "$T/other.key"
# every key reader names the rule actually broken (root only: chown)
if [ "$(id -u)" -eq 0 ]; then
	chown 65534 "$T/other.key"
	expect 2 "compile refuses a key owned by another user" $P compile "$EX/plant.yaml" \
		-o "$T/x.tpb" --key "$T/other.key" --version 1
	grep -q "owned by uid 65534" "$T/err" && ok "  names the owner" || bad "  $(cat "$T/err")"
	mkdir -p "$T/st"
	expect 2 "serve refuses a key owned by another user" $SERVE --site "$EX/plant.yaml" \
		--key "$T/other.key" --listen 127.0.0.1:0 --state "$T/st"
	grep -q "owned by uid 65534" "$T/err" && ok "  names the owner" || bad "  $(cat "$T/err")"
	chown 0 "$T/other.key"
fi

# ---- show
expect 0 "show" $P show "$T/plant.tpb" --pub "$T/ctl.key.pub"
grep -q '^bundle: version 42, issued 2026-11-28T00:00:00Z, valid until 2026-12-05T00:00:00Z, signed by key [0-9a-f]\{16\} (verified)$' "$T/out" &&
	ok "  header" || bad "  header: $(head -1 "$T/out")"
grep -q "^  500    allow dmz -> cell2  tcp dst 102,4840  from 2036-12-01T08:00:00Z  until 2036-12-01T16:00:00Z  log  'vendor-maintenance-cell2'$" "$T/out" &&
	ok "  vendor conduit" || bad "  vendor conduit line"
expect 0 "show --json" $P show "$T/plant.tpb" --key "$T/ctl.key" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["bundle"]["version"]==42; assert len(d["conduits"])==16' "$T/out" &&
	ok "  valid JSON" || bad "  JSON"
expect 1 "show refuses a bundle signed by another key" $P show "$T/plant.tpb" --pub "$T/other.key.pub"
grep -q "refused (signed by another key)" "$T/err" && ok "  says so" || bad "  reason: $(cat "$T/err")"
cp "$T/plant.tpb" "$T/tampered.tpb"
printf '\x00' | dd of="$T/tampered.tpb" bs=1 seek=200 conv=notrunc status=none
expect 1 "show refuses a tampered bundle" $P show "$T/tampered.tpb" --pub "$T/ctl.key.pub"
grep -q "refused (bad signature)" "$T/err" && ok "  says so" || bad "  reason: $(cat "$T/err")"

# ---- check
B=("$T/plant.tpb" --pub "$T/ctl.key.pub")
expect 0 "check allowed flow" $P check "${B[@]}" --flow 'tcp 10.20.1.10:40000 -> 10.31.0.5:502'
has "$T/out" "allow by conduit 100 'scada-modbus-cell1' (scada -> cell1, stateful: replies pass)"
expect 0 "check reply direction" $P check "${B[@]}" --flow 'tcp 10.31.0.5:502 -> 10.20.1.10:502'
has "$T/out" "deny by default (cell1 -> scada: no conduit matches)"
expect 0 "check explicit deny" $P check "${B[@]}" --flow 'tcp 10.20.3.7:4000 -> 10.40.0.5:502'
has "$T/out" "deny by conduit 900 'no-eng-to-sis' (eng -> safety)"
expect 0 "check icmp" $P check "${B[@]}" --flow 'icmp 10.20.1.10 -> 10.40.0.5 type 8 code 0'
has "$T/out" "allow by conduit 132 'scada-ping-sis' (scada -> safety, stateful: replies pass)"
expect 0 "check vendor inside the window" $P check "$EX/plant.yaml" \
	--flow 'tcp 172.16.10.5:40000 -> 10.32.0.5:4840' --at 2036-12-01T09:00:00Z
has "$T/out" "allow by conduit 500 'vendor-maintenance-cell2' (dmz -> cell2, stateful: replies pass)"
expect 0 "check vendor after the window" $P check "$EX/plant.yaml" \
	--flow 'tcp 172.16.10.5:40000 -> 10.32.0.5:4840' --at 2036-12-01T16:00:00Z
has "$T/out" "deny by default (dmz -> cell2: no conduit matches)"
expect 0 "check no zone" $P check "$EX/plant.yaml" --flow 'udp 192.168.1.1:1 -> 10.31.0.5:53'
has "$T/out" "deny: source 192.168.1.1 is in no zone"
expect 0 "check --json" $P check "$EX/lab-plant.yaml" --json --at 2026-11-28T00:00:00Z \
	--flow 'udp 10.2.0.7:40000 -> 10.4.0.9:5000'
has "$T/out" '{"verdict":"allow","rule":30,"rule_name":"telemetry-z2-z4","reason":"rule","from_zone":"z2","to_zone":"z4","stateful":true,"flow":"udp 10.2.0.7:40000 -> 10.4.0.9:5000","at":"2026-11-28T00:00:00Z"}'
expect 0 "check --json default" $P check "$EX/lab-plant.yaml" --json --at 2026-11-28T00:00:00Z \
	--flow 'icmpv6 fd00:2::1 -> fd00:1::1 type 128'
has "$T/out" '{"verdict":"deny","rule":"default","rule_name":null,"reason":"default","from_zone":"z2","to_zone":"z1","stateful":false,"flow":"icmpv6 fd00:2::1 -> fd00:1::1 type 128 code 0","at":"2026-11-28T00:00:00Z"}'
# two overlapping modbus profiles (conduit 10 reads, a new 11 writes): a
# request passes if either admits it, whatever the ids (DESIGN.md §7.3)
awk '{ print }
/^    dst_ports: \[502\]$/ && !done {
	print "    modbus: { function_codes: [3] }"
	print "  - { id: 11, from: z1, to: z2, action: allow, proto: tcp, dst_ports: [500-510],"
	print "      modbus: { function_codes: [6] } }"
	done = 1
}' "$EX/lab-plant.yaml" >"$T/union.yaml"
expect 0 "check two modbus profiles" $P check "$T/union.yaml" --at $NOW \
	--flow 'tcp 10.1.0.5:40000 -> 10.2.0.7:502'
has "$T/out" "allow by conduit 10 'modbus-z1-z2' (z1 -> z2, stateful: replies pass; client payload checked against the modbus profiles of conduits 10, 11 (a request passes if one admits it))"
expect 0 "check two modbus profiles --json" $P check "$T/union.yaml" --at $NOW --json \
	--flow 'tcp 10.1.0.5:40000 -> 10.2.0.7:502'
grep -qF '"modbus_profiles":[10,11]' "$T/out" && ok "  lists both" || bad "  json: $(cat "$T/out")"
expect 0 "check one modbus profile" $P check "$T/union.yaml" --at $NOW \
	--flow 'tcp 10.1.0.5:40000 -> 10.2.0.7:505'
has "$T/out" "allow by conduit 11 (z1 -> z2, stateful: replies pass; client payload checked against the modbus profile of conduit 11)"
expect 2 "check a bad flow" $P check "$EX/lab-plant.yaml" --flow 'tcp 10.1.0.1 -> 10.2.0.1'
has "$T/err" "tpolicy: bad --flow 'tcp 10.1.0.1 -> 10.2.0.1': tcp flow needs a destination port"
expect 2 "check a bundle without a key" $P check "$T/plant.tpb" --flow 'tcp 10.1.0.1:1 -> 10.2.0.1:2'

# ---- serve: the program tpolicy-serve (controller-client/serve), which the
# command table execs from next to tpolicy, else from PATH
expect 2 "serve without arguments is a usage error" $SERVE
grep -q "^usage: tpolicy serve --site SITE.yaml --key KEY --listen ADDR:PORT" "$T/err" &&
	ok "  says the usage" || bad "  usage: $(cat "$T/err")"
expect 0 "serve --help" $SERVE --help
has "$T/out" "reference controller: compile, sign, push to every TP."
if [ -z "${TP_EMULATOR:-}" ]; then
	cp "$TP_BUILD_DIR/tpolicy" "$T/lone-tpolicy"
	expect 2 "serve without tpolicy-serve next to tpolicy or on PATH" \
		env PATH=/nonexistent "$T/lone-tpolicy" serve --help
	grep -qF "tpolicy: serve needs the program tpolicy-serve, not found next to tpolicy in $T, in $T/../lib/tableau or on PATH" \
		"$T/err" && ok "  names the missing program" || bad "  $(cat "$T/err")"
	mkdir -p "$T/path"
	ln -s "$TP_BUILD_DIR/tpolicy-serve" "$T/path/tpolicy-serve"
	expect 0 "serve found on PATH" env PATH="$T/path" "$T/lone-tpolicy" serve --help
	# the package's layout: /usr/bin/tpolicy, /usr/lib/tableau/tpolicy-serve
	mkdir -p "$T/usr/bin" "$T/usr/lib/tableau"
	cp "$TP_BUILD_DIR/tpolicy" "$T/usr/bin/tpolicy"
	ln -s "$TP_BUILD_DIR/tpolicy-serve" "$T/usr/lib/tableau/tpolicy-serve"
	expect 0 "serve found in ../lib/tableau" env PATH=/nonexistent "$T/usr/bin/tpolicy" serve --help
fi

echo
if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all passed"
