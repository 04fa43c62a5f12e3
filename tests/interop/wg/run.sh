#!/usr/bin/env bash
# Interop with wireguard-go: run.sh CASE, CASE one of
#   a     we initiate, ping wireguard-go's tunnel address, verify the replies
#   b     wireguard-go initiates (ping from its side), we answer
#   c     a and b again with a preshared key
#   d     wrong keys: no session, and our counters say why
#   f     cookies: wireguard-go under load answers our initiation with a cookie
#         reply; our retry carries mac2 and is accepted while still under load
#   g     a and b over an IPv6 outer path
#   e     (slow) traffic both ways across rekeys for REKEY_SOAK_S (default 200) s
# Two namespaces tpi-wg-PID (wireguard-go) and tpi-tp-PID (tp-wg-peer) joined
# by a veth; everything is removed by the trap, even on failure.
set -euo pipefail
case=${1:?case a|b|c|d|e|f|g}
build=${TP_BUILD_DIR:?TP_BUILD_DIR not set}
peer_bin=$build/tests/tp-wg-peer
[ -x "$peer_bin" ] || { echo "missing $peer_bin" >&2; exit 1; }
command -v wireguard-go >/dev/null || { echo "wireguard-go not installed" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "interop tests need root" >&2; exit 1; }

id=$$
nswg=tpi-wg-$id
nstp=tpi-tp-$id
ifwg=tpiwg$id        # wireguard-go interface; also its UAPI socket name
veth1=tpiv1-$id
veth2=tpiv2-$id
tmp=$(mktemp -d /tmp/tpi-wg.XXXXXX)
wgpid=
pingpid=

cleanup() {
	set +e
	[ -n "$pingpid" ] && kill "$pingpid" 2>/dev/null
	# whatever still runs inside our namespaces (tp-wg-peer, ping) is ours
	for ns in "$nstp" "$nswg"; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
	done
	if [ -n "$wgpid" ]; then
		kill "$wgpid" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$wgpid" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$wgpid" 2>/dev/null
	fi
	ip netns del "$nswg" 2>/dev/null
	ip netns del "$nstp" 2>/dev/null
	rm -f "/var/run/wireguard/$ifwg.sock"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

wgx() { ip netns exec "$nswg" "$@"; }
tpx() { ip netns exec "$nstp" "$@"; }

ip netns add "$nswg"
ip netns add "$nstp"
ip link add "$veth1" type veth peer name "$veth2"
ip link set "$veth1" netns "$nswg"
ip link set "$veth2" netns "$nstp"
wgx ip addr add 192.168.77.1/24 dev "$veth1"
tpx ip addr add 192.168.77.2/24 dev "$veth2"
wgx ip link set lo up
tpx ip link set lo up
wgx ip addr add fd77::1/64 dev "$veth1" nodad
tpx ip addr add fd77::2/64 dev "$veth2" nodad
wgx ip link set "$veth1" up
tpx ip link set "$veth2" up

umask 077
wg genkey >"$tmp/wg.key"
wg pubkey <"$tmp/wg.key" >"$tmp/wg.pub"
wg genkey >"$tmp/tp.key"
wg pubkey <"$tmp/tp.key" >"$tmp/tp.pub"
wg genpsk >"$tmp/psk"
wg genkey | wg pubkey >"$tmp/wrong.pub"

# wireguard-go stays in the foreground with -f; run it in the background of
# this script and wait for its interface.
wgx env WG_PROCESS_FOREGROUND=1 LOG_LEVEL="${WG_LOG_LEVEL:-error}" wireguard-go -f "$ifwg" >"$tmp/wg.log" 2>&1 &
wgpid=$!
for _ in $(seq 50); do
	wgx ip link show "$ifwg" >/dev/null 2>&1 && [ -S "/var/run/wireguard/$ifwg.sock" ] && break
	sleep 0.1
done
wgx ip link show "$ifwg" >/dev/null || { echo "wireguard-go did not come up"; cat "$tmp/wg.log"; exit 1; }

# configure_wg PEER_PUB [psk]; our endpoint as seen from wireguard-go in $tp_ep
tp_ep=192.168.77.2:51821
wg_ep=192.168.77.1:51820
configure_wg() {
	local args=(peer "$1" allowed-ips 10.9.0.2/32 endpoint "$tp_ep")
	[ "${2:-}" = psk ] && args+=(preshared-key "$tmp/psk")
	wgx wg set "$ifwg" private-key "$tmp/wg.key" listen-port 51820 "${args[@]}"
	wgx ip addr add 10.9.0.1/24 dev "$ifwg" 2>/dev/null || true
	wgx ip link set "$ifwg" up
}

# tp ARGS...: our side
# (in the background and waited for, so that a signal reaches the trap at once)
tp() {
	tpx "$peer_bin" --key "$(cat "$tmp/tp.key")" --port 51821 \
		--addr 10.9.0.2 --peer-addr 10.9.0.1 "$@" &
	wait $!
}

initiate() { # [psk]
	local extra=()
	[ "${1:-}" = psk ] && extra=(--psk "$(cat "$tmp/psk")")
	echo "== we initiate ${1:-}"
	tp --peer "$(cat "$tmp/wg.pub")" --endpoint "$wg_ep" --ping 5 \
		--interval-ms 100 --duration 20 "${extra[@]}"
}

respond() { # [psk]
	local extra=()
	[ "${1:-}" = psk ] && extra=(--psk "$(cat "$tmp/psk")")
	echo "== wireguard-go initiates ${1:-}"
	tp --peer "$(cat "$tmp/wg.pub")" --answer 3 --duration 20 "${extra[@]}" &
	local tppid=$!
	sleep 0.5
	local rc=0
	wgx ping -c 3 -i 0.3 -W 5 10.9.0.2 || rc=1
	wait "$tppid" || rc=1
	return $rc
}

show_wg() {
	wgx wg show "$ifwg" || true
	wgx nstat -az UdpInErrors UdpRcvbufErrors 2>/dev/null | grep -v '^#' || true
}

rc=0
case $case in
a)
	configure_wg "$(cat "$tmp/tp.pub")"
	initiate || rc=1
	;;
b)
	configure_wg "$(cat "$tmp/tp.pub")"
	respond || rc=1
	;;
c)
	configure_wg "$(cat "$tmp/tp.pub")" psk
	initiate psk || rc=1
	# a fresh wireguard-go session: remove and re-add the peer
	wgx wg set "$ifwg" peer "$(cat "$tmp/tp.pub")" remove
	configure_wg "$(cat "$tmp/tp.pub")" psk
	respond psk || rc=1
	;;
d)
	# wireguard-go believes our public key is another one: its initiations
	# carry a mac1 for that key (we count bad_mac1), and ours come from a
	# key it does not know (it never answers).
	configure_wg "$(cat "$tmp/wrong.pub")"
	wgx ping -c 20 -i 0.3 -W 1 10.9.0.2 >/dev/null 2>&1 &
	pingpid=$!
	echo "== wrong key on the wireguard-go side"
	tp --peer "$(cat "$tmp/wg.pub")" --endpoint 192.168.77.1:51820 --expect-drop bad_mac1 \
		--duration 8 || rc=1
	kill "$pingpid" 2>/dev/null || true
	pingpid=
	# and a PSK only one side has: the response fails authentication here
	wgx wg set "$ifwg" peer "$(cat "$tmp/wrong.pub")" remove
	configure_wg "$(cat "$tmp/tp.pub")"
	echo "== preshared key on our side only"
	tp --peer "$(cat "$tmp/wg.pub")" --endpoint 192.168.77.1:51820 --psk "$(cat "$tmp/psk")" \
		--expect-drop bad_aead --duration 8 || rc=1
	;;
f)
	configure_wg "$(cat "$tmp/tp.pub")"
	echo "== wireguard-go under load: cookie reply, then mac2"
	tp --peer "$(cat "$tmp/wg.pub")" --endpoint 192.168.77.1:51820 --cookie-flood --ping 3 \
		--duration 40 || rc=1
	;;
g)
	tp_ep=[fd77::2]:51821
	wg_ep=[fd77::1]:51820
	configure_wg "$(cat "$tmp/tp.pub")"
	initiate || rc=1
	wgx wg set "$ifwg" peer "$(cat "$tmp/tp.pub")" remove
	configure_wg "$(cat "$tmp/tp.pub")"
	respond || rc=1
	;;
e)
	soak=${REKEY_SOAK_S:-200}
	configure_wg "$(cat "$tmp/tp.pub")"
	echo "== $soak s of traffic both ways across rekeys"
	wgx ping -i 0.5 -w "$((soak - 5))" -W 2 10.9.0.2 >"$tmp/ping.log" 2>&1 &
	pingpid=$!
	tp --peer "$(cat "$tmp/wg.pub")" --endpoint 192.168.77.1:51820 --ping 0 \
		--interval-ms 200 --duration "$soak" --min-handshakes 2 || rc=1
	wait "$pingpid" || true
	pingpid=
	tail -3 "$tmp/ping.log"
	grep -q " 0% packet loss" "$tmp/ping.log" || { echo "wireguard-go side lost pings"; rc=1; }
	;;
*)
	echo "unknown case $case" >&2
	exit 2
	;;
esac
show_wg
[ -n "${WG_LOG_COPY:-}" ] && cp "$tmp/wg.log" "$WG_LOG_COPY"
[ $rc -eq 0 ] && echo "interop case $case: PASS" || { echo "interop case $case: FAIL"; tail -20 "$tmp/wg.log"; }
exit $rc
