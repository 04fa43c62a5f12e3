# Shared by the tpd lab tests (sourced): a private lab (LAB_PREFIX) with
# LAB_ROUTING=none, a controller key, the lab plant compiled into a bundle,
# and one tpd per TP in xdp mode. Everything is removed by tpdlab_cleanup,
# which the caller traps on EXIT.
#
#   tpdlab_init PREFIX      work dir, keys, bundle version 1 ($W/plant-1.tpb)
#   tpdlab_up               lab up
#   tpdlab_start TP [ARGS]  start tpd for TP (tp1..tp3), wait until running
#   tpdlab_stop TP          SIGTERM, wait
#   tpdlab_bundle N FILE.yaml [compile args]   $W/plant-N.tpb
#   tpdlab_ctl TP ARGS...   tpctl against TP's tpd
#   tpdlab_counter TP NAME  one drop/stat counter (tpctl --json counters)
#   tpdlab_exec NODE CMD... run in a lab node
#   tpdlab_iperf_lossless FILE WHAT  iperf3 -u -J result: > 1000 datagrams, none lost
#
# TP_INSTALLED=1: tpd, tpctl, tpolicy and the XDP programs where the Debian
# packages put them (deploy/package.sh, dpkg -i), not the build tree's.
#   TPDLAB_AUDIT=file       each tpd's audit trail in $W/TP.audit (default: off)
: "${TP_BUILD_DIR:?}" "${TP_SOURCE_DIR:?}"
B=$TP_BUILD_DIR
S=$TP_SOURCE_DIR
if [ "${TP_INSTALLED:-0}" = 1 ]; then
	TPD_BIN=/usr/sbin/tpd TPCTL_BIN=/usr/sbin/tpctl TPOLICY_BIN=/usr/bin/tpolicy
	TP_BPF_DIR=/usr/lib/tableau
	echo "tpdlab: the installed tpd, tpctl, tpolicy and XDP programs (TP_INSTALLED=1)"
else
	TPD_BIN=$B/tpd TPCTL_BIN=$B/tpctl TPOLICY_BIN=$B/tpolicy TP_BPF_DIR=$B/bpf
fi
LAB=$S/deploy/lab.sh
declare -A TPD_PID=()

tpdlab_log() { echo "[$(date +%T.%3N)] $*"; }

tpdlab_fail() {
	echo "FAIL: $*" >&2
	for tp in tp1 tp2 tp3; do
		if [ -f "$W/$tp.log" ]; then
			echo "--- $tp.log" >&2
			tail -20 "$W/$tp.log" >&2
		fi
	done
	exit 1
}

tpdlab_cleanup() {
	local tp
	for tp in "${!TPD_PID[@]}"; do
		kill -TERM "${TPD_PID[$tp]}" 2>/dev/null || true
	done
	for tp in "${!TPD_PID[@]}"; do
		wait "${TPD_PID[$tp]}" 2>/dev/null || true
	done
	LAB_PREFIX=$PFX LAB_QUIET=1 "$LAB" down >/dev/null 2>&1 || true
	# a sanitizer build reports at exit: that fails the test
	if [ -n "${W:-}" ] && grep -l "Sanitizer" "$W"/*.log* >/dev/null 2>&1; then
		for f in $(grep -l "Sanitizer" "$W"/*.log*); do
			echo "--- $f" >&2
			grep -A400 "Sanitizer" "$f" | head -150 >&2
		done
		rm -rf "$W"
		exit 1
	fi
	[ -n "${W:-}" ] && rm -rf "$W"
}

tpdlab_init() {
	PFX=$1
	export LAB_PREFIX=$PFX LAB_ROUTING=none LAB_QUIET=1
	W=$(mktemp -d "/tmp/tpdlab-$PFX.XXXXXX")
	umask 077
	"$TPOLICY_BIN" keygen --controller -o "$W/ctl.key" >/dev/null 2>&1
	for tp in tp1 tp2 tp3; do
		cp "$S/deploy/examples/lab-keys/$tp.key" "$W/$tp.key"
		chmod 600 "$W/$tp.key"
	done
	tpdlab_bundle 1 "$S/deploy/examples/lab-plant.yaml"
}

tpdlab_bundle() {
	local v=$1 yaml=$2
	shift 2
	"$TPOLICY_BIN" compile "$yaml" -o "$W/plant-$v.tpb" --key "$W/ctl.key" --version "$v" \
		--valid-for 30d "$@" >"$W/compile-$v.log" 2>&1 ||
		tpdlab_fail "tpolicy compile $yaml: $(cat "$W/compile-$v.log")"
}

tpdlab_up() {
	"$LAB" down >/dev/null 2>&1 || true
	"$LAB" up >"$W/lab.log" 2>&1 || tpdlab_fail "lab up: $(cat "$W/lab.log")"
}

tpdlab_conf() {
	local tp=$1 bundle=${2:-} cores
	# TPDLAB_CORES_tpN="CONTROL WORKER" spreads the tpds over the cores
	cores=TPDLAB_CORES_$tp
	cores=(${!cores:-0 1})
	cat <<CONF
name = $PFX-$tp
identity_key = $W/$tp.key
mode = xdp
zone_interface = zone0
transit_interface = transit0
zone_xdp_program = $TP_BPF_DIR/zone.bpf.o
transit_xdp_program = $TP_BPF_DIR/transit.bpf.o
control_core = ${cores[0]}
worker_cores = ${cores[1]}
memory_mb = 128
mbufs = 4095
flow_table_size = 16384
state_dir = $W/state-$tp
admin_socket = $W/$tp.sock
controller_key = $(cat "$W/ctl.key.pub")
CONF
	[ -z "$bundle" ] || echo "policy_bundle = $bundle"
	# TPDLAB_CONTROLLER=ADDR:PORT: the controller client (tpolicy serve)
	[ -z "${TPDLAB_CONTROLLER:-}" ] || echo "controller_address = $TPDLAB_CONTROLLER"
	[ -z "${TPDLAB_WORKER_PRIORITY:-}" ] || echo "worker_priority = $TPDLAB_WORKER_PRIORITY"
	# TPDLAB_METRICS_LISTEN=[ADDR:]PORT: the /metrics endpoint
	[ -z "${TPDLAB_METRICS_LISTEN:-}" ] || echo "metrics_listen = $TPDLAB_METRICS_LISTEN"
	# TPDLAB_AUDIT=file: each TP's audit trail in $W/TP.audit (tests/lab/tpd-audit);
	# by default none, so no lab run writes to the host's syslog
	if [ "${TPDLAB_AUDIT:-}" = file ]; then echo "audit = file:$W/$tp.audit"; else echo "audit = off"; fi
}

tpdlab_start() {
	local tp=$1 bundle=${2:-}
	tpdlab_conf "$tp" "$bundle" >"$W/$tp.conf"
	[ ! -f "$W/$tp.log" ] || mv "$W/$tp.log" "$W/$tp.log.old"
	# sanitizer builds: the PMD's known leaks (lsan.supp)
	LSAN_OPTIONS="suppressions=$S/tests/lab/lib/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
	ip netns exec "$PFX-$tp" "$TPD_BIN" --config "$W/$tp.conf" >>"$W/$tp.log" 2>&1 &
	TPD_PID[$tp]=$!
	for _ in $(seq 150); do
		grep -q "running" "$W/$tp.log" 2>/dev/null && return 0
		kill -0 "${TPD_PID[$tp]}" 2>/dev/null || break
		sleep 0.1
	done
	tpdlab_fail "tpd $tp did not start"
}

tpdlab_stop() {
	local tp=$1 sig=${2:-TERM}
	kill -"$sig" "${TPD_PID[$tp]}" 2>/dev/null || true
	wait "${TPD_PID[$tp]}" 2>/dev/null || true
	unset "TPD_PID[$tp]"
}

tpdlab_ctl() {
	local tp=$1
	shift
	"$TPCTL_BIN" --socket "$W/$tp.sock" "$@"
}

tpdlab_counter() {
	tpdlab_ctl "$1" --json counters | python3 -c '
import json, sys
c = json.load(sys.stdin); k = sys.argv[1]
for sec in ("drops", "stats", "rule_hits", "flows", "tunnel"):
    if k in c.get(sec, {}):
        print(c[sec][k]); break
else:
    print(0)' "$2"
}

tpdlab_exec() {
	"$LAB" exec "$@"
}

tpdlab_iperf_lossless() {
	python3 - "$1" "$2" <<'PY' || tpdlab_fail "iperf3 $2"
import json, sys
r = json.load(open(sys.argv[1]))
assert "error" not in r, r["error"]
s = r["end"].get("sum_received", r["end"]["sum"])
print(f"iperf3 UDP {sys.argv[2]}: {s['packets']} datagrams, lost {s['lost_packets']}")
assert s["packets"] > 1000, s
assert s["lost_packets"] == 0, "datagrams of the allowed flow were lost"
PY
}
