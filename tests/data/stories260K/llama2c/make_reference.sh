#!/bin/sh
# Remake reference-tokens.txt and reference-logits.bin with karpathy/llama2.c's run.c.
#
# usage: make_reference.sh PATH/TO/run.c [OUTDIR]
#
# run.c is used where it lies (never copied here); OUTDIR defaults to this folder. Needs python3 and gcc.
set -eu
if [ $# -lt 1 ] || [ ! -f "$1" ]; then
    echo "usage: $0 PATH/TO/run.c [OUTDIR]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
runc_dir=$(cd "$(dirname "$1")" && pwd)
[ "$(basename "$1")" = run.c ] || { echo "$0: the file must be named run.c" >&2; exit 2; }
out=${2:-$here}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "run.c sha256: $(sha256sum "$1" | cut -d' ' -f1)"
python3 "$here/gguf_to_llama2c.py" "$here/../model-f32.gguf" "$tmp/stories260K.bin"
# -DTESTING: run.c leaves out its main(); no -fopenmp, no -ffast-math, no FMA contraction: the sums run in
# run.c's own sequential order
gcc -O2 -ffp-contract=off -DTESTING -I "$runc_dir" -o "$tmp/dump_logits" "$here/dump_logits.c" -lm
"$tmp/dump_logits" "$tmp/stories260K.bin" "$out/reference-tokens.txt" "$out/reference-logits.bin"
python3 "$here/check_reference.py" "$out/reference-tokens.txt" "$out/reference-logits.bin"
