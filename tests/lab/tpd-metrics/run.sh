#!/usr/bin/env bash
# Prometheus metrics from running tpds (TPDLAB_PREFIX tlo): tp1 and tp2 on
# the lab plant with metrics_listen = 9475 (loopback in their namespaces),
# traffic z1 -> z2 through their tunnel, then
#   1. `tpctl metrics text` passes `promtool check metrics`, and `tpctl
#      metrics` (OpenMetrics) passes the strict OpenMetrics parser of
#      python3-prometheus-client, ends in "# EOF";
#   2. the numbers are tpd's: policy version 1 enforcing, the Modbus
#      conduit's rule hits, the peer's handshake timestamp and bytes, drops
#      by reason, XDP verdicts, flow-table capacity;
#   3. GET /metrics with curl inside tp1's namespace: OpenMetrics when
#      asked for (Content-Type application/openmetrics-text; version=1.0.0),
#      text format otherwise (promtool accepts it), the same families as
#      tpctl's; other paths 404, other methods 405;
#   4. a client that connects and sends nothing does not stall the control
#      thread: tpctl status answers at once meanwhile.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/tpdlab.sh"
PROBE="python3 $HERE/../lib/probe.py"
# python3-prometheus-client is Debian's: the system interpreter
SYSPY=/usr/bin/python3
command -v promtool >/dev/null || { echo "promtool missing: deploy/install-deps.sh" >&2; exit 1; }
trap tpdlab_cleanup EXIT
tpdlab_init "${TPDLAB_PREFIX:-tlo}"
tpdlab_up
export TPDLAB_METRICS_LISTEN=9475
tpdlab_start tp1 "$W/plant-1.tpb"
tpdlab_start tp2 "$W/plant-1.tpb"
ip netns exec "$PFX-z2-h1" $PROBE tcp-server 502 &
SERVER=$!
HOLD=
trap 'kill $SERVER $HOLD 2>/dev/null || true; tpdlab_cleanup' EXIT
sleep 0.5
tpdlab_exec z1-h1 $PROBE tcp 10.2.0.10 502 3 || tpdlab_fail "TCP z1 -> z2:502"

# --- 1. both formats parse -----------------------------------------------------
tpdlab_ctl tp1 metrics text >"$W/text.txt" || tpdlab_fail "tpctl metrics text"
promtool check metrics <"$W/text.txt" >"$W/promtool.txt" 2>&1 ||
	{ cat "$W/promtool.txt"; tpdlab_fail "promtool check metrics rejects tpctl metrics text"; }
tpdlab_ctl tp1 metrics >"$W/om.txt" || tpdlab_fail "tpctl metrics"
[ "$(tail -1 "$W/om.txt")" = "# EOF" ] || tpdlab_fail "OpenMetrics output does not end in # EOF"
# samples as a strict OpenMetrics parser reads them: TYPE NAME LABELS|- VALUE
om_samples() {
	$SYSPY -c '
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse
for f in parse(sys.stdin.read()):
    for s in f.samples:
        print(f.type, s.name,
              ",".join("%s=%s" % kv for kv in sorted(s.labels.items())) or "-", s.value)'
}
om_samples <"$W/om.txt" >"$W/om-samples.txt" || tpdlab_fail "the OpenMetrics parser rejects tpctl metrics"
tpdlab_log "tpctl metrics: promtool and the OpenMetrics parser accept it" \
	"($(wc -l <"$W/om-samples.txt") samples)"

# --- 2. tpd's numbers ------------------------------------------------------------
val() { # NAME LABELS|- -> value, or fail
	local v
	v=$(awk -v n="$1" -v l="$2" '$2 == n && $3 == l { print $NF }' "$W/om-samples.txt" | head -1)
	[ -n "$v" ] || tpdlab_fail "no sample $1{$2}"
	echo "${v%.0}"
}
[ "$(val tableau_policy_version -)" = 1 ] || tpdlab_fail "policy version"
[ "$(val tableau_policy_state state=enforcing)" = 1 ] || tpdlab_fail "policy state enforcing"
[ "$(val tableau_policy_state state=no-policy)" = 0 ] || tpdlab_fail "policy state no-policy"
[ "$(val tableau_flow_table_capacity_entries -)" = 16384 ] || tpdlab_fail "flow table capacity"
hits=$(awk '$2 == "tableau_rule_hit_packets_total" && $3 ~ /^rule=10,/ { print $NF }' "$W/om-samples.txt")
[ "${hits%.0}" -ge 1 ] 2>/dev/null || tpdlab_fail "rule 10 hits: '$hits'"
key2=$(tpdlab_ctl tp1 --json peers | python3 -c '
import json, sys
print([p["public_key"] for p in json.load(sys.stdin)["peers"] if p["name"] == "tp2"][0])')
hs=$(val tableau_peer_last_handshake_timestamp_seconds "peer=tp2,public_key=$key2")
now=$(date +%s)
[ "$hs" -gt $((now - 60)) ] && [ "$hs" -le "$now" ] || tpdlab_fail "tp2 handshake at $hs, now $now"
[ "$(val tableau_peer_receive_bytes_total "peer=tp2,public_key=$key2")" -gt 0 ] ||
	tpdlab_fail "no bytes from tp2"
# every drop reason tpd counts is a sample, with tpd's number
python3 - "$W/om-samples.txt" <<PY || tpdlab_fail "drops differ from tpctl counters"
import json, subprocess, sys
c = json.loads(subprocess.check_output(["$B/tpctl", "--socket", "$W/tp1.sock", "--json", "counters"]))
m = {}
for line in open(sys.argv[1]):
    t, name, labels, v = line.split(" ")
    if name == "tableau_dropped_packets_total":
        m[labels.split("=", 1)[1]] = int(float(v))
assert set(m) == set(c["drops"]), set(m) ^ set(c["drops"])
# counters only rise between the two reads
assert all(c["drops"][k] >= m[k] for k in m), [(k, m[k], c["drops"][k]) for k in m]
xdp = sum(c["xdp"]["zone"].values()) + sum(c["xdp"]["transit"].values())
assert xdp > 0, c["xdp"]
PY
grep -q '^counter tableau_xdp_packets_total counter=.*,port=zone ' "$W/om-samples.txt" ||
	tpdlab_fail "no XDP verdicts"
tpdlab_log "policy, rule hits, peer handshake $((now - hs)) s ago, drops and XDP verdicts are tpd's"

# --- 3. HTTP ---------------------------------------------------------------------
URL=http://127.0.0.1:9475/metrics
curl_tp1() { ip netns exec "$PFX-tp1" curl -sS --max-time 5 "$@"; }
curl_tp1 -D "$W/om.hdr" -H 'Accept: application/openmetrics-text; version=1.0.0' "$URL" \
	>"$W/http-om.txt" || tpdlab_fail "curl $URL"
grep -qi '^Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8' "$W/om.hdr" ||
	{ cat "$W/om.hdr"; tpdlab_fail "Content-Type of the OpenMetrics answer"; }
om_samples <"$W/http-om.txt" >"$W/http-samples.txt" || tpdlab_fail "the OpenMetrics parser rejects /metrics"
fams() { awk '{ print $1, $2, $3 }' "$1" | sort -u; }
diff <(fams "$W/om-samples.txt") <(fams "$W/http-samples.txt") ||
	tpdlab_fail "/metrics and tpctl metrics differ in families or series"
curl_tp1 -D "$W/text.hdr" "$URL" >"$W/http-text.txt" || tpdlab_fail "curl $URL (text)"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$W/text.hdr" || tpdlab_fail "text Content-Type"
promtool check metrics <"$W/http-text.txt" >"$W/promtool2.txt" 2>&1 ||
	{ cat "$W/promtool2.txt"; tpdlab_fail "promtool rejects /metrics"; }
[ "$(curl_tp1 -o /dev/null -w '%{http_code}' http://127.0.0.1:9475/)" = 404 ] || tpdlab_fail "GET / not 404"
[ "$(curl_tp1 -o /dev/null -w '%{http_code}' -X POST "$URL")" = 405 ] || tpdlab_fail "POST not 405"
# loopback only: not on the TP's own transit address
! ip netns exec "$PFX-tp1" ss -Hltn | grep -v '127.0.0.1:9475' | grep -q ':9475 ' ||
	tpdlab_fail "metrics listens beyond loopback"
tpdlab_log "GET /metrics: both formats, same series as tpctl; 404, 405"

# --- 4. a silent client does not block the control thread -------------------------
ip netns exec "$PFX-tp1" python3 -c '
import socket, time
s = socket.create_connection(("127.0.0.1", 9475))
s.send(b"GET /metrics HTTP/1.1\r\n")
time.sleep(30)' &
HOLD=$!
sleep 0.3
t0=$(date +%s%N)
tpdlab_ctl tp1 status >/dev/null || tpdlab_fail "tpctl status while a /metrics client stalls"
curl_tp1 -o /dev/null "$URL" || tpdlab_fail "a second /metrics client while one stalls"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 1000 ] || tpdlab_fail "status and a scrape took $ms ms beside a stalled client"
kill $HOLD 2>/dev/null || true
tpdlab_log "a stalled /metrics client: status and another scrape answered in $ms ms"
echo "PASS lab_tpd_metrics"
