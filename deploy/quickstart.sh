#!/usr/bin/env bash
# deploy/quickstart.sh — the demo: installs what is missing, builds, brings the
# lab plant up and shows it working. Needs no input; exits 0 leaving the lab
# running; on failure or Ctrl-C it removes what it made.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
cd "$TOP"
LAB=deploy/lab.sh

[ "$(id -u)" -eq 0 ] || { echo "quickstart: run as root: sudo deploy/quickstart.sh" >&2; exit 1; }

cleanup() {
	echo "quickstart: failed or interrupted — removing the lab" >&2
	"$LAB" down >/dev/null 2>&1 || true
}
trap cleanup ERR INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "1/4 dependencies"
deploy/install-deps.sh

say "2/4 build"
cmake -S . -B build >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
ls build/tpd build/tpctl build/tpolicy 2>/dev/null || true

say "3/4 lab: 3 transition points, 4 zones, 2 hosts per zone"
"$LAB" up
"$LAB" status

say "4/4 traffic between zones"
echo "\$ lab.sh exec z1-h1 ping -c2 10.2.0.10     (zone z1 -> zone z2)"
"$LAB" exec z1-h1 ping -c2 -W2 10.2.0.10
echo "\$ lab.sh exec z4-h1 ping -c2 fd00:1::a     (zone z4 -> zone z1, IPv6)"
"$LAB" exec z4-h1 ping -c2 -W2 fd00:1::a

trap - ERR INT TERM
cat <<'TXT'

The lab is up. Today its transition points route between zones in the
kernel, in clear and with no policy: tpd (tunnels + zone policy) is not
wired into the lab yet — see README.md, "Status".

Try next:
  sudo deploy/lab.sh status
  sudo deploy/lab.sh exec z3-h1 ping -c3 10.4.0.10
  sudo deploy/lab.sh exec transit tcpdump -ni br0 -c5     # what crosses the transit net
Remove it:
  sudo deploy/lab.sh down
TXT
