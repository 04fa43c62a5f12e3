#!/usr/bin/env bash
# record.sh SECTION FILE: replace the SECTION block of BENCHMARKS.md (between
# <!-- BEGIN SECTION --> and <!-- END SECTION -->) with the contents of FILE.
# record.sh DOC.md SECTION FILE: the same in another document at the top
# (RELIABILITY.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
md=$top/BENCHMARKS.md
if [ $# -eq 3 ]; then
	md=$top/$1
	shift
fi
section=$1 file=$2
grep -q "<!-- BEGIN $section -->" "$md" || { echo "record.sh: no section '$section' in $md" >&2; exit 1; }
tmp=$(mktemp)
awk -v s="$section" -v f="$file" '
	$0 == "<!-- BEGIN " s " -->" { print; while ((getline l < f) > 0) print l; skip = 1; next }
	$0 == "<!-- END " s " -->" { skip = 0 }
	!skip { print }
' "$md" > "$tmp"
mv "$tmp" "$md"
echo "record.sh: updated section '$section' of $(basename "$md")"
