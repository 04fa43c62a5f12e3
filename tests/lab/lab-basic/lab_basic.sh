#!/usr/bin/env bash
# The lab itself: up, cross-zone reachability in the kernel-routing mode (v4
# and v6), idempotent up, down leaves nothing behind, and a half-failed up
# cleans up after itself. Uses its own prefix so a user's lab is untouched.
set -uo pipefail
src=${TP_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
. "$src/tests/lib/testlib.sh"
tl_need_root
export LAB_PREFIX=tlt LAB_QUIET=1
lab=$src/deploy/lab.sh
tmp=$(mktemp -d)
trap '"$lab" down >/dev/null 2>&1; rm -rf "$tmp"' EXIT

links_before=$(ip -o link | awk -F': ' '{print $2}' | sort)
check "lab up" "$lab" up
check "lab up again is a no-op" "$lab" up
check "15 namespaces: transit, 3 TPs, 3 LANs, 8 hosts" test "$(ip netns list | grep -c '^tlt-')" -eq 15
check "z1 host pings z2 host (v4)" "$lab" exec z1-h1 ping -c1 -W2 10.2.0.10
check "z1 host pings z2 host (v6)" "$lab" exec z1-h1 ping -c1 -W2 fd00:2::a
check "z3 host pings z4 host behind the same TP" "$lab" exec z3-h2 ping -c1 -W2 10.4.0.11
check "z4 host pings z1 host (v6)" "$lab" exec z4-h1 ping -c1 -W2 fd00:1::b
check "addr helper" test "$("$lab" addr z2-h1)" = 10.2.0.10
check_fails "exec on an unknown node fails" "$lab" exec nosuch true
check "status lists the TPs" bash -c "'$lab' status | grep -q '^tp3 '"
check "lab down" "$lab" down
check "no namespace left" test "$(ip netns list | grep -c '^tlt-')" -eq 0
check "no interface left in the root namespace" test "$(ip -o link | awk -F': ' '{print $2}' | sort)" = "$links_before"

# Same zone prefix twice on one TP: the second gateway address fails half-way.
cat >"$tmp/broken.topo" <<'TOPO'
transit 192.0.2.0/24 2001:db8:0:ffff::/64
tp tp1 11
zone z1 tp1 10.1.0.0/16 fd00:1::/64 1
zone z2 tp1 10.1.0.0/16 fd00:1::/64 1
TOPO
check_fails "half-failed up reports failure" "$lab" up "$tmp/broken.topo"
check "half-failed up leaves no namespace" test "$(ip netns list | grep -c '^tlt-')" -eq 0
printf 'tp tp1 11\n' >"$tmp/bad.topo"
check_fails "a topology without transit is refused" "$lab" up "$tmp/bad.topo"
tl_done
