#!/usr/bin/env bash
# Issue 13's lab benchmarks (b), (c), (d), recorded in BENCHMARKS.md (section
# "labcompare"): the lab path z2-h1 -> z4-h1 across tp2 and tp3, through
#   kernel routing in clear (no tunnel), two tpd (xdp mode; 1 worker, and 2
#   workers when tpd accepts them), two wireguard-go, two Nebula nodes;
# every measurement REPS times, interleaved (repetition 1 of every path,
# then repetition 2, ...), the median reported:
#  (b) CPU cost per packet at a fixed offered load (iperf3 -u at PPS
#      packets/s, 64 B and 1392 B payloads): whole-machine busy time from
#      /proc/stat over the run / datagrams delivered, minus kernel routing's
#  (c) ping RTT p50/p99 (PINGS pings at 2 ms), added over kernel routing
#  (d) iperf3 TCP and UDP 64 B at full rate
# Parsing and arithmetic: tests/bench/lab_compare.py (its selftest is a unit
# test). Needs root, iperf3, wireguard-go, wg, nebula, nebula-cert
# (deploy/install-deps.sh) and a TP_BENCH build; run it under the lab lock:
#   cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DTP_BENCH=ON
#   cmake --build build-bench -j2
#   sudo flock /tmp/tp-netns.lock tests/bench/lab-compare.sh build-bench [--no-record]
# Environment: REPS (5), SECS per iperf3 run (5), PINGS (3000), PPS (the
# fixed load of (b), 20000), ONLY (a subset of the paths kernel tpd1 tpd2 wg
# nebula, for trials). The defaults take about 15 minutes.
set -euo pipefail
[ -n "${1:-}" ] || { echo "usage: $0 BUILD_DIR [--no-record]" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "$0: needs root (network namespaces)" >&2; exit 1; }
BD=$(cd "$1" && pwd)
RECORD=1
[ "${2:-}" != --no-record ] || RECORD=
S=$(cd "$(dirname "$0")/../.." && pwd)
PY=$S/tests/bench/lab_compare.py
REPS=${REPS:-5}
SECS=${SECS:-5}
PINGS=${PINGS:-3000}
PPS=${PPS:-20000}
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
for tool in iperf3 wireguard-go wg nebula nebula-cert python3; do
	command -v "$tool" >/dev/null || { echo "$0: $tool missing (deploy/install-deps.sh)" >&2; exit 1; }
done
export TP_BUILD_DIR=$BD TP_SOURCE_DIR=$S
# shellcheck source=tests/lab/lib/tpdlab.sh
. "$S/tests/lab/lib/tpdlab.sh"

PIDS=() # wireguard-go, nebula and iperf3 servers still running
stop_pids() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	PIDS=()
}
forget() { # PID: it has exited
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}
cleanup() {
	stop_pids
	tpdlab_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# tp2 on cores (control 0, worker 1), tp3 on (1, 0): the two busy workers do
# not share a core of a 2-core machine (as tests/bench/tpd-pipeline.sh)
export TPDLAB_CORES_tp2="0 1" TPDLAB_CORES_tp3="1 0"
tpdlab_init lcb
tpdlab_bundle 1 "$S/tests/lab/tpd-lab/plant-a.yaml"
tpdlab_up
RES=$W/results
: >"$RES"

# --- the paths ------------------------------------------------------------
# every path: PATH_up, PATH_down; in between z2-h1 reaches z4-h1.
# The lab's TPs do not forward (LAB_ROUTING=none: tpd does); the kernel,
# wireguard-go and Nebula paths turn IPv4 forwarding on while they run.
forwarding() { # 0|1
	local tp
	for tp in tp2 tp3; do ip netns exec "$PFX-$tp" sysctl -qw net.ipv4.ip_forward="$1"; done
}
kernel_up() {
	forwarding 1
	ip -n "$PFX-tp2" route add 10.4.0.0/16 via 192.0.2.13
	ip -n "$PFX-tp3" route add 10.2.0.0/16 via 192.0.2.12
}
kernel_down() {
	ip -n "$PFX-tp2" route del 10.4.0.0/16 via 192.0.2.13
	ip -n "$PFX-tp3" route del 10.2.0.0/16 via 192.0.2.12
	forwarding 0
}

tpd1_up() { for tp in tp2 tp3; do tpdlab_start "$tp" "$W/plant-1.tpb"; done; }
tpd1_down() { for tp in tp2 tp3; do tpdlab_stop "$tp"; done; }
tpd2_up() { for tp in tp2 tp3; do TPDLAB_WORKERS=2 tpdlab_start "$tp" "$W/plant-1.tpb"; done; }
tpd2_down() { tpd1_down; }

# wireguard-go as tests/bench/tpd-pipeline.sh runs it: a tun device in the TP
# namespace, the other zone's prefix routed over it
pub() { "$TPOLICY_BIN" keygen --public <"$S/deploy/examples/lab-keys/$1.key"; }
wg_one() { # TP OTHER OTHER_ADDR PREFIX
	# the name is unique on the machine: wireguard-go's control socket
	# (/var/run/wireguard/NAME.sock) is not in the namespace
	local tp=$1 dev=lcb$$${1#tp} i
	ip netns exec "$PFX-$tp" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error \
		wireguard-go -f "$dev" >>"$W/wg-$tp.log" 2>&1 &
	PIDS+=($!)
	for ((i = 0; i < 50; i++)); do
		ip -n "$PFX-$tp" link show "$dev" >/dev/null 2>&1 && break
		sleep 0.1
	done
	ip netns exec "$PFX-$tp" wg set "$dev" private-key "$W/$tp.key" listen-port 51820 \
		peer "$(pub "$2")" endpoint "$3:51820" allowed-ips "$4" ||
		tpdlab_fail "wireguard-go on $tp: $(tail -5 "$W/wg-$tp.log")"
	ip -n "$PFX-$tp" link set "$dev" up
	ip -n "$PFX-$tp" route add "$4" dev "$dev"
}
wg_up() {
	forwarding 1
	wg_one tp2 tp3 192.0.2.13 10.4.0.0/16
	wg_one tp3 tp2 192.0.2.12 10.2.0.0/16
}
wg_down() {
	stop_pids
	forwarding 0
}

# Nebula: a CA and one certificate per TP whose subnets are its zones and
# whose groups name them, as a TP's identity would; a static host map instead
# of a lighthouse; unsafe_routes send the other TP's zone prefixes over the
# tun device to that TP's overlay address; tp3's inbound firewall allows
# what the lab policy (plant-a) allows z2 -> z4, by group; replies pass by
# Nebula's connection tracking.
NEB=$W/nebula
mkdir -p "$NEB"
nebula-cert ca -name lab-compare -duration 48h -out-crt "$NEB/ca.crt" -out-key "$NEB/ca.key"
nebula-cert sign -ca-crt "$NEB/ca.crt" -ca-key "$NEB/ca.key" -name tp2 -ip 10.99.0.12/24 \
	-subnets 10.2.0.0/16 -groups z2 -out-crt "$NEB/tp2.crt" -out-key "$NEB/tp2.key"
nebula-cert sign -ca-crt "$NEB/ca.crt" -ca-key "$NEB/ca.key" -name tp3 -ip 10.99.0.13/24 \
	-subnets 10.3.0.0/16,10.4.0.0/16 -groups z3,z4 -out-crt "$NEB/tp3.crt" -out-key "$NEB/tp3.key"
neb_conf() { # TP OTHER_OVERLAY OTHER_UNDERLAY ROUTE INBOUND_RULES
	cat <<YAML
pki:
  ca: $NEB/ca.crt
  cert: $NEB/$1.crt
  key: $NEB/$1.key
static_host_map:
  "$2": ["$3:4242"]
lighthouse:
  am_lighthouse: false
  hosts: []
listen:
  host: 0.0.0.0
  port: 4242
punchy:
  punch: false
tun:
  dev: neb0
  mtu: 1420
  unsafe_routes:
    - route: $4
      via: $2
logging:
  level: warning
firewall:
  conntrack:
    tcp_timeout: 12m
    udp_timeout: 3m
    default_timeout: 10m
  outbound:
    - port: any
      proto: any
      host: any
  inbound:
$5
YAML
}
neb_conf tp2 10.99.0.13 192.0.2.13 10.4.0.0/16 "    []" >"$NEB/tp2.yml"
neb_conf tp3 10.99.0.12 192.0.2.12 10.2.0.0/16 "\
    - { port: 5000, proto: udp, group: z2 }
    - { port: 5000, proto: tcp, group: z2 }
    - { port: any, proto: icmp, group: z2 }" >"$NEB/tp3.yml"
neb_one() { # TP
	local tp=$1 i
	ip netns exec "$PFX-$tp" nebula -config "$NEB/$tp.yml" >>"$W/nebula-$tp.log" 2>&1 &
	PIDS+=($!)
	for ((i = 0; i < 50; i++)); do
		ip -n "$PFX-$tp" link show neb0 >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	tpdlab_fail "nebula on $tp made no tun device: $(tail -5 "$W/nebula-$tp.log")"
}
nebula_up() {
	forwarding 1
	for tp in tp2 tp3; do neb_one "$tp"; done
}
nebula_down() {
	stop_pids
	forwarding 0
}

# z2-h1 reaches z4-h1 (handshakes done, neighbours resolved) within 10 s
warm() {
	local i
	for ((i = 0; i < 20; i++)); do
		tpdlab_exec z2-h1 ping -c1 -W1 10.4.0.10 >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	tpdlab_fail "$1: z2-h1 does not reach z4-h1"
}

# --- the measurements -------------------------------------------------------
# iperf3 client in z2-h1 against a one-shot server in z4-h1; JSON to FILE.
# A failed run (server not up yet) is tried again, twice; then 1.
iperf() { # FILE IPERF3-CLIENT-ARGS...
	local out=$1 try pid line
	shift
	for try in 1 2 3; do
		ip netns exec "$PFX-z4-h1" iperf3 -s -p 5000 -1 >/dev/null 2>&1 &
		pid=$!
		PIDS+=("$pid")
		sleep 0.3
		[ -z "${STAT0:-}" ] || { read -r line </proc/stat && echo "$line" >"$STAT0"; }
		# stderr apart: iperf3 warns there when a 1392-byte datagram exceeds
		# its control connection's MSS, though the 1420-byte packet fits
		if tpdlab_exec z2-h1 iperf3 -c 10.4.0.10 -p 5000 -J "$@" >"$out" 2>"$out.err"; then
			[ -z "${STAT1:-}" ] || { read -r line </proc/stat && echo "$line" >"$STAT1"; }
			# a server that never saw the test's end (its control
			# connection lost) would wait forever: 5 s, then stop it
			for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			kill "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			forget "$pid"
			python3 "$PY" valid "$out" && return 0
			tpdlab_log "iperf3 $* (try $try): no result: $(head -c 300 "$out")"
			continue
		fi
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		forget "$pid"
		tpdlab_log "iperf3 $* failed (try $try): $(head -c 300 "$out" "$out.err")"
	done
	tpdlab_log "iperf3 $*: failed three times"
	return 1
}

put() { echo "$1 $2 $3 $4" >>"$RES"; } # PATH REP METRIC VALUE

measure() { # PATH REP
	local path=$1 rep=$2 size payload sent dl loss busy us p50 p99 n kpps tcp
	for size in 64 1420; do
		# 1420: 1420-byte IP packets (1392 B of payload), the largest that
		# fits the 1420-byte tunnel MTU of wireguard-go and of our Nebula
		payload=$((size == 64 ? 64 : 1392))
		STAT0=$W/stat0 STAT1=$W/stat1 iperf "$W/b.json" -u -l "$payload" \
			-b $((PPS * payload * 8)) -t "$SECS" || tpdlab_fail "$path: (b) without a result"
		read -r sent dl loss busy us < <(python3 "$PY" cost "$W/stat0" "$W/stat1" "$W/b.json")
		put "$path" "$rep" "cost$size" "$us"
		put "$path" "$rep" "loss$size" "$loss"
		tpdlab_log "  (b) $size B: $sent sent, $dl delivered ($loss % lost), busy $busy s, $us us/pkt"
	done
	read -r p50 p99 n < <(
		{ tpdlab_exec z2-h1 ping -i 0.002 -c "$PINGS" -W 1 10.4.0.10 || true; } |
			python3 "$PY" ping "$PINGS"
	)
	put "$path" "$rep" p50 "$p50"
	put "$path" "$rep" p99 "$p99"
	put "$path" "$rep" replies "$n"
	tpdlab_log "  (c) ping: p50 $p50 us, p99 $p99 us, $n replies"
	iperf "$W/d.json" -t "$SECS" || tpdlab_fail "$path: (d) TCP without a result"
	tcp=$(python3 "$PY" tcp "$W/d.json")
	put "$path" "$rep" tcp "$tcp"
	# the flood is last: a path it leaves broken is counted, not fatal,
	# and the next repetition starts the path again
	if iperf "$W/d.json" -u -l 64 -b 0 -t "$SECS"; then
		read -r kpps loss < <(python3 "$PY" udp "$W/d.json")
		put "$path" "$rep" udpkpps "$kpps"
		put "$path" "$rep" udploss "$loss"
	else
		kpps=- loss=-
		put "$path" "$rep" udpfail 1
	fi
	tpdlab_log "  (d) TCP $tcp Gbit/s, UDP 64 B $kpps kpps ($loss % lost)"
}

# --- 2 workers: only if this tpd accepts them -----------------------------
# its configuration check first, then one start in tp2 (the ports must offer
# a queue per worker): a refusal is the row's "not measured", not the end
# of the run
probe_workers() { # prints why not, or nothing
	local msg pid i
	TPDLAB_WORKERS=2 tpdlab_conf tp2 "$W/plant-1.tpb" >"$W/probe.conf"
	if ! msg=$("$TPD_BIN" --config "$W/probe.conf" --check 2>&1); then
		echo "$msg" | tail -1
		return
	fi
	ip netns exec "$PFX-tp2" "$TPD_BIN" --config "$W/probe.conf" >"$W/probe.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	for ((i = 0; i < 300; i++)); do
		grep -qF "tpd: $PFX-tp2: running, mode " "$W/probe.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	forget "$pid"
	grep -qF "tpd: $PFX-tp2: running, mode " "$W/probe.log" ||
		grep -v '^tpd: signal' "$W/probe.log" | tail -1
}
PATHS_RUN=(kernel tpd1)
SKIPPED="{}"
msg=$(probe_workers | sed "s|$W/||g")
if [ -z "$msg" ]; then
	PATHS_RUN+=(tpd2)
else
	tpdlab_log "tpd with 2 workers not measured: $msg"
	SKIPPED=$(python3 -c 'import json, sys; print(json.dumps({"tpd2": sys.argv[1]}))' "$msg")
fi
PATHS_RUN+=(wg nebula)
# ONLY="kernel tpd1 ...": a subset, for trials (the report leaves the others out)
if [ -n "${ONLY:-}" ]; then
	keep=()
	for path in "${PATHS_RUN[@]}"; do [[ " $ONLY " != *" $path "* ]] || keep+=("$path"); done
	PATHS_RUN=("${keep[@]}")
fi

# --- the run --------------------------------------------------------------
for ((rep = 1; rep <= REPS; rep++)); do
	for path in "${PATHS_RUN[@]}"; do
		tpdlab_log "repetition $rep/$REPS: $path"
		"${path}_up"
		warm "$path"
		measure "$path" "$rep"
		"${path}_down"
	done
done

# --- the record -----------------------------------------------------------
cmd=sudo
for v in REPS SECS PINGS PPS ONLY; do
	[ -z "$(printenv "$v")" ] || cmd+=" $v=\"${!v}\""
done
cmd+=" flock /tmp/tp-netns.lock tests/bench/lab-compare.sh $1${2:+ $2}"
# how /proc/stat's busy time is measured: tick sampling (HZ per second and
# cpu) or exact accounting; from the kernel's config when it shows it
kconf=$( (zcat /proc/config.gz || cat "/boot/config-$(uname -r)") 2>/dev/null || true)
if grep -q '^CONFIG_VIRT_CPU_ACCOUNTING_GEN=y' <<<"$kconf"; then
	acct="exact (VIRT_CPU_ACCOUNTING_GEN)"
elif grep -q '^CONFIG_TICK_CPU_ACCOUNTING=y' <<<"$kconf"; then
	acct="tick sampling at $(sed -n 's/^CONFIG_HZ=//p' <<<"$kconf") Hz per cpu"
else
	acct="unknown (no kernel config)"
fi
if grep -q '^CONFIG_IRQ_TIME_ACCOUNTING=y' <<<"$kconf"; then acct+=", irq time accounted apart"; fi
python3 - "$W/env.json" "command=$cmd" "kernel=$(uname -r)" "accounting=$acct" \
	"cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)" "nproc=$(nproc)" \
	"wireguard_go=$(wireguard-go --version | head -1)" \
	"nebula=$(nebula -version | sed 's/^Version: //')" \
	"iperf3=$(iperf3 --version | head -1 | cut -d' ' -f2)" \
	"tpd=$(git -C "$S" describe --always --dirty 2>/dev/null || echo unknown)" \
	"loadavg=$LOADAVG" "reps=$REPS" "secs=$SECS" "pings=$PINGS" "pps=$PPS" "wall=$SECONDS" \
	"skipped=$SKIPPED" <<'PY'
import json, sys
env = dict(a.split("=", 1) for a in sys.argv[2:])
env["reps"] = int(env["reps"])
env["skipped"] = json.loads(env["skipped"])
json.dump(env, open(sys.argv[1], "w"))
PY
out=$(mktemp)
python3 "$PY" report "$RES" "$W/env.json" >"$out"
echo "--- raw results (PATH REP METRIC VALUE)"
cat "$RES"
echo "---"
cat "$out"
[ -z "$RECORD" ] || "$S/tests/bench/record.sh" labcompare "$out"
rm -f "$out"
