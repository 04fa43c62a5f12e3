#!/usr/bin/env bash
# Unit test of the lab helpers (tests/lab/lib/tpdlab.sh) against a fake tpctl
# and a fake tpd: no root, no lab, no namespaces (`ip netns exec` is a fake
# that runs the command where it is).
#   - tpdlab_counter reads each kind of counter, and a name tpd does not have
#     fails (status, nothing printed, the test marked failed at cleanup)
#     instead of reading as 0;
#   - tpdlab_start takes only tpd's own "NAME: running, mode" line as ready,
#     not its "is another tpd running?" error;
#   - tpdlab_conf writes one worker core by default and TPDLAB_WORKERS of
#     them when asked (tests/bench/lab-compare.sh's 2-worker rows).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/test-tpdlab.XXXXXX)
trap 'rm -rf "$T"' EXIT
FAILS=0
ok() { echo "ok   $*"; }
bad() {
	echo "FAIL $*"
	FAILS=$((FAILS + 1))
}

mkdir -p "$T/bin" "$T/build" "$T/fix"
# `ip netns exec NS CMD...` runs CMD here
cat >"$T/bin/ip" <<'EOF'
#!/bin/sh
[ "$1 $2" = "netns exec" ] || { echo "fake ip: $*" >&2; exit 1; }
shift 3
exec "$@"
EOF
# tpctl --socket S --json counters|export: the fixture of $FAKE_TPCTL_DIR
cat >"$T/build/tpctl" <<'EOF'
#!/bin/sh
[ "$1 $3" = "--socket --json" ] || { echo "fake tpctl: $*" >&2; exit 2; }
exec cat "$FAKE_TPCTL_DIR/$4.json"
EOF
# tpd --config FILE: does what FAKE_TPD says
cat >"$T/build/tpd" <<'EOF'
#!/bin/sh
name=$(sed -n 's/^name = //p' "$2")
case "$FAKE_TPD" in
in-use)
	echo "tpd: admin socket /run/x.sock is in use (is another tpd running?)" >&2
	exit 1 ;;
running)
	echo "tpd: $name: running, mode xdp, 1 worker(s), admin socket /run/x.sock" >&2
	exec sleep 30 ;;
esac
EOF
chmod +x "$T/bin/ip" "$T/build/tpctl" "$T/build/tpd"
cat >"$T/fix/counters.json" <<'EOF'
{"stats": {"zone_rx_packets": 7, "log_dropped": 0},
 "drops": {"policy_deny": 3, "rate_limited": 0, "no_policy": 1},
 "drops_total": 4,
 "rule_hits": {"10:modbus-z1-z2": 5},
 "rule_rate_limited": {}, "profile_drops": {},
 "flows": {"created": 2, "revoked": 0, "no_policy": 9},
 "tunnel": {"ok": 4, "bad_mac1": 0},
 "xdp": {"zone": {"drop_spoofed": 6}, "transit": {}}}
EOF
cat >"$T/fix/export.json" <<'EOF'
{"rules": [{"id": 10, "name": "modbus-z1-z2", "hits": 5},
	   {"id": 20, "name": "ping-z1-z3", "hits": 0}]}
EOF
export PATH="$T/bin:$PATH" FAKE_TPCTL_DIR="$T/fix"
export TP_BUILD_DIR="$T/build" TP_SOURCE_DIR="$HERE/../../.."

# run one helper call in a fresh shell that sources the helpers, with a work
# dir, as a lab test would; prints its stdout, returns its status
helper() {
	local w=$1
	shift
	mkdir -p "$w"
	bash -c '
		. "$TP_SOURCE_DIR/tests/lab/lib/tpdlab.sh"
		LAB=true PFX=tlt W=$1
		shift
		trap "tpdlab_cleanup" EXIT
		"$@"' helper "$w" "$@" 2>"$T/stderr"
}

# --- counters that exist --------------------------------------------------
expect_value() {
	local name=$1 want=$2 got rc=0
	got=$(helper "$T/w-$RANDOM" tpdlab_counter tp1 "$name") || rc=$?
	if [ "$rc" -eq 0 ] && [ "$got" = "$want" ]; then
		ok "counter $name = $want"
	else
		bad "counter $name: got '$got' (exit $rc), want $want: $(cat "$T/stderr")"
	fi
}
expect_value policy_deny 3
expect_value rate_limited 0
expect_value zone_rx_packets 7
expect_value revoked 0
expect_value flows.no_policy 9
expect_value drops.no_policy 1
expect_value tunnel.ok 4
expect_value tunnel.bad_mac1 0
expect_value xdp.zone.drop_spoofed 6
expect_value 10:modbus-z1-z2 5
expect_value 20:ping-z1-z3 0 # in the policy, not hit yet

# --- counters that do not exist --------------------------------------------
# the call fails and prints nothing; the test using it fails even if it
# ignored the status ("[ "$(tpdlab_counter ...)" != 5 ]" style)
expect_unknown() {
	local name=$1 got rc=0 w=$T/w-$RANDOM
	got=$(helper "$w" tpdlab_counter tp1 "$name") || rc=$?
	if [ "$rc" -ne 0 ] && [ -z "$got" ] && grep -q "$name" "$T/stderr"; then
		ok "counter $name: refused"
	else
		bad "counter $name: got '$got' (exit $rc), want a failure naming it"
	fi
	rc=0
	helper "$w" eval 'v=$(tpdlab_counter tp1 '"$name"' 2>/dev/null); true' || rc=$?
	if [ "$rc" -ne 0 ] && grep -q "counters that do not exist" "$T/stderr"; then
		ok "counter $name: status ignored, the test still fails"
	else
		bad "counter $name: status ignored and the test passed (exit $rc)"
	fi
}
expect_unknown modbus_no_such_reason
expect_unknown no_policy # in drops and flows: ambiguous
expect_unknown tunnel.no_such_result
expect_unknown xdp.zone # a section, not a counter
expect_unknown 30:no-such-rule
expect_unknown 20:wrong-name

# --- readiness --------------------------------------------------------------
start() {
	local w=$T/w-$RANDOM
	FAKE_TPD=$1 TPDLAB_START_TIMEOUT=3 helper "$w" \
		eval 'tpdlab_start tp1; echo started; tpdlab_stop tp1'
}
if [ "$(start in-use)" = started ]; then
	bad "tpdlab_start took 'is another tpd running?' for ready"
else
	ok "tpdlab_start: 'is another tpd running?' is a failed start"
fi
if [ "$(start running)" = started ]; then
	ok "tpdlab_start: 'NAME: running, mode' is ready"
else
	bad "tpdlab_start did not see a started tpd: $(cat "$T/stderr")"
fi

# --- worker cores in the generated config -----------------------------------
conf_cores() { # prints the control_core and worker_cores lines
	helper "$T/w-$RANDOM" tpdlab_conf tp2 | grep -E '^(control_core|worker_cores|control_core_shared) '
}
want="control_core = 0
worker_cores = 1"
got=$(conf_cores)
if [ "$got" = "$want" ]; then ok "tpdlab_conf: one worker by default"; else bad "tpdlab_conf default: '$got'"; fi
got=$(TPDLAB_WORKERS=1 conf_cores)
if [ "$got" = "$want" ]; then ok "tpdlab_conf: TPDLAB_WORKERS=1 is the default"; else bad "TPDLAB_WORKERS=1: '$got'"; fi
want="control_core = 0
worker_cores = 1,$((2 % $(nproc)))"
# on two cores the second worker is on the control core: said in the config
[ $((2 % $(nproc))) != 0 ] || want+=$'\ncontrol_core_shared = yes'
got=$(TPDLAB_WORKERS=2 conf_cores)
if [ "$got" = "$want" ]; then ok "tpdlab_conf: TPDLAB_WORKERS=2 lists two cores"; else bad "TPDLAB_WORKERS=2: '$got'"; fi
want="control_core = 1
worker_cores = 0,$((1 % $(nproc)))
control_core_shared = yes"
got=$(TPDLAB_CORES_tp2="1 0" TPDLAB_WORKERS=2 conf_cores)
if [ "$got" = "$want" ]; then ok "tpdlab_conf: the workers start at TPDLAB_CORES' worker"; else bad "TPDLAB_CORES_tp2='1 0' TPDLAB_WORKERS=2: '$got'"; fi

[ "$FAILS" -eq 0 ] || {
	echo "$FAILS failed"
	exit 1
}
echo "all passed"
