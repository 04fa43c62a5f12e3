#!/usr/bin/env bash
# deploy/lab.sh — a small plant on one machine, built from network namespaces.
#
#   lab.sh up [TOPOLOGY]        build it (default: deploy/lab/default.topo)
#   lab.sh down                 remove everything it made
#   lab.sh status               what is up, with addresses
#   lab.sh exec NODE CMD...     run CMD in a node (transit, tp1, z1-h1, ...)
#   lab.sh nodes                list node names
#   lab.sh addr NODE [4|6]      print a node's main address
#
# Layout, for every TP "tpN" of the topology file:
#
#   PFX-zA-h1 ─┐                                   ┌── other TPs' transit0
#   PFX-zA-h2 ─┤ PFX-lan-tpN (br0) ── zone0 │PFX-tpN│ transit0 ── PFX-transit (br0)
#   PFX-zB-h1 ─┘                                   (MTU 1500 on transit)
#
# Every name starts with the prefix $LAB_PREFIX (default "tl"), and every
# interface lives inside a namespace the lab created (veth pairs are created
# directly in their namespaces), so nothing else on the machine is touched and
# `down` removes everything by deleting the namespaces with that prefix — also
# after a half-failed `up`.
#
# LAB_ROUTING=kernel (default) makes the TP namespaces route between zones in
# the kernel over the transit network (the lab works with no tpd); with
# LAB_ROUTING=none the TPs forward nothing and tpd does the job.
set -euo pipefail

PFX=${LAB_PREFIX:-tl}
ROUTING=${LAB_ROUTING:-kernel}
HERE=$(cd "$(dirname "$0")" && pwd)
STATE_DIR=/run/tableau-lab
STATE=$STATE_DIR/$PFX.topo

die() { echo "lab.sh: $*" >&2; exit 1; }
log() { [ -n "${LAB_QUIET:-}" ] || echo "lab.sh: $*"; }

[[ $PFX =~ ^[a-z][a-z0-9]{0,5}$ ]] || die "LAB_PREFIX must be 1-6 lowercase letters/digits"

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"; }

# --- topology ---------------------------------------------------------------
T_V4="" T_V6=""
TPS=() declare -A TP_NUM=()
ZONES=() declare -A Z_TP=() Z_V4=() Z_V6=() Z_HOSTS=()

ipv4_to_int() { local IFS=.; read -r a b c d <<<"$1"; echo $(((a << 24) | (b << 16) | (c << 8) | d)); }
int_to_ipv4() { echo "$((($1 >> 24) & 255)).$((($1 >> 16) & 255)).$((($1 >> 8) & 255)).$(($1 & 255))"; }
# host N of an IPv4 prefix, with the prefix length: v4host 10.1.0.0/16 10 -> 10.1.0.10/16
v4host() { local base=${1%/*} len=${1#*/}; echo "$(int_to_ipv4 $(($(ipv4_to_int "$base") + $2)))/$len"; }
# host N of an IPv6 prefix written as "...::/len": v6host fd00:1::/64 10 -> fd00:1::a/64
v6host() { local base=${1%/*} len=${1#*/}; printf '%s%x/%s\n' "$base" "$2" "$len"; }

load_topology() {
	local file=$1 n=0 kind a b c d e
	[ -f "$file" ] || die "no topology file '$file'"
	while read -r kind a b c d e || [ -n "${kind:-}" ]; do
		n=$((n + 1))
		case "${kind:-}" in
		"" | "#"*) continue ;;
		transit)
			[[ $a =~ ^[0-9.]+/[0-9]+$ && $b == *::/* ]] || die "$file:$n: transit needs IPV4_PREFIX IPV6_PREFIX (::/len form)"
			T_V4=$a T_V6=$b ;;
		tp)
			[[ $a =~ ^tp[0-9]{1,2}$ ]] || die "$file:$n: TP name must be tpN (got '$a')"
			[[ $b =~ ^[0-9]+$ && $b -ge 1 && $b -le 254 ]] || die "$file:$n: TP host number must be 1..254"
			[ -z "${TP_NUM[$a]:-}" ] || die "$file:$n: TP '$a' defined twice"
			TPS+=("$a") TP_NUM[$a]=$b ;;
		zone)
			[[ $a =~ ^z[0-9]{1,2}$ ]] || die "$file:$n: zone name must be zN (got '$a')"
			[ -n "${TP_NUM[$b]:-}" ] || die "$file:$n: zone '$a' on unknown TP '$b'"
			[[ $c =~ ^[0-9.]+/[0-9]+$ ]] || die "$file:$n: bad IPv4 prefix '$c'"
			[[ $d == *::/* ]] || die "$file:$n: IPv6 prefix must be written ...::/len (got '$d')"
			[[ $e =~ ^[0-9]$ ]] || die "$file:$n: hosts per zone must be 0..9"
			[ -z "${Z_TP[$a]:-}" ] || die "$file:$n: zone '$a' defined twice"
			ZONES+=("$a") Z_TP[$a]=$b Z_V4[$a]=$c Z_V6[$a]=$d Z_HOSTS[$a]=$e ;;
		*) die "$file:$n: unknown line kind '$kind'" ;;
		esac
	done <"$file"
	[ -n "$T_V4" ] || die "$file: no transit line"
	[ ${#TPS[@]} -gt 0 ] || die "$file: no tp lines"
}

ns() { echo "$PFX-$1"; }
nsx() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

lab_namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$PFX-" | sort || true; }

mkns() {
	local n; n=$(ns "$1")
	ip netns add "$n"
	ip -n "$n" link set lo up
	# no duplicate address detection: addresses are usable at once
	nsx "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

# veth NODE_A IF_A NODE_B IF_B: a veth pair with its ends created in place
veth() { ip link add "$2" netns "$(ns "$1")" type veth peer name "$4" netns "$(ns "$3")"; }

mkbridge() { ip -n "$(ns "$1")" link add br0 type bridge; ip -n "$(ns "$1")" link set br0 up; }

# --- commands ---------------------------------------------------------------
cmd_up() {
	local topo=${1:-$HERE/lab/default.topo}
	need_root
	topo=$(readlink -f "$topo")
	load_topology "$topo"
	if [ -f "$STATE" ] && [ "$(head -n1 "$STATE")" = "$topo" ] && [ "$(lab_namespaces | wc -l)" -gt 0 ]; then
		log "already up ($topo)"
		return 0
	fi
	if [ -n "$(lab_namespaces)" ]; then
		log "removing a previous or half-made lab"
		cmd_down
	fi
	trap 'echo "lab.sh: up failed, removing what it made" >&2; cmd_down >/dev/null 2>&1 || true' ERR
	mkdir -p "$STATE_DIR"

	mkns transit
	mkbridge transit
	local tp z h gw4 gw6
	for tp in "${TPS[@]}"; do
		mkns "$tp"
		mkns "lan-$tp"
		mkbridge "lan-$tp"
		# Kernel routing only when the lab routes in the kernel: with
		# LAB_ROUTING=none tpd carries everything, and it refuses to
		# start while IPv6 forwarding is on (dataplane/README.md).
		if [ "$ROUTING" = kernel ]; then
			nsx "$tp" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
		else
			nsx "$tp" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
		fi
		# transit port
		veth "$tp" transit0 transit "$tp"
		ip -n "$(ns transit)" link set "$tp" master br0 up
		ip -n "$(ns "$tp")" link set transit0 mtu 1500 up
		ip -n "$(ns "$tp")" addr add "$(v4host "$T_V4" "${TP_NUM[$tp]}")" dev transit0
		ip -n "$(ns "$tp")" addr add "$(v6host "$T_V6" "${TP_NUM[$tp]}")" dev transit0 nodad
		# zone port
		veth "$tp" zone0 "lan-$tp" tp
		ip -n "$(ns "lan-$tp")" link set tp master br0 up
		ip -n "$(ns "$tp")" link set zone0 up
	done
	for z in "${ZONES[@]}"; do
		tp=${Z_TP[$z]}
		gw4=$(v4host "${Z_V4[$z]}" 1) gw6=$(v6host "${Z_V6[$z]}" 1)
		ip -n "$(ns "$tp")" addr add "$gw4" dev zone0
		ip -n "$(ns "$tp")" addr add "$gw6" dev zone0 nodad
		for ((h = 1; h <= Z_HOSTS[$z]; h++)); do
			mkns "$z-h$h"
			veth "$z-h$h" eth0 "lan-$tp" "$z-h$h"
			ip -n "$(ns "lan-$tp")" link set "$z-h$h" master br0 up
			ip -n "$(ns "$z-h$h")" link set eth0 up
			ip -n "$(ns "$z-h$h")" addr add "$(v4host "${Z_V4[$z]}" $((9 + h)))" dev eth0
			ip -n "$(ns "$z-h$h")" addr add "$(v6host "${Z_V6[$z]}" $((9 + h)))" dev eth0 nodad
			ip -n "$(ns "$z-h$h")" route add default via "${gw4%/*}"
			ip -n "$(ns "$z-h$h")" -6 route add default via "${gw6%/*}"
			# A veth leaves TCP/UDP checksums to offload hardware that
			# does not exist when tpd takes the frame through AF_XDP:
			# with tpd forwarding, hosts compute them in software, as
			# a real NIC would before the wire.
			[ "$ROUTING" = kernel ] || nsx "$z-h$h" ethtool -K eth0 tx off >/dev/null
		done
	done
	if [ "$ROUTING" = kernel ]; then
		local other
		for tp in "${TPS[@]}"; do
			for z in "${ZONES[@]}"; do
				other=${Z_TP[$z]}
				[ "$other" != "$tp" ] || continue
				ip -n "$(ns "$tp")" route add "${Z_V4[$z]}" via "$(v4host "$T_V4" "${TP_NUM[$other]}" | cut -d/ -f1)"
				ip -n "$(ns "$tp")" -6 route add "${Z_V6[$z]}" via "$(v6host "$T_V6" "${TP_NUM[$other]}" | cut -d/ -f1)"
			done
		done
	elif [ "$ROUTING" != none ]; then
		die "LAB_ROUTING must be kernel or none"
	fi
	trap - ERR
	printf '%s\n%s\n' "$topo" "$ROUTING" >"$STATE"
	log "up: ${#TPS[@]} TPs, ${#ZONES[@]} zones, prefix '$PFX', routing '$ROUTING'"
}

cmd_down() {
	need_root
	local n pids
	for n in $(lab_namespaces); do
		# processes still running in the namespace would keep it alive
		pids=$(ip netns pids "$n" 2>/dev/null || true)
		[ -z "$pids" ] || kill $pids 2>/dev/null || true
	done
	for n in $(lab_namespaces); do
		pids=$(ip netns pids "$n" 2>/dev/null || true)
		[ -z "$pids" ] || { sleep 0.5; kill -9 $pids 2>/dev/null || true; }
		ip netns del "$n"
	done
	rm -f "$STATE"
	log "down (prefix '$PFX')"
}

node_addr() {
	local node=$1 fam=${2:-4} dev=eth0
	case "$node" in
	tp*) dev=transit0 ;;
	esac
	ip -n "$(ns "$node")" -"$fam" -o addr show dev "$dev" scope global | awk '{print $4}' | head -n1 | cut -d/ -f1
}

cmd_status() {
	local n
	if [ -z "$(lab_namespaces)" ]; then
		echo "lab '$PFX' is down"
		return 0
	fi
	if [ -f "$STATE" ]; then
		echo "lab '$PFX' is up: topology $(sed -n 1p "$STATE"), routing $(sed -n 2p "$STATE")"
	else
		echo "lab '$PFX' is half up (no state file): run 'lab.sh down'"
	fi
	printf '%-12s %-6s %s\n' NODE KIND ADDRESSES
	for n in $(lab_namespaces); do
		local node=${n#"$PFX"-} kind=host
		case "$node" in transit) kind=bridge ;; lan-*) kind=lan ;; tp*) kind=tp ;; esac
		printf '%-12s %-6s %s\n' "$node" "$kind" \
			"$(ip -n "$n" -o addr show scope global 2>/dev/null | awk '{printf "%s:%s ", $2, $4}')"
	done
}

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

case "${1:-}" in
up) shift; cmd_up "$@" ;;
down) cmd_down ;;
status) cmd_status ;;
nodes) lab_namespaces | sed "s/^$PFX-//" ;;
addr) [ $# -ge 2 ] || usage; node_addr "$2" "${3:-4}" ;;
exec)
	[ $# -ge 3 ] || usage
	need_root
	node=$2; shift 2
	ip netns list | awk '{print $1}' | grep -qx "$(ns "$node")" || die "no node '$node' (lab '$PFX' up? see 'lab.sh nodes')"
	exec ip netns exec "$(ns "$node")" "$@" ;;
*) usage ;;
esac
