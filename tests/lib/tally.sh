# Shared preamble of the script tests that tally their checks (source it;
# the test runs under set -euo pipefail and ends on "[ "$fails" -eq 0 ]").
# tl_scratch PREFIX: $T is a fresh /tmp/PREFIX.XXXXXX, removed at exit.
# ok/bad print one line a check; bad counts it in $fails, so one failed
# check does not hide the ones after it.
fails=0
ok() { echo "ok   $*"; }
bad() {
	echo "FAIL $*"
	fails=$((fails + 1))
}
tl_scratch() {
	T=$(mktemp -d "/tmp/$1.XXXXXX")
	trap 'rm -rf "$T"' EXIT
}
# expect STATUS "description" cmd... : run, check the exit status, keep the
# output in $T/out and $T/err (shown when the status is wrong)
expect() {
	local want=$1 what=$2 rc=0
	shift 2
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$what"; else
		bad "$what (exit $rc, want $want)"
		sed 's/^/     /' "$T/out" "$T/err"
	fi
}
# has FILE "text" : the output contains this exact line
has() {
	if grep -qxF -- "$2" "$1"; then ok "  says: $2"; else
		bad "  missing line: $2"
		sed 's/^/     /' "$1"
	fi
}
