#!/usr/bin/env bash
# Controller channel end to end, in a private network namespace (tpc-…):
# `tpolicy serve` and three light TPs (tp-ctrl-agent) on loopback.
#   - every TP runs version 1; `tpolicy status --wait` sees it; verdicts follow it
#   - editing the site file (inotify) and SIGHUP publish new, growing versions
#   - the controller killed (-9) right after a push started, then restarted
#   - a TP restarted while the controller is down comes back on its
#     last-known-good bundle (island) before the controller returns
#   - an unknown TP key and a TP pinned to another controller key get nothing
#   - 100 pushes in a row all reach every TP, none refused
#   - --wait for a version nobody runs times out with exit 1
#   - an independent Python Noise_IK implementation completes a session
#   - a lost state directory: the controller continues from the versions
#     the TPs prove (their signed bundles); a rogue TP that only reports
#     2^64-2 or 2^64-1 moves nothing; serve never issues 2^64-1 nor wraps
set -uo pipefail
TOP=${TP_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
B=${TP_BUILD_DIR:-$TOP/build}
. "$TOP/tests/lib/testlib.sh"
tl_need_root

# Run the whole script inside its own namespace, so that every process it
# starts is its direct child (ip netns exec would stand between them).
if [ -z "${TPC_E2E_INNER:-}" ]; then
	NS=tpc-e2e-$$
	ip netns add "$NS" && ip -n "$NS" link set lo up || { echo "cannot create $NS"; exit 1; }
	trap 'ip netns del "$NS" 2>/dev/null' EXIT
	TPC_E2E_INNER=1 ip netns exec "$NS" "$0" "$@"
	exit $?
fi
T=$(mktemp -d /tmp/tpc-e2e.XXXXXX)
declare -A PID
cleanup() {
	for p in "${PID[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.2
	for p in "${PID[@]}"; do kill -9 "$p" 2>/dev/null; done
	if [ "$TL_FAIL" -ne 0 ]; then
		for f in "$T"/*.log; do echo "--- $f"; tail -n 30 "$f"; done
	fi
	rm -rf "$T"
}
trap cleanup EXIT
nsx() { "$@"; }

ADDR=127.0.0.1:7443
"$B/tpolicy" keygen --controller -o "$T/ctl.key" >/dev/null
"$B/tpolicy" keygen --controller -o "$T/other.key" >/dev/null
cp "$TOP/deploy/examples/lab-plant.yaml" "$T/site.yaml"
for i in 1 2 3; do cp "$TOP/deploy/examples/lab-keys/tp$i.key" "$T/tp$i.key"; done
chmod 600 "$T"/*.key

serve() {
	"$B/tpolicy" serve --site "$T/site.yaml" --key "$T/ctl.key" --listen $ADDR \
		--state "$T/ctl" >>"$T/serve.log" 2>&1 &
	PID[serve]=$!
}
agent() { # agent NAME KEY PUB
	"$B/tests/tp-ctrl-agent" --name "$1" --key "$2" --controller $ADDR \
		--controller-key "$3" --state "$T/$1" >>"$T/$1.log" 2>&1 &
	PID[$1]=$!
}
# ask SOCKET JSON -> one JSON line
ask() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(3)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(buf.decode().strip())
PY
}
field() { python3 -c "import json,sys; r=json.loads(sys.argv[1]); v=r['result']
for k in sys.argv[2].split('.'): v=v[k]
print(str(v).lower() if isinstance(v,bool) else v)" "$1" "$2"; }
agent_field() { field "$(ask "$T/$1/agent.sock" '{"cmd":"status"}')" "$2"; }
verdict() { field "$(ask "$T/$1/agent.sock" "{\"cmd\":\"decide\",\"flow\":\"$2\"}")" verdict; }
status() { nsx "$B/tpolicy" status --state "$T/ctl" "$@"; }
ctl_version() { status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])'; }
wait_for() { # wait_for SECONDS cmd... : until cmd succeeds
	local end=$((SECONDS + $1)); shift
	until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.1; done
}
sock_up() { [ -S "$1" ]; }
agent_is() { [ "$(agent_field "$1" "$2")" = "$3" ]; }

serve
wait_for 10 sock_up "$T/ctl/serve.sock" || { not_ok "serve did not start"; exit 1; }
for i in 1 2 3; do agent tp$i "$T/tp$i.key" "$T/ctl.key.pub"; done
check "all TPs run version 1" status --wait 1 --timeout 20
wait_for 5 sock_up "$T/tp1/agent.sock"
check "tp1 enforces: modbus z1->z2 allowed" \
	test "$(verdict tp1 'tcp 10.1.0.5:40000 -> 10.2.0.7:502')" = allow
check "tp1 enforces: other port denied" \
	test "$(verdict tp1 'tcp 10.1.0.5:40000 -> 10.2.0.7:503')" = deny
check "tp2 state enforcing" test "$(agent_field tp2 policy_state)" = enforcing
check "status carries tp1's counter summary" sh -c "'$B/tpolicy' status --state '$T/ctl' --json | python3 -c 'import json,sys; t=[x for x in json.load(sys.stdin)[\"tps\"] if x[\"name\"]==\"tp1\"][0]; sys.exit(t[\"counters\"].get(\"policy_applied\",0) < 1)'"
check "status lists tp3 connected" sh -c "'$B/tpolicy' status --state '$T/ctl' | grep -E '^tp3 +connected'"

# Edit the site file in place: a new conduit, DNP3 from z2 to z1.
DNP3='tcp 10.2.0.9:40000 -> 10.1.0.7:20000'
check "before the edit: DNP3 z2->z1 denied" test "$(verdict tp1 "$DNP3")" = deny
sed -i 's/^conduits:$/conduits:\n  - { id: 990, name: dnp3-z2-z1, from: z2, to: z1, action: allow, proto: tcp, dst_ports: [20000] }/' "$T/site.yaml"
check "site edit: every TP runs version 2" status --wait 2 --timeout 20
check "site edit: the new conduit is enforced" test "$(verdict tp2 "$DNP3")" = allow
# Replace it by rename, as editors do: the conduit goes away again.
cp "$T/site.yaml" "$T/site.yaml.new" && sed -i '/dnp3-z2-z1/d' "$T/site.yaml.new"
mv "$T/site.yaml.new" "$T/site.yaml"
check "site replaced by rename: version 3 everywhere" status --wait 3 --timeout 20
check "site replaced: the conduit is gone" test "$(verdict tp3 "$DNP3")" = deny
kill -HUP "${PID[serve]}"
check "SIGHUP: version 4 everywhere" status --wait 4 --timeout 20

# A broken edit keeps the running version.
cp "$T/site.yaml" "$T/site.good"
echo "zones: [ broken" >>"$T/site.yaml"
sleep 1
check "a site that fails lint is not published" test "$(ctl_version)" = 4
cp "$T/site.good" "$T/site.yaml"
check "fixed site: version 5" status --wait 5 --timeout 20

# Kill the controller right as a push starts; restart it.
kill -HUP "${PID[serve]}"; kill -9 "${PID[serve]}"
wait "${PID[serve]}" 2>/dev/null
serve
wait_for 10 sock_up "$T/ctl/serve.sock"
sleep 0.5
V=$(ctl_version)
check "restarted controller issues a newer version ($V > 5)" test "$V" -gt 5
check "after the restart every TP runs version $V" status --wait "$V" --timeout 30

# Controller down; tp2 restarted: it must come back on its LKG at once.
kill "${PID[serve]}"; wait "${PID[serve]}" 2>/dev/null; unset 'PID[serve]'
kill "${PID[tp2]}"; wait "${PID[tp2]}" 2>/dev/null
rm -f "$T/tp2/agent.sock"
agent tp2 "$T/tp2.key" "$T/ctl.key.pub"
wait_for 5 sock_up "$T/tp2/agent.sock"
check "restarted tp2 runs version $V from its LKG with no controller" \
	test "$(agent_field tp2 policy_version)" = "$V"
check "restarted tp2 is in island mode" test "$(agent_field tp2 policy_state)" = island
check "restarted tp2 still enforces" \
	test "$(verdict tp2 'tcp 10.1.0.5:40000 -> 10.2.0.7:502')" = allow
check "tp1 (controller gone) is in island mode" wait_for 10 agent_is tp1 policy_state island
serve
wait_for 10 sock_up "$T/ctl/serve.sock"
sleep 0.5
V2=$(ctl_version)
check "controller back: every TP runs version $V2" status --wait "$V2" --timeout 30
check "tp2 enforcing again" wait_for 10 agent_is tp2 policy_state enforcing

# The controller loses its state directory: the TPs' versions tell it where
# to continue, so they never see a rollback.
kill "${PID[serve]}"; wait "${PID[serve]}" 2>/dev/null
VL=$(cat "$T/ctl/version")
rm -rf "$T/ctl"
serve
wait_for 10 sock_up "$T/ctl/serve.sock"
check "state lost: the controller continues past version $VL" \
	wait_for 10 sh -c "[ \$(cat '$T/ctl/version') -gt $VL ]"
check "state lost: every TP runs the new version" status --wait $((VL + 1)) --timeout 20
check "state lost: the controller continued on the TPs' proof" \
	grep -q "proved it runs version $VL" "$T/serve.log"

# A compromised TP (tp3's key, scripted in Python) reports 2^64-2, then
# 2^64-1, and proves nothing: the controller's version does not move (it
# used to sign 2^64-1, or wrap to 0), and the others keep taking pushes.
VR=$(ctl_version)
for CLAIM in 18446744073709551614 18446744073709551615; do
	timeout 10 python3 "$TOP/tests/lab/ctrl-e2e/noise_ik_ref.py" $ADDR "$T/tp3.key" \
		"$T/ctl.key.pub" --claim $CLAIM >"$T/rogue.out" 2>>"$T/rogue.log"
	check "rogue TP reporting $CLAIM is asked for proof" \
		grep -qx "proof-request $CLAIM" "$T/rogue.out"
	check "... and gets no bundle of a newer version" sh -c "! grep -q '^push' '$T/rogue.out'"
	check "... the controller stays at version $VR" test "$(ctl_version)" = "$VR"
	check "... and so does its state file" test "$(cat "$T/ctl/version")" = "$VR"
done
check "tpolicy status prints no negative version" sh -c "! '$B/tpolicy' status --state '$T/ctl' | grep -E ' -[0-9]'"
kill -HUP "${PID[serve]}"
check "after the rogue: every TP runs version $((VR + 1))" status --wait $((VR + 1)) --timeout 20

# The end of the version space: from 2^64-2 nothing more is issued (2^64-1
# is never valid, and the counter must not wrap to 0), checked before the
# state file is written; a state file that is not a version stops serve.
last() { # last CONTENT: run a second serve on that STATE/version
	rm -rf "$T/ctl-last" && mkdir -p "$T/ctl-last" && printf '%s\n' "$1" >"$T/ctl-last/version"
	timeout 10 "$B/tpolicy" serve --site "$T/site.yaml" --key "$T/ctl.key" \
		--listen 127.0.0.1:7445 --state "$T/ctl-last" >"$T/last.log" 2>&1
}
last 18446744073709551614
check "serve at version 2^64-2 refuses to issue more" test $? -ne 124
check "... says why" grep -q "is the last one there can be" "$T/last.log"
check "... and leaves its state file alone" test "$(cat "$T/ctl-last/version")" = 18446744073709551614
for BAD in 18446744073709551615 18446744073709551616 -1 12abc ''; do
	last "$BAD"
	check "STATE/version '$BAD' stops serve with a clear error" \
		grep -q "not a version number" "$T/last.log"
	check "... and is left alone" test "$(cat "$T/ctl-last/version")" = "$BAD"
done

# 100 pushes in a row (SIGHUP each; the kernel may merge two pending
# SIGHUPs into one, so count the versions): every TP ends on the last one,
# with no refusal on the way.
V3=$(ctl_version)
ACKS=$(agent_field tp1 controller.acks)
for i in $(seq 100); do kill -HUP "${PID[serve]}"; sleep 0.02; done
sleep 1
VN=$(ctl_version)
check "100 SIGHUPs published at least 90 versions ($V3 -> $VN)" test $((VN - V3)) -ge 90
check "100 pushes in a row: every TP runs version $VN" status --wait "$VN" --timeout 60
check "tp1 acked at least 90 pushes" test $(($(agent_field tp1 controller.acks) - ACKS)) -ge 90
for i in 1 2 3; do
	check "100 pushes: tp$i refused none" test "$(agent_field tp$i controller.nacks)" = 0
done

# Strangers.
"$B/tpolicy" keygen --tp -o "$T/stranger.key" >/dev/null 2>&1 || \
	"$B/tpolicy" keygen --tp > "$T/stranger.keys"
[ -f "$T/stranger.key" ] || head -n1 "$T/stranger.keys" > "$T/stranger.key"
agent stranger "$T/stranger.key" "$T/ctl.key.pub"
agent pinned-other "$T/tp3.key" "$T/other.key.pub"
sleep 2
check "the controller refused the unknown TP" grep -q "refused .* is not a transition point" "$T/serve.log"
check "the unknown TP has no session and no policy" \
	test "$(agent_field stranger controller.sessions)/$(agent_field stranger policy_version)" = 0/0
check "a TP pinned to another controller key never connects" \
	test "$(agent_field pinned-other controller.sessions)" = 0
check "... and counts the controller hanging up on its handshake" \
	test "$(agent_field pinned-other controller.fails.closed)" -ge 1
check "a TP pinned to another controller key runs nothing" \
	test "$(agent_field pinned-other policy_state)" = no-policy
check_fails "--wait for a version nobody runs times out" status --wait 999 --timeout 1

# An independent implementation (Python, from the Noise spec) as tp3.
# python3-cryptography comes from deploy/install-deps.sh: never skipped.
check "python3 cryptography is there for the independent Noise check" python3 -c 'import cryptography'
{
	V4=$(ctl_version)
	check "independent Noise_IK initiator (python) gets the push of version $V4" \
		sh -c "timeout 10 python3 '$TOP/tests/lab/ctrl-e2e/noise_ik_ref.py' $ADDR '$T/tp3.key' '$T/ctl.key.pub' | grep -qx 'push $V4 [0-9]*'"
	# And as the controller: it pushes a bundle compiled by tpolicy to a
	# fresh TP (the C client), which must ack it.
	"$B/tpolicy" compile "$T/site.yaml" -o "$T/ref.tpb" --key "$T/ctl.key" --version 5000 >/dev/null
	timeout 20 python3 "$TOP/tests/lab/ctrl-e2e/noise_ik_ref.py" --responder 127.0.0.1:7444 \
		"$T/ctl.key" "$T/ref.tpb" 5000 >"$T/ref.out" 2>"$T/ref.log" &
	REF=$!
	sleep 0.5
	"$B/tests/tp-ctrl-agent" --name tp1 --key "$T/tp1.key" --controller 127.0.0.1:7444 \
		--controller-key "$T/ctl.key.pub" --state "$T/tp1-ref" >>"$T/tp1-ref.log" 2>&1 &
	PID[tp1ref]=$!
	wait $REF
	check "independent Noise_IK responder (python): the C client acks version 5000" \
		grep -qx 'ack 5000' "$T/ref.out"
	check "... and runs it" test "$(field "$(ask "$T/tp1-ref/agent.sock" '{"cmd":"status"}')" policy_version)" = 5000
}
tl_done
