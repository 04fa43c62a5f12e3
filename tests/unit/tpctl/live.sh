#!/usr/bin/env bash
# tpctl -i NAME against a running tpd (memory mode: no interfaces, no
# namespaces; root for EAL): the socket comes from $TABLEAU_CONFIG_DIR/NAME.conf,
# two instances are told apart by name, --socket still works, and -i with
# --socket is a usage error. Needs TP_BUILD_DIR.
set -euo pipefail
B=${TP_BUILD_DIR:?}
. "$(dirname "$0")/../../lib/daemons.sh"
tl_work tpctl-inst

umask 077
"$B/tpolicy" keygen --tp | sed -n 's/^private_key: //p' >"$work/key"
export TABLEAU_CONFIG_DIR=$work/etc
mkdir -p "$TABLEAU_CONFIG_DIR"
for n in tpi-a tpi-b; do
	cat >"$TABLEAU_CONFIG_DIR/$n.conf" <<CONF
name = $n
identity_key = $work/key
mode = memory
memory_mb = 128
state_dir = $work/state-$n
admin_socket = $work/run/$n.sock
CONF
	"$B/tpd" --config "$TABLEAU_CONFIG_DIR/$n.conf" >"$work/$n.log" 2>&1 &
	pids+=($!)
done
for n in tpi-a tpi-b; do
	for _ in $(seq 300); do
		grep -q running "$work/$n.log" && break
		sleep 0.1
	done
	grep -q running "$work/$n.log" || { cat "$work/$n.log"; fail "tpd $n did not start"; }
done

for n in tpi-a tpi-b; do
	"$B/tpctl" -i "$n" --json status >"$work/st" || fail "tpctl -i $n status"
	python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); assert s["name"] == sys.argv[2], s' \
		"$work/st" "$n" || fail "tpctl -i $n reached another tpd: $(cat "$work/st")"
	"$B/tpctl" --instance "$n" status | grep -q "^tpd $n " || fail "tpctl --instance $n status (text)"
done
"$B/tpctl" --socket "$work/run/tpi-b.sock" --json status | grep -q '"name": "tpi-b"' ||
	fail "--socket still works"
rc=0
"$B/tpctl" -i tpi-a --socket "$work/run/tpi-b.sock" status 2>"$work/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q "give one" "$work/err" || fail "-i with --socket: exit $rc"
rc=0
"$B/tpctl" -i tpi-c status 2>"$work/err" || rc=$?
[ "$rc" -eq 3 ] && grep -q "tpi-c.conf: cannot open" "$work/err" || fail "unknown instance: exit $rc"
echo "tpctl -i: ok"
