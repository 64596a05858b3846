#!/usr/bin/python3
"""Reference ids for spm/tokenizer.model from the sentencepiece Python bindings (Debian's
python3-sentencepiece 0.1.97): sp.encode(text) without BOS/EOS, plus the pieces for readability.
Checks: every id < 512, decode(encode(t)) == t.

usage: /usr/bin/python3 spm/make_expected.py   (from tests/data/tokenizers/)
"""
import json, sys
import sentencepiece as spm

sp = spm.SentencePieceProcessor(model_file='spm/tokenizer.model')
assert sp.get_piece_size() == 512, sp.get_piece_size()
assert (sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id()) == (0, 1, 2, -1)
tests = json.load(open('test_strings.json', encoding='utf-8'))
out = []
for t in tests:
    ids = sp.encode(t)
    pieces = sp.encode(t, out_type=str)
    assert len(ids) == len(pieces) and all(sp.id_to_piece(i) == p for i, p in zip(ids, pieces))
    assert all(0 <= i < 512 for i in ids), (t, ids)
    back = sp.decode(ids)
    assert back == t, (t, back)
    out.append({'text': t, 'ids': ids, 'pieces': pieces})
with open('spm/expected.json', 'w', encoding='utf-8') as f:
    f.write('[\n' + ',\n'.join(json.dumps(e, ensure_ascii=False) for e in out) + '\n]\n')
print(f'spm: {len(out)} strings, sentencepiece {spm.__version__}', file=sys.stderr)
