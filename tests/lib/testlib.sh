# Shared helpers for shell-driven tests (source it). Each check prints
# "ok - ..." or "not ok - ..." and the script ends with tl_done, which prints
# "N passed, N failed" and sets the exit code.
TL_PASS=0
TL_FAIL=0
ok() { TL_PASS=$((TL_PASS + 1)); echo "ok - $*"; }
not_ok() { TL_FAIL=$((TL_FAIL + 1)); echo "not ok - $*"; }
# check "description" command...: passes when the command exits 0
check() { local d=$1; shift; if "$@" >/tmp/tl-check.$$ 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/    /' /tmp/tl-check.$$; fi; rm -f /tmp/tl-check.$$; }
# check_fails "description" command...: passes when the command exits non-zero
check_fails() { local d=$1; shift; if "$@" >/dev/null 2>&1; then not_ok "$d (unexpectedly succeeded)"; else ok "$d"; fi; }
tl_done() { echo "$TL_PASS passed, $TL_FAIL failed"; [ "$TL_FAIL" -eq 0 ]; }
tl_need_root() { if [ "$(id -u)" -ne 0 ]; then echo "needs root"; exit 1; fi; }
