#!/usr/bin/env bash
# deploy/quickstart.sh — the demo: installs what is missing, builds, brings
# the lab plant up with one tpd per transition point, and shows an allowed
# and a denied flow with the counters that prove it. Needs no input; exits
# 0 leaving the lab running; on failure or Ctrl-C it removes what it made.
set -Eeuo pipefail # -E: the ERR trap also fires inside functions
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
LAB=deploy/lab.sh
export LAB_PREFIX=tl LAB_ROUTING=none
RUN=/run/tableau-lab/quickstart # keys, bundle, configs, logs, state of the demo
B=$TOP/build

[ "$(id -u)" -eq 0 ] || { echo "quickstart: run as root (a root shell, or sudo deploy/quickstart.sh)" >&2; exit 1; }

cleanup() {
	echo "quickstart: failed or interrupted — removing the lab" >&2
	# lab.sh down stops every process in the lab's namespaces (the tpds)
	"$LAB" down >/dev/null 2>&1 || true
	rm -rf "$RUN"
}
trap cleanup ERR INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "1/5 dependencies"
deploy/install-deps.sh

say "2/5 build"
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
ls build/tpd build/tpctl build/tpolicy

say "3/5 lab: 3 transition points, 4 zones, 2 hosts per zone (tpd forwards)"
"$LAB" down >/dev/null 2>&1 || true
rm -rf "$RUN"
mkdir -p -m 700 "$RUN"
"$LAB" up
"$LAB" status

say "4/5 policy: the lab plant, compiled and signed; one tpd per TP"
run build/tpolicy keygen --controller -o "$RUN/controller.key" >/dev/null
run build/tpolicy compile deploy/examples/lab-plant.yaml -o "$RUN/lab-plant.tpb" \
	--key "$RUN/controller.key" --version 1 --valid-for 30d
for tp in tp1 tp2 tp3; do
	install -m 600 "deploy/examples/lab-keys/$tp.key" "$RUN/$tp.key"
	cat >"$RUN/$tp.conf" <<CONF
name = tl-$tp
identity_key = $RUN/$tp.key
mode = xdp
zone_interface = zone0
transit_interface = transit0
zone_xdp_program = $B/bpf/zone.bpf.o
transit_xdp_program = $B/bpf/transit.bpf.o
control_core = 0
worker_cores = 1
memory_mb = 128
mbufs = 4095
flow_table_size = 16384
state_dir = $RUN/state-$tp
admin_socket = $RUN/$tp.sock
controller_key = $(cat "$RUN/controller.key.pub")
policy_bundle = $RUN/lab-plant.tpb
CONF
	# setsid: the tpds outlive this script; lab.sh down stops them
	setsid ip netns exec "tl-$tp" "$B/tpd" --config "$RUN/$tp.conf" >"$RUN/$tp.log" 2>&1 </dev/null &
done
for tp in tp1 tp2 tp3; do
	for _ in $(seq 100); do
		grep -q running "$RUN/$tp.log" && break
		sleep 0.1
	done
	grep -q running "$RUN/$tp.log" || { cat "$RUN/$tp.log" >&2; false; }
	echo "tpd $tp: $(grep -m1 'policy version .* from' "$RUN/$tp.log" | sed 's/^tpd: //')"
done
TP1="build/tpctl --socket $RUN/tp1.sock"
# Tunnels come up with the first handshakes; one sent before its peer's tpd
# was running is retried after REKEY_TIMEOUT (5 s). Packets sent meanwhile
# are held and delivered once the session is up, but a demo ping with a
# short timeout would have given up by then: wait for every tunnel.
echo "waiting for the tunnels between the three TPs..."
for _ in $(seq 40); do
	up=0
	for tp in tp1 tp2 tp3; do
		n=$(build/tpctl --socket "$RUN/$tp.sock" --json peers | grep -c '"state": "up"' || true)
		[ "$n" -eq 2 ] && up=$((up + 1))
	done
	[ "$up" -eq 3 ] && break
	sleep 0.5
done
[ "$up" -eq 3 ] || { echo "quickstart: tunnels did not come up in 20 s" >&2; false; }
run $TP1 peers

say "5/5 traffic between zones"
echo "allowed: conduit 20 'ping-z1-z3' lets z1 ping z3 (and the replies come back)"
run "$LAB" exec z1-h1 ping -c3 -i0.3 -W2 10.3.0.10
echo
echo "denied: z1 may reach z2 only on TCP 502 (conduit 10), so ping fails"
run "$LAB" exec z1-h1 ping -c2 -i0.3 -W1 10.2.0.10 && false || echo "(no reply, as the policy says)"
echo
echo "the counters that prove it, on tp1:"
run $TP1 counters | sed -n '/^drops/,/^flow tables/{/^flow tables/!p}'

trap - ERR INT TERM
cat <<TXT

The lab is up: tpd runs on tp1, tp2 and tp3 (logs, keys and configs in
$RUN). Traffic between zones crosses the transit network only inside
WireGuard tunnels, and only where lab-plant.yaml allows it.

Try next (as root):
  $TP1 status | peers | zones | flows | counters
  deploy/lab.sh exec z1-h1 python3 -c 'import socket; socket.create_connection(("10.2.0.10", 502), 2)'
        # refused by z2-h1 itself (nothing listens): the SYN crossed, policy allows TCP 502
  deploy/lab.sh exec z4-h1 ping -c2 10.1.0.10           # denied: conduit 90 'no-z4-to-z1'
  deploy/lab.sh exec transit tcpdump -ni br0 -c5        # only UDP 51820 on the wire
Remove it (as root):
  deploy/lab.sh down
TXT
