#!/usr/bin/env bash
# deploy/check.sh --deps (README.md, "Layout"): the real tree has no edge
# against base < {bpf, policy} < controller-client < dataplane; on a scratch
# copy each planted mistake is found, named by file, line and edge.
# Needs TP_SOURCE_DIR.
set -euo pipefail
S=${TP_SOURCE_DIR:?}
. "$(dirname "$0")/../../lib/tally.sh"
tl_scratch deps-test

expect 0 "the tree follows the graph" "$S/deploy/check.sh" --deps
grep -q '^check: deps: [0-9]* files, [0-9]* includes, [0-9]* link edges, 0 against the graph$' \
	"$T/out" && ok "  says how much it checked" || bad "  summary: $(cat "$T/out")"

# plant NAME: a fresh copy of the five folders and check.sh (not a git
# tree: check.sh lists the files itself) in $T/NAME, the current folder
plant() {
	rm -rf "${T:?}/$1"
	mkdir -p "$T/$1/deploy"
	(cd "$S" && cp -r base bpf policy controller-client dataplane "$T/$1/")
	cp "$S/deploy/check.sh" "$T/$1/deploy/"
	cd "$T/$1"
}
# fails "what" "exact finding line": check.sh --deps exits 1 and says it
fails() {
	expect 1 "$1" deploy/check.sh --deps
	has "$T/out" "$2"
	cd "$T"
}
G='(base < bpf, policy < controller-client < dataplane)'
# the flat, not namespaced spelling, written so that graph-rename.sh (which
# namespaces every tp/NAME.h it sees) leaves these lines alone
TP=tp

plant up
sed -i '3i #include "tp/dp/fwd.h"' policy/site/site.c
fails "policy includes a dataplane header" \
	"policy/site/site.c:3: policy -> dataplane: #include \"tp/dp/fwd.h\" points against the graph $G"

plant sibling
sed -i '3i #include "tp/policy/site.h"' bpf/xdp/common.h
fails "bpf includes a policy header (siblings)" \
	"bpf/xdp/common.h:3: bpf -> policy: #include \"tp/policy/site.h\" points against the graph $G"

plant base
sed -i '3i #include "tp/ctrl/lkg.h"' base/file/file.c
fails "base includes a controller-client header" \
	"base/file/file.c:3: base -> controller-client: #include \"tp/ctrl/lkg.h\" points against the graph $G"

plant relative
sed -i '3i #include "../../dataplane/fwd/fwd_int.h"' controller-client/apply/apply.c
fails "a relative path into another module" \
	"controller-client/apply/apply.c:3: controller-client -> dataplane: #include \"../../dataplane/fwd/fwd_int.h\" reaches into another module's private directory by a relative path"

plant private
sed -i '3i #include "engine_int.h"' policy/lint/lint.c
fails "another module's private header by name" \
	"policy/lint/lint.c:3: policy -> policy: #include \"engine_int.h\" is not beside the file: another module's private header"

plant flat
sed -i "3i #include \"$TP/clock.h\"" base/admin/admin.c
fails "an include that is not namespaced" \
	"base/admin/admin.c:3: base -> ?: #include \"$TP/clock.h\" is not namespaced (tp/NS/NAME.h)"

plant link
echo 'target_link_libraries(tp_site PUBLIC tp_ctrl_apply)' >>policy/site/CMakeLists.txt
n=$(wc -l <policy/site/CMakeLists.txt)
fails "a link edge against the graph" \
	"policy/site/CMakeLists.txt:$n: policy -> controller-client: tp_site links tp_ctrl_apply, against the graph $G"

plant export
echo 'target_include_directories(tp_keys PUBLIC ${CMAKE_CURRENT_SOURCE_DIR})' >>base/keys/CMakeLists.txt
n=$(wc -l <base/keys/CMakeLists.txt)
fails "a module folder exported as a public include directory" \
	"base/keys/CMakeLists.txt:$n: base: tp_keys exports its module folder (PUBLIC): a module's own headers are private"

plant guard
sed -i 's/TP_BASE_CLOCK_H/TP_CLOCK_H/' base/include/tp/base/clock.h
fails "an include guard not named after the path" \
	"base/include/tp/base/clock.h:1: base: include guard TP_CLOCK_H, want TP_BASE_CLOCK_H"

plant outside
cp base/include/tp/base/file.h "base/include/$TP/file.h"
fails "a public header outside its namespace" \
	"base/include/$TP/file.h:1: base: a public header outside base/include/tp/base/"

echo
if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all passed"
