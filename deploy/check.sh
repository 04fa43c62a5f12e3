#!/usr/bin/env bash
# deploy/check.sh [--cppcheck|--format|--tidy|--all] BUILD_DIR
# Static checks: cppcheck (CI), clang-format conformance, clang-tidy (needs
# BUILD_DIR/compile_commands.json). Exits non-zero on any finding.
set -uo pipefail
what=--all
case "${1:-}" in --*) what=$1; shift ;; esac
build=${1:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mapfile -t srcs < <(git ls-files '*.c' '*.h' 2>/dev/null | grep -vE '^tests/fuzz/.*/corpus/')
[ ${#srcs[@]} -gt 0 ] || mapfile -t srcs < <(find dataplane policy controller-client bpf tests -name '*.[ch]')
rc=0
if [ "$what" = --cppcheck ] || [ "$what" = --all ]; then
	echo "check: cppcheck on ${#srcs[@]} files"
	cppcheck -q --error-exitcode=1 --inline-suppr --std=c11 \
		--enable=warning,portability --suppress=missingIncludeSystem \
		--suppress=unknownMacro -I policy/include -I dataplane/include \
		-I bpf/include -I controller-client/include \
		$(printf '%s\n' "${srcs[@]}" | grep '\.c$' | grep -v '^bpf/') || rc=1
fi
if [ "$what" = --format ] || [ "$what" = --all ]; then
	echo "check: clang-format"
	clang-format --dry-run -Werror "${srcs[@]}" || rc=1
fi
if [ "$what" = --tidy ] || [ "$what" = --all ]; then
	echo "check: clang-tidy"
	[ -f "$build/compile_commands.json" ] || { echo "check: no $build/compile_commands.json"; exit 1; }
	clang-tidy -p "$build" --quiet $(printf '%s\n' "${srcs[@]}" | grep '\.c$' | grep -v '^bpf/') || rc=1
fi
exit $rc
