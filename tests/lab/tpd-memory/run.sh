#!/usr/bin/env bash
# tpd in memory mode (net_ring ports, --no-huge): start-up, tpctl status and
# counters (--json and text), every clean start-up error, SIGTERM → clean
# exit with the admin socket removed. Needs root (EAL), no namespaces.
set -euo pipefail
B=${TP_BUILD_DIR:?}
. "$(dirname "$0")/../../lib/daemons.sh"
tl_work tpr-mem

umask 077
wg genkey > "$work/key"
conf() { # conf NAME [extra lines...]
	local name=$1; shift
	{
		echo "name = $name"
		echo "identity_key = $work/key"
		echo "mode = memory"
		echo "memory_mb = 128"
		echo "admin_socket = $work/$name.sock"
		printf '%s\n' "$@"
	} > "$work/$name.conf"
}
wait_sock() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.1; done; return 1; }

# --- --check validates without starting -------------------------------------
conf tpr-m1
"$B/tpd" --config "$work/tpr-m1.conf" --check | grep -q "ok (mode memory)" || fail "--check"
[ ! -e "$work/tpr-m1.sock" ] || fail "--check created the admin socket"

# --- a running tpd answers tpctl -------------------------------------------
"$B/tpd" --config "$work/tpr-m1.conf" > "$work/m1.log" 2>&1 &
pids+=($!); m1=$!
wait_sock "$work/tpr-m1.sock" || { cat "$work/m1.log"; fail "admin socket did not appear"; }
# The socket exists before EAL is up; tpd answers once it runs (EAL in a
# sanitizer build on a loaded machine can take seconds).
for _ in $(seq 300); do
	grep -q "^tpd: tpr-m1: running, mode " "$work/m1.log" && break
	kill -0 "$m1" 2>/dev/null || break # tpd exited: its log says why
	sleep 0.1
done
grep -q "^tpd: tpr-m1: running, mode " "$work/m1.log" || { cat "$work/m1.log"; fail "tpd did not start"; }
[ "$(stat -c %a "$work/tpr-m1.sock")" = 600 ] || fail "admin socket not mode 0600"

st=$("$B/tpctl" --socket "$work/tpr-m1.sock" status --json)
echo "$st" | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["name"] == "tpr-m1", s
assert s["mode"] == "memory", s
assert len(s["identity"]) == 44, s
assert s["ports"]["zone"]["link"] == "up", s
assert s["policy"]["loaded"] is False, s
' || fail "status --json: $st"
pub=$(wg pubkey < "$work/key")
echo "$st" | grep -q "\"identity\": \"$pub\"" || fail "identity is not the key's public key"

ct=$("$B/tpctl" --socket "$work/tpr-m1.sock" counters --json)
echo "$ct" | python3 -c '
import json, sys
c = json.load(sys.stdin)
assert "no_policy" in c["drops"] and "ip4_bad_checksum" in c["drops"], c
assert c["drops_total"] == sum(c["drops"].values()), c
assert "zone_rx_packets" in c["stats"], c
' || fail "counters --json: $ct"

"$B/tpctl" --socket "$work/tpr-m1.sock" status | grep -q "mode memory" || fail "status text"
# captured first: grep -q would close the pipe early (SIGPIPE under pipefail)
all=$("$B/tpctl" --socket "$work/tpr-m1.sock" counters --all)
grep -q "ip6_routing_type0" <<<"$all" || fail "counters --all text"
for c in peers zones flows; do
	"$B/tpctl" --socket "$work/tpr-m1.sock" --json $c | grep -q "\"$c\": \[\]" || fail "$c"
done
# the same counters through DPDK telemetry
python3 - /var/run/dpdk/tpd-tpr-m1/dpdk_telemetry.v2 <<'PY' || fail "telemetry"
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
json.loads(s.recv(65536))  # greeting
s.send(b"/tableau/counters")
c = json.loads(s.recv(65536))["/tableau/counters"]
assert "no_policy" in c and "zone_rx_packets" in c, c
s.send(b"/tableau/status")
st = json.loads(s.recv(65536))["/tableau/status"]
assert st["name"] == "tpr-m1" and st["mode"] == "memory", st
PY

touch "$work/x.tpb"
set +e
"$B/tpctl" --socket "$work/tpr-m1.sock" apply "$work/x.tpb" 2> "$work/apply.err"
rc=$?
set -e
# no controller_key in this config: every bundle is refused, saying why
[ $rc = 1 ] && grep -q "bundles cannot be verified" "$work/apply.err" || fail "apply: rc $rc"

# --- clean start-up errors: exit != 0, one line naming the problem --------
expect_fail() { # expect_fail NAME PATTERN
	local rc=0
	"$B/tpd" --config "$work/$1.conf" > "$work/$1.out" 2>&1 || rc=$?
	[ $rc -ne 0 ] || fail "$1: tpd exited 0"
	grep -q "$2" "$work/$1.out" || { cat "$work/$1.out"; fail "$1: no '$2'"; }
	echo "ok: $1 -> $(grep "^tpd:" "$work/$1.out" | head -1)"
}
conf tpr-m2
sed -i "s|admin_socket = .*|admin_socket = $work/tpr-m1.sock|" "$work/tpr-m2.conf"
expect_fail tpr-m2 "in use (is another tpd running"
conf tpr-m8
sed -i "s|^name = .*|name = tpr-m1|" "$work/tpr-m8.conf"
expect_fail tpr-m8 "name 'tpr-m1' is in use by process $m1"
conf tpr-m3 "bogus_key = 1"
expect_fail tpr-m3 "tpr-m3.conf:6: unknown key 'bogus_key'"
conf tpr-m4
sed -i "s|identity_key = .*|identity_key = $work/missing.key|" "$work/tpr-m4.conf"
expect_fail tpr-m4 "key file $work/missing.key: No such file or directory"
echo "not a key" > "$work/bad.key"
conf tpr-m5
sed -i "s|identity_key = .*|identity_key = $work/bad.key|" "$work/tpr-m5.conf"
expect_fail tpr-m5 "not a WireGuard key"
conf tpr-m6 "mode = xdp"
sed -i '0,/mode = memory/{/mode = memory/d}' "$work/tpr-m6.conf"
printf 'zone_interface = tpr-nonexist0\ntransit_interface = tpr-nonexist1\n' >> "$work/tpr-m6.conf"
expect_fail tpr-m6 "zone_interface 'tpr-nonexist0' does not exist"
conf tpr-m10 "mode = dpdk"
sed -i '0,/mode = memory/{/mode = memory/d}' "$work/tpr-m10.conf"
printf 'zone_interface = 0000:01:00.0\ntransit_interface = 0000:01:00.1\n' >> "$work/tpr-m10.conf"
expect_fail tpr-m10 "mode dpdk is not supported yet"
conf tpr-m9 "mbufs = 65535"
sed -i "s|^memory_mb = .*|memory_mb = 64|" "$work/tpr-m9.conf"
expect_fail tpr-m9 "cannot create mbuf pool of 65535.*raise memory_mb"
conf tpr-m7 "worker_cores = 1000"
expect_fail tpr-m7 "EAL init failed"
[ ! -e "$work/tpr-m7.sock" ] || fail "failed start left its admin socket"

# --- two workers, one on the control thread's core (memory mode: a ring per
# queue of each port) -------------------------------------------------------
conf tpr-w2 "worker_cores = 1, 0" "control_core_shared = yes" "mbufs = 8191"
"$B/tpd" --config "$work/tpr-w2.conf" > "$work/w2.log" 2>&1 &
pids+=($!); w2=$!
for _ in $(seq 300); do
	grep -q "^tpd: tpr-w2: running, mode memory, 2 worker(s)" "$work/w2.log" && break
	kill -0 "$w2" 2>/dev/null || break
	sleep 0.1
done
grep -q "^tpd: tpr-w2: running, mode memory, 2 worker(s)" "$work/w2.log" ||
	{ cat "$work/w2.log"; fail "tpd with two workers did not start"; }
"$B/tpctl" --socket "$work/tpr-w2.sock" status --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["cores"] == {"control": 0, "workers": [1, 0]}, s
' || fail "status: workers"
"$B/tpctl" --socket "$work/tpr-w2.sock" counters --json | python3 -c '
import json, sys
c = json.load(sys.stdin)
assert c["stats"]["handoff_out"] == 0 and "handoff_full" in c["drops"], c
' || fail "counters: handoff"
kill -TERM "$w2"
wait "$w2" || fail "two workers: exit status $? on SIGTERM"
keep=()
for p in "${pids[@]}"; do [ "$p" = "$w2" ] || keep+=("$p"); done
pids=("${keep[@]}")
conf tpr-w3 "worker_cores = 1, 0"
expect_fail tpr-w3 "core 0 is both control_core and a worker core (set control_core_shared = yes"
echo "ok: two workers, one sharing the control core when the config says so"

# --- policy states: a bundle expires under fail-closed and fail-static ------
# (tp1 of the lab plant: memory mode needs no interface; a 4 s bundle)
S=${TP_SOURCE_DIR:?}
"$B/tpolicy" keygen --controller -o "$work/ctl.key" > /dev/null 2>&1
"$B/tpolicy" compile "$S/deploy/examples/lab-plant.yaml" -o "$work/short.tpb" \
	--key "$work/ctl.key" --version 1 --valid-for 4s > /dev/null || fail "compile"
cp "$S/deploy/examples/lab-keys/tp1.key" "$work/tp1.key"
for m in closed static; do
	conf "tpr-f$m" "failure_mode = fail-$m" "controller_key = $(cat "$work/ctl.key.pub")" \
		"policy_bundle = $work/short.tpb" "state_dir = $work/state-$m"
	sed -i "s|identity_key = .*|identity_key = $work/tp1.key|" "$work/tpr-f$m.conf"
	"$B/tpd" --config "$work/tpr-f$m.conf" > "$work/f$m.log" 2>&1 &
	pids+=($!)
done
pstate() { # pstate NAME: state loaded version of its policy
	"$B/tpctl" --socket "$work/$1.sock" status --json 2> /dev/null | python3 -c '
import json, sys
p = json.load(sys.stdin)["policy"]
print(p["state"], p["loaded"], p.get("version", 0))'
}
for m in closed static; do
	for _ in $(seq 100); do grep -q "^tpd: tpr-f$m: running, mode " "$work/f$m.log" && break; sleep 0.1; done
	[ "$(pstate tpr-f$m)" = "enforcing True 1" ] || { cat "$work/f$m.log"; fail "fail-$m: $(pstate tpr-f$m)"; }
done
sleep 5
[ "$(pstate tpr-fclosed)" = "fail-closed False 1" ] || fail "expired, fail-closed: $(pstate tpr-fclosed)"
[ "$(pstate tpr-fstatic)" = "fail-static True 1" ] || fail "expired, fail-static: $(pstate tpr-fstatic)"
"$B/tpctl" --socket "$work/tpr-fclosed.sock" status | grep -q "^state *fail-closed since" ||
	fail "tpctl status text: no fail-closed state"
grep -c "policy state enforcing -> fail-closed" "$work/fclosed.log" | grep -qx 1 ||
	fail "the fail-closed transition is not logged exactly once"
echo "ok: an expired bundle: fail-closed withdraws the policy, fail-static keeps it"
# the export says the same: fail-static runs version 1 (as the site's tp1,
# memory mode: no XDP tables claimed), fail-closed and no-policy run none
for n in tpr-fstatic tpr-fclosed tpr-m1; do
	"$B/tpctl" --socket "$work/$n.sock" export "$work/$n.json" || fail "$n: tpctl export"
done
python3 - "$work" <<'PY' || fail "exports"
import json, sys
w = sys.argv[1]
st, cl, m1 = (json.load(open(f"{w}/{n}.json")) for n in ("tpr-fstatic", "tpr-fclosed", "tpr-m1"))
assert st["tp"]["name"] == "tp1" and st["policy"]["version"] == 1, st["policy"]
assert st["xdp"] is None and st["flows"]["capacity"] > 0, st
assert {p["name"] for p in st["peers"]} == {"tp2", "tp3"}, st["peers"]
assert cl["policy"] is None and cl["peers"] == [], cl
assert m1["policy"] is None and m1["tp"]["name"] == "tpr-m1", m1
PY
echo "ok: tpctl export follows the policy state"
for p in "${pids[@]:1}"; do kill -TERM "$p"; wait "$p" || fail "tpd exit code after SIGTERM"; done
pids=("$m1")

# --- the first tpd still runs; SIGTERM stops it cleanly -------------------
"$B/tpctl" --socket "$work/tpr-m1.sock" status > /dev/null || fail "tpd died"
kill -TERM "$m1"
rc=0
wait "$m1" || rc=$?
pids=()
[ $rc = 0 ] || { cat "$work/m1.log"; fail "exit code $rc after SIGTERM"; }
[ ! -e "$work/tpr-m1.sock" ] || fail "admin socket left behind"
grep -q "stopped" "$work/m1.log" || fail "no 'stopped' line"
echo "PASS"
