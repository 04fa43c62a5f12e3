#!/usr/bin/env bash
# The one rule for every secret key file (policy/include/tp/base/keys.h), as
# the programs that read one meet it: tpolicy's controller signing key and
# tp-ctrl-agent's TP key (tpd's identity key: test_config). Each refusal
# exits with the file named and the problem said; the good file works.
# Needs TP_BUILD_DIR; the ownership cases need root (tests run as root).
set -euo pipefail
# unquoted $P and $A: TP_EMULATOR (a cross-build's qemu) splits into words
P="${TP_EMULATOR:-} ${TP_BUILD_DIR:?}/tpolicy"
A="${TP_EMULATOR:-} ${TP_BUILD_DIR:?}/tests/tp-ctrl-agent"
EX=${TP_SOURCE_DIR:?}/deploy/examples
. "$(dirname "$0")/../../lib/tally.sh"
tl_scratch tp-keyfiles

# refused "what" WORDS cmd... : exit status 2, stderr names the key and says WORDS
refused() {
	local what=$1 words=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" -eq 2 ] && grep -qF -- "$KEY" "$T/err" && grep -qF -- "$words" "$T/err"; then
		ok "$what"
	else
		bad "$what (exit $rc, want 2 naming $KEY and '$words')"
		sed 's/^/     /' "$T/err"
	fi
}

$P keygen --controller -o "$T/ctl.key" >/dev/null
$P keygen --tp -o "$T/tp.key" >/dev/null
chmod 600 "$T/tp.key"

compile() { $P compile "$EX/plant.yaml" -o "$T/p.tpb" --key "$KEY" --version 1 \
	--now 2026-11-28T00:00:00Z; }
# (bounded: an agent that accepted the key would run until stopped)
agent() { timeout 10 $A --name tp1 --key "$KEY" --controller 127.0.0.1:9 \
	--controller-key "$T/ctl.key.pub" --state "$T/state"; }

for who in compile agent; do
	KEY=$T/ctl.key
	[ $who = agent ] && KEY=$T/tp.key
	chmod 640 "$KEY"
	refused "$who: group-readable key" "its group" $who
	chmod 620 "$KEY"
	refused "$who: group-writable key" "its group" $who
	chmod 604 "$KEY"
	refused "$who: key readable by others" "other users" $who
	chmod 600 "$KEY"
	if [ "$(id -u)" = 0 ]; then
		chown 65534 "$KEY"
		refused "$who: key owned by another user" "owned by uid 65534" $who
		chown 0 "$KEY"
	fi
done

# the good files: compile works, the agent starts (and runs until stopped)
KEY=$T/ctl.key
if compile >"$T/out" 2>"$T/err"; then ok "compile: 0600 key"; else
	bad "compile: 0600 key"; sed 's/^/     /' "$T/err"; fi
KEY=$T/tp.key
rc=0
timeout 2 $A --name tp1 --key "$KEY" --controller 127.0.0.1:9 \
	--controller-key "$T/ctl.key.pub" --state "$T/state" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 124 ] && ok "agent: 0600 key accepted" ||
	{ bad "agent: 0600 key (exit $rc)"; sed 's/^/     /' "$T/err"; }

[ "$fails" -eq 0 ] && echo "all passed" || echo "$fails failed"
[ "$fails" -eq 0 ]
