#!/usr/bin/env bash
# The live export: tpd (memory mode, --no-huge, no namespaces) answers
# `tpctl export` with a document the strict reader accepts, that validates
# against the JSON Schema, carries the TP's public key and never its
# private key, and that `tpolicy verify` reads next to the intent exports.
# tpd does not apply bundles yet, so today the live TP is reported as
# running no policy (check 1) — exactly what it enforces: nothing passes.
# Needs root (EAL), TP_BUILD_DIR and TP_SOURCE_DIR.
set -euo pipefail
B=${TP_BUILD_DIR:?}
SRC=${TP_SOURCE_DIR:?}
EX=$SRC/deploy/examples
work=$(mktemp -d /tmp/tpv-tpd.XXXXXX)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

umask 077
install -m 600 "$EX/lab-keys/tp1.key" "$work/tp1.key"
cat >"$work/tp1.conf" <<C
name = tp1
identity_key = $work/tp1.key
mode = memory
memory_mb = 128
admin_socket = $work/tp1.sock
C
"$B/tpd" --config "$work/tp1.conf" >"$work/tpd.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$work/tp1.sock" ] && break; sleep 0.1; done
[ -S "$work/tp1.sock" ] || { cat "$work/tpd.log"; fail "admin socket did not appear"; }

mkdir "$work/plant"
"$B/tpctl" --socket "$work/tp1.sock" export "$work/plant/tp1.json" || fail "tpctl export"
echo "ok   tpctl export"
grep -qF "$(tr -d '\n' <"$work/tp1.key")" "$work/plant/tp1.json" && fail "private key in the export"
grep -qF "\"public_key\": \"$(cat "$EX/lab-keys/tp1.pub")\"" "$work/plant/tp1.json" ||
	fail "public key not in the export"
echo "ok   public key, no private key"
"$B/tpctl" --socket "$work/tp1.sock" export >"$work/stdout.json" || fail "export to stdout"
python3 - "$work/stdout.json" <<'PY' || fail "export content"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["schema"] == "tableau-export/1" and d["kind"] == "effective", d
assert d["tp"]["name"] == "tp1" and d["tp"]["software_version"], d["tp"]
assert d["policy"] is None and d["rules"] == [] and d["peers"] == [], d
assert "drop.no_policy" in d["counters"], sorted(d["counters"])
PY
echo "ok   effective export content"
if python3 -c 'import jsonschema' 2>/dev/null; then
	python3 - "$SRC/policy/schema/tp-export.schema.json" "$work/stdout.json" <<'PY' ||
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])),
                    cls=jsonschema.Draft202012Validator)
PY
		fail "schema"
	echo "ok   valid against the JSON Schema"
fi

# next to the intent of the other TPs: the live TP runs no policy
"$B/tpolicy" export "$EX/lab-plant.yaml" -o "$work/intent" >/dev/null
cp "$work/intent/tp2.json" "$work/intent/tp3.json" "$work/plant/"
rc=0
"$B/tpolicy" verify "$work/plant" --site "$EX/lab-plant.yaml" >"$work/out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || { cat "$work/out"; fail "verify exit $rc, want 1"; }
grep -qF -- "- tp1: runs no policy (inter-zone traffic is dropped)" "$work/out" ||
	{ cat "$work/out"; fail "live TP without policy not named"; }
grep -qF "its own public key is not" "$work/out" && { cat "$work/out"; fail "identity"; }
echo "ok   verify names the live TP without policy"
