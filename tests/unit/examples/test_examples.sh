#!/usr/bin/env bash
# Every example in deploy/examples/ is valid today, on the real clock: an
# operator copies them and runs the tools without --now.
#
#   *.yaml   tpolicy lint: 0 errors, 0 warnings; compile, export the intent,
#            tpolicy verify: all ten checks pass (check 10 fails on a conduit
#            whose window has passed)
#   *.yaml   every not_after is at least five years ahead, so the example
#            fails this test years before it rots for a user
#   *.conf   tpd --check accepts it (with a throw-away identity key)
#
# This test reads the wall clock on purpose: "still valid now" is what it
# checks. Needs TP_BUILD_DIR and TP_SOURCE_DIR.
set -euo pipefail
B=${TP_BUILD_DIR:?}
# a cross-build runs the built programs through its emulator (cmake/tp.cmake)
tpolicy() { ${TP_EMULATOR:-} "$B"/tpolicy "$@"; }
EX=${TP_SOURCE_DIR:?}/deploy/examples
. "$(dirname "$0")/../../lib/tally.sh"
tl_scratch tp-examples

tpolicy keygen --controller -o "$T/ctl.key" >/dev/null
n=0
for y in "$EX"/*.yaml; do
	n=$((n + 1))
	name=$(basename "$y" .yaml)
	if tpolicy lint "$y" >"$T/out" 2>&1 && grep -qxF "$y: 0 errors, 0 warnings" "$T/out"; then
		ok "$name: lint clean"
	else
		bad "$name: lint"
		sed 's/^/     /' "$T/out"
	fi
	if tpolicy compile "$y" -o "$T/$name.tpb" --key "$T/ctl.key" --version 1 \
		--valid-for 30d >"$T/out" 2>&1 &&
		tpolicy export "$T/$name.tpb" -o "$T/$name" --pub "$T/ctl.key.pub" >>"$T/out" 2>&1 &&
		tpolicy verify "$T/$name" --bundle "$T/$name.tpb" --pub "$T/ctl.key.pub" \
			>>"$T/out" 2>&1 &&
		grep -qxF "result: PASS (0 of 10 checks failed)" "$T/out"; then
		ok "$name: compile, export, verify pass"
	else
		bad "$name: compile, export, verify"
		sed 's/^/     /' "$T/out"
	fi
	# RFC 3339 UTC only (the YAML reader refuses anything else)
	if python3 - "$y" <<'PY' >"$T/out" 2>&1; then
import datetime, re, sys
now = datetime.datetime.now(datetime.timezone.utc)
limit = now.replace(year=now.year + 5)
bad = 0
for no, line in enumerate(open(sys.argv[1]), 1):
    m = re.search(r"\bnot_after:\s*(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", line)
    if not m:
        continue
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    if t < limit:
        print(f"{sys.argv[1]}:{no}: not_after {m.group(1)} is less than five years ahead")
        bad += 1
sys.exit(1 if bad else 0)
PY
		ok "$name: every window ends at least five years ahead"
	else
		bad "$name: a window rots soon"
		sed 's/^/     /' "$T/out"
	fi
done
[ "$n" -ge 2 ] && ok "$n policy examples checked" || bad "only $n policy examples found"

tpolicy keygen --tp | sed -n 's/^private_key: //p' >"$T/id.key"
chmod 600 "$T/id.key"
if [ -n "${TP_EMULATOR:-}" ] && [ ! -e "$B/tpd" ]; then
	# the arm64 cross-build has no tpd (no arm64 DPDK next to amd64's)
	echo "skip tpd --check: this cross-build has no tpd (TP_DPDK=OFF)"
	set -- # no configuration to check
else
	set -- "$EX"/*.conf
fi
for c in "$@"; do
	sed "s#^identity_key = .*#identity_key = $T/id.key#" "$c" >"$T/check.conf"
	if ${TP_EMULATOR:-} "$B/tpd" --check --config "$T/check.conf" >"$T/out" 2>&1; then
		ok "$(basename "$c"): tpd --check"
	else
		bad "$(basename "$c"): tpd --check"
		sed 's/^/     /' "$T/out"
	fi
done

echo "$fails failed"
[ "$fails" -eq 0 ]
