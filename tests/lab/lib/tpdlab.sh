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
#   tpdlab_counter TP NAME  one counter (tpctl --json counters); fails on a
#                           name tpd does not have (see below)
#   tpdlab_exec NODE CMD... run in a lab node
#   tpdlab_serve_start ADDR `tpolicy serve` of $W/site/site.yaml in the transit
#                           namespace on ADDR:7443 (state $W/serve), until it
#                           answers; SERVE_PID is serve itself
#   tpdlab_serve_stop [SIG] stop it (SIGTERM), wait
#   tpdlab_serve_status ARGS...  tpolicy status against it
#   tpdlab_iperf_lossless FILE WHAT  iperf3 -u -J result: > 1000 datagrams, none lost
#                                    (send at -b $TPDLAB_IPERF_RATE)
#
# TP_INSTALLED=1: tpd, tpctl, tpolicy and the XDP programs where the Debian
# packages put them (deploy/package.sh, dpkg -i), not the build tree's.
#   TPDLAB_AUDIT=file       each tpd's audit trail in $W/TP.audit (default: off)
#   TPDLAB_WORKERS=N        N worker cores in each tpd's config (default 1)
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
		# what it dropped, and why, while it still runs
		if [ -n "${TPD_PID[$tp]:-}" ] && [ -S "$W/$tp.sock" ]; then
			echo "--- $tp counters" >&2
			tpdlab_ctl "$tp" counters >&2 2>&1 || true
		fi
	done
	# datagrams lost past tpd: a host's socket that overflowed
	local node
	for node in $(LAB_PREFIX=$PFX "$LAB" nodes 2>/dev/null); do
		case $node in tp* | transit) continue ;; esac
		ip netns exec "$PFX-$node" nstat -asz UdpRcvbufErrors UdpInErrors 2>/dev/null |
			awk -v n="$node" '/^Udp/ && $2 > 0 { print "--- " n ": " $1 " " $2 }' >&2
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
	[ -n "${W:-}" ] || return 0
	local bad=0 f
	# a sanitizer build reports at exit: that fails the test
	for f in $(grep -l "Sanitizer" "$W"/*.log* 2>/dev/null); do
		echo "--- $f" >&2
		grep -A400 "Sanitizer" "$f" | head -150 >&2
		bad=1
	done
	# a counter read by a name tpd does not have (tpdlab_counter)
	if [ -s "$W/counter-errors" ]; then
		echo "FAIL: counters that do not exist were read:" >&2
		cat "$W/counter-errors" >&2
		bad=1
	fi
	rm -rf "$W"
	[ "$bad" -eq 0 ] || exit 1
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
	local tp=$1 bundle=${2:-} cores workers i n
	# TPDLAB_CORES_tpN="CONTROL WORKER" spreads the tpds over the cores
	cores=TPDLAB_CORES_$tp
	cores=(${!cores:-0 1})
	# TPDLAB_WORKERS=N (default 1): N workers, on WORKER and the cores after
	# it, wrapping at nproc (on a 2-core machine the second one shares the
	# control core: whether tpd accepts that is tpd's to say)
	workers=${cores[1]}
	n=$(nproc)
	for ((i = 1; i < ${TPDLAB_WORKERS:-1}; i++)); do
		workers+=",$(((cores[1] + i) % n))"
	done
	cat <<CONF
name = $PFX-$tp
identity_key = $W/$tp.key
mode = xdp
zone_interface = zone0
transit_interface = transit0
zone_xdp_program = $TP_BPF_DIR/zone.bpf.o
transit_xdp_program = $TP_BPF_DIR/transit.bpf.o
control_core = ${cores[0]}
worker_cores = $workers
memory_mb = 128
mbufs = $((4096 * ${TPDLAB_WORKERS:-1} - 1))
flow_table_size = 16384
state_dir = $W/state-$tp
admin_socket = $W/$tp.sock
controller_key = $(cat "$W/ctl.key.pub")
CONF
	# a worker on the control thread's core (2-core machines): say so
	case ",$workers," in *",${cores[0]},"*) echo "control_core_shared = yes" ;; esac
	[ -z "$bundle" ] || echo "policy_bundle = $bundle"
	# TPDLAB_CONTROLLER=ADDR:PORT: the controller client (tpolicy serve)
	[ -z "${TPDLAB_CONTROLLER:-}" ] || echo "controller_address = $TPDLAB_CONTROLLER"
	[ -z "${TPDLAB_WORKER_PRIORITY:-}" ] || echo "worker_priority = $TPDLAB_WORKER_PRIORITY"
	[ -z "${TPDLAB_IDLE_POLL_US:-}" ] || echo "idle_poll_us = $TPDLAB_IDLE_POLL_US"
	# TPDLAB_CONF_EXTRA: more lines for every tpd's config (benchmarks, debugging)
	[ -z "${TPDLAB_CONF_EXTRA:-}" ] || printf '%s\n' "$TPDLAB_CONF_EXTRA"
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
	# sanitizer builds: the AF_XDP PMD's own leaks are suppressed (lsan.supp),
	# which needs full stacks through libbpf/libxdp (no frame pointers)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0" \
	LSAN_OPTIONS="suppressions=$S/tests/lab/lib/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}" \
	ip netns exec "$PFX-$tp" "$TPD_BIN" --config "$W/$tp.conf" >>"$W/$tp.log" 2>&1 &
	TPD_PID[$tp]=$!
	tpdlab_wait_running "$tp" || tpdlab_fail "tpd $tp did not start"
}

# Wait for tpd's own "NAME: running, mode ..." line, not any line with the word
# (its "is another tpd running?" error is one), and for the process to be
# alive; TPDLAB_START_TIMEOUT seconds (a sanitizer build starts slower).
tpdlab_wait_running() {
	local tp=$1 i
	for ((i = 0; i < ${TPDLAB_START_TIMEOUT:-30} * 10; i++)); do
		kill -0 "${TPD_PID[$tp]}" 2>/dev/null || return 1
		grep -qF "tpd: $PFX-$tp: running, mode " "$W/$tp.log" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
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

# The counter NAME must exist: a misspelt or not yet implemented counter fails
# the test (it does not read as 0, which would make "== 0" checks pass
# vacuously). A bare NAME is looked up in the sections that always list every
# counter (drops, stats, flows) and must be in exactly one; SECTION.NAME picks
# one (flows.no_policy, tunnel.ok, xdp.zone.drop_spoofed); ID:NAME (or
# "default") is a rule's first-packet hits, 0 while it has none, and the rule
# must be in the running policy (tpctl export). Prints the value; on an unknown
# name prints nothing, returns 1 and marks the test failed for tpdlab_cleanup,
# so a caller that ignores the status still fails.
tpdlab_counter() {
	local tp=$1 name=$2 counters rules=/dev/null out rc=0
	counters=$(tpdlab_ctl "$tp" --json counters) || {
		tpdlab_counter_error "$tp: tpctl counters failed"
		return 1
	}
	if [[ "$name" == *:* || "$name" == default ]]; then
		rules=$(mktemp)
		tpdlab_ctl "$tp" --json export >"$rules" || {
			rm -f "$rules"
			tpdlab_counter_error "$tp: tpctl export failed"
			return 1
		}
	fi
	out=$(python3 -c '
import json, sys
c = json.loads(sys.argv[1])
name = sys.argv[2]
def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)
if ":" in name or name == "default":
    hits = c.get("rule_hits", {})
    if name in hits:
        print(hits[name])
        sys.exit(0)
    rules = json.load(open(sys.argv[3])).get("rules", [])
    known = {"%d:%s" % (r["id"], r["name"]) for r in rules} | {"default"}
    if name not in known:
        fail("no rule %s in the running policy (rules: %s)" % (name, ", ".join(sorted(known))))
    print(0)
    sys.exit(0)
complete = ("drops", "stats", "flows")
if "." in name:
    node = c
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            fail("no counter %s" % name)
        node = node[part]
    if not isinstance(node, int):
        fail("%s is a section, not a counter" % name)
    print(node)
    sys.exit(0)
found = [s for s in complete if name in c.get(s, {})]
if not found:
    fail("no counter %s in %s (a new one not in this tpd yet?)" % (name, "/".join(complete)))
if len(found) > 1:
    fail("counter %s is ambiguous: say %s" % (name, " or ".join(s + "." + name for s in found)))
print(c[found[0]][name])' "$counters" "$name" "$rules") || rc=$?
	[ "$rules" = /dev/null ] || rm -f "$rules"
	if [ "$rc" -ne 0 ] || [ -z "$out" ]; then
		tpdlab_counter_error "$tp: counter '$name' does not exist"
		return 1
	fi
	echo "$out"
}

# An unknown counter fails the test even when read inside $(...) or a
# condition: the mark is checked by tpdlab_cleanup.
tpdlab_counter_error() {
	echo "FAIL: tpdlab_counter: $*" >&2
	[ -z "${W:-}" ] || echo "$*" >>"$W/counter-errors"
}

SERVE_PID=
tpdlab_serve_start() {
	rm -f "$W/serve/serve.sock" # a killed serve leaves its socket behind
	# not through a function: $! must be serve itself (ip netns exec execs it)
	ip netns exec "$PFX-transit" "$TPOLICY_BIN" serve --site "$W/site/site.yaml" --key "$W/ctl.key" \
		--listen "$1:7443" --state "$W/serve" >>"$W/serve.log" 2>&1 &
	SERVE_PID=$!
	for _ in $(seq 100); do
		[ -S "$W/serve/serve.sock" ] && tpdlab_serve_status >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	tpdlab_fail "tpolicy serve did not start: $(tail -5 "$W/serve.log")"
}

tpdlab_serve_stop() {
	[ -z "$SERVE_PID" ] || { kill -"${1:-TERM}" "$SERVE_PID" 2>/dev/null || true; wait "$SERVE_PID" 2>/dev/null || true; }
	SERVE_PID=
}

tpdlab_serve_status() {
	ip netns exec "$PFX-transit" "$TPOLICY_BIN" status --state "$W/serve" "$@"
}

tpdlab_exec() {
	"$LAB" exec "$@"
}

# The UDP rate of the lossless iperf3 checks: 20 Mbit/s; 8 in the sanitizer
# build, whose three tpd run 2-3x slower on the same two cores and starve
# the receiving host's socket (its drops are the kernel's, after tpd).
TPDLAB_IPERF_RATE=20M
if [ "${TP_SANITIZE:-0}" = 1 ]; then TPDLAB_IPERF_RATE=8M; fi

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
