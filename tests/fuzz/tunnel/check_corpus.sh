#!/usr/bin/env bash
# check_corpus.sh GEN CORPUS: the checked-in seeds are exactly what the
# generator makes today, and each is accepted (the generator checks that).
set -euo pipefail
gen=$1 corpus=$2
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
# TP_EMULATOR: empty natively, qemu in a cross-build (cmake/tp.cmake)
${TP_EMULATOR:-} "$gen" "$d"
diff -r "$d" "$corpus"
echo "seed corpus valid: $(ls "$corpus" | wc -l) files"
