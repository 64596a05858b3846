#!/bin/bash
# Remakes every file in tests/data/tokenizers/ from train.txt and test_strings.json (see README.md).
# Needs Debian's sentencepiece + python3-sentencepiece (installed here when missing, as root) and npm for
# Hugging Face tokenizers' Node binding (npm package `tokenizers`, installed into a temporary folder,
# or the folder in $HF_TOKENIZERS_DIR when it already holds node_modules/tokenizers).
set -euo pipefail
cd "$(dirname "$0")"

HF_TOKENIZERS_VERSION=0.23.2
SPM_PYTHON=/usr/bin/python3   # Debian's python3-sentencepiece is for the system Python

if ! command -v spm_train >/dev/null || ! "$SPM_PYTHON" -c 'import sentencepiece' 2>/dev/null; then
    apt-get install -y sentencepiece python3-sentencepiece
fi
HF=${HF_TOKENIZERS_DIR:-}
if [ -z "$HF" ] || [ ! -d "$HF/node_modules/tokenizers" ]; then
    HF=$(mktemp -d)
    trap 'rm -rf "$HF"' EXIT
    npm install --prefix "$HF" --no-save --no-package-lock --no-audit --no-fund "tokenizers@$HF_TOKENIZERS_VERSION" >&2
fi
export NODE_PATH="$HF/node_modules"
export PYTHONDONTWRITEBYTECODE=1
echo "sentencepiece $(spm_train --version 2>&1 | awk '{print $2}'), tokenizers (npm) $(node -p "require('tokenizers/package.json').version")" >&2

# 1. SentencePiece BPE, Llama-2-like settings (byte fallback, split digits, identity normalization,
#    dummy prefix, extra whitespace kept), 512 pieces.
spm_train --input=train.txt --model_prefix=spm/tokenizer --model_type=bpe --vocab_size=512 \
    --byte_fallback=true --character_coverage=1.0 --split_digits=true \
    --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1 \
    --normalization_rule_name=identity --add_dummy_prefix=true --remove_extra_whitespaces=false \
    --allow_whitespace_only_pieces=true --num_threads=1 2>/dev/null
"$SPM_PYTHON" spm/make_expected.py

# 2. Byte-level BPE (Llama 3 layout) trained and run by Hugging Face tokenizers.
node bpe/train_bpe.js
node bpe/make_expected.js

# 3. GGUF copies of stories260K-q4_0.gguf (ggml's Q4_0 of model-f32.gguf: small) carrying these two tokenizers.
python3 gguf/make_gguf_vocab.py ../stories260K/gguf/stories260K-q4_0.gguf
# check: the GGUF vocabularies are sentencepiece's and tokenizer.json's
"$SPM_PYTHON" - <<'PY'
import json, sys
sys.path.insert(0, 'gguf')
import make_gguf_vocab as g, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file='spm/tokenizer.model')
d = {k: v for k, _, v in g.read_gguf('gguf/stories260K-spm.gguf')[0]}
kind = lambda i: 2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 5 if sp.is_unused(i) else 6 if sp.is_byte(i) else 1
assert d['tokenizer.ggml.tokens'][1] == [sp.id_to_piece(i) for i in range(512)]
assert d['tokenizer.ggml.scores'][1] == [sp.get_score(i) for i in range(512)]
assert d['tokenizer.ggml.token_type'][1] == [kind(i) for i in range(512)]
d = {k: v for k, _, v in g.read_gguf('gguf/stories260K-bpe.gguf')[0]}
tj = json.load(open('bpe/tokenizer.json', encoding='utf-8'))
want = {**tj['model']['vocab'], **{t['content']: t['id'] for t in tj['added_tokens']}}
assert {t: i for i, t in enumerate(d['tokenizer.ggml.tokens'][1])} == want
assert d['tokenizer.ggml.merges'][1] == [' '.join(m) for m in tj['model']['merges']]
print('gguf: vocabularies match sentencepiece and tokenizer.json', file=sys.stderr)
PY

sha256sum train.txt test_strings.json spm/tokenizer.model spm/expected.json bpe/tokenizer.json bpe/expected.json \
    gguf/stories260K-spm.gguf gguf/stories260K-bpe.gguf
