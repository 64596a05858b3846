#!/usr/bin/env python3
"""Copies of stories260K/model-f32.gguf whose tokenizer metadata is a real tokenizer instead of the
placeholder vocabulary: every tensor (info and bytes) and every other key stay as they are; the
tokenizer.* keys are replaced (same position in the key list). Python 3 standard library only.

  stories260K-spm.gguf  tokenizer.ggml.model "llama" from ../spm/tokenizer.model (SentencePiece protobuf,
                        read here without the sentencepiece package): tokens, scores, token_type as
                        llama.cpp's converter maps them (1 normal, 2 unknown, 3 control, 6 byte)
  stories260K-bpe.gguf  tokenizer.ggml.model "gpt2", pre "llama-bpe" from ../bpe/tokenizer.json:
                        byte-level tokens by id, merges "a b" in rank order, token_type 1 normal and
                        3 control for the added special tokens

usage (from tests/data/tokenizers/): python3 gguf/make_gguf_vocab.py [SOURCE.gguf]
SOURCE defaults to ../stories260K/model-f32.gguf
"""
import json, os, struct, sys

# ---------------------------------------------------------------- GGUF reading and writing (v3, little endian)
SCALAR = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?', 10: '<Q', 11: '<q', 12: '<d'}
T_STRING, T_ARRAY = 8, 9

class Reader:
    def __init__(self, data):
        self.d, self.p = data, 0
    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p); self.p += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v
    def string(self):
        n = self.take('<Q'); s = self.d[self.p:self.p + n].decode('utf-8'); self.p += n
        return s
    def value(self, vtype):
        if vtype == T_STRING:
            return self.string()
        if vtype == T_ARRAY:
            etype, n = self.take('<I'), self.take('<Q')
            return (etype, [self.value(etype) for _ in range(n)])
        return self.take(SCALAR[vtype])

def read_gguf(path):
    data = open(path, 'rb').read()
    r = Reader(data)
    magic, version = r.d[:4], struct.unpack_from('<I', data, 4)[0]
    if magic != b'GGUF' or version != 3:
        sys.exit(f'{path}: not a GGUF v3 file')
    r.p = 8
    n_tensors, n_kv = r.take('<Q'), r.take('<Q')
    kvs = []
    for _ in range(n_kv):
        key = r.string(); vtype = r.take('<I')
        kvs.append((key, vtype, r.value(vtype)))
    infos_start = r.p
    for _ in range(n_tensors):
        r.string(); nd = r.take('<I'); r.p += 8 * nd + 4 + 8  # name, dims, type, offset
    infos = data[infos_start:r.p]
    alignment = next((v for k, t, v in kvs if k == 'general.alignment'), 32)
    start = r.p + (alignment - r.p % alignment) % alignment
    return kvs, n_tensors, infos, data[start:], alignment

def encode_value(vtype, value):
    if vtype == T_STRING:
        b = value.encode('utf-8')
        return struct.pack('<Q', len(b)) + b
    if vtype == T_ARRAY:
        etype, items = value
        return struct.pack('<IQ', etype, len(items)) + b''.join(encode_value(etype, x) for x in items)
    return struct.pack(SCALAR[vtype], value)

def write_gguf(path, kvs, n_tensors, infos, tensor_data, alignment):
    head = b'GGUF' + struct.pack('<IQQ', 3, n_tensors, len(kvs))
    for key, vtype, value in kvs:
        head += encode_value(T_STRING, key) + struct.pack('<I', vtype) + encode_value(vtype, value)
    head += infos
    head += b'\0' * ((alignment - len(head) % alignment) % alignment)
    with open(path, 'wb') as f:
        f.write(head); f.write(tensor_data)

def replace_tokenizer(kvs, new):
    """Drop every tokenizer.* key and put the new ones where the first one was."""
    at = next((i for i, (k, _, _) in enumerate(kvs) if k.startswith('tokenizer.')), len(kvs))
    rest = [kv for kv in kvs if not kv[0].startswith('tokenizer.')]
    at = sum(1 for kv in kvs[:at] if not kv[0].startswith('tokenizer.'))
    return rest[:at] + new + rest[at:]

# ---------------------------------------------------------------- SentencePiece ModelProto (protobuf) reading
def varint(b, p):
    v = s = 0
    while True:
        c = b[p]; p += 1; v |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return v, p

def fields(b):
    p = 0
    while p < len(b):
        tag, p = varint(b, p)
        num, wt = tag >> 3, tag & 7
        if wt == 0:
            v, p = varint(b, p)
        elif wt == 1:
            v = b[p:p + 8]; p += 8
        elif wt == 2:
            n, p = varint(b, p); v = b[p:p + n]; p += n
        elif wt == 5:
            v = b[p:p + 4]; p += 4
        else:
            raise ValueError(f'protobuf wire type {wt}')
        yield num, v

def read_spm(path):
    """ModelProto.pieces (field 1): SentencePiece {piece = 1, score = 2, type = 3}; type NORMAL 1,
    UNKNOWN 2, CONTROL 3, USER_DEFINED 4, UNUSED 5, BYTE 6 (default NORMAL)."""
    pieces = []
    for num, v in fields(open(path, 'rb').read()):
        if num == 1:
            piece, score, ptype = '', 0.0, 1
            for n2, v2 in fields(v):
                if n2 == 1: piece = v2.decode('utf-8')
                elif n2 == 2: score = struct.unpack('<f', v2)[0]
                elif n2 == 3: ptype = v2
            pieces.append((piece, score, ptype))
    return pieces

# llama.cpp's convert_hf_to_gguf.py (_create_vocab_sentencepiece): IsUnknown -> UNKNOWN 2, IsControl ->
# CONTROL 3, IsUnused -> UNUSED 5, IsByte -> BYTE 6, otherwise NORMAL 1 (so a USER_DEFINED piece, 4, becomes 1;
# this model has none). The numbers are sentencepiece's own type numbers.
SPM_TO_GGUF = {1: 1, 2: 2, 3: 3, 4: 1, 5: 5, 6: 6}

def spm_keys(path):
    pieces = read_spm(path)
    types = [SPM_TO_GGUF[t] for _, _, t in pieces]
    assert [p for p, _, _ in pieces[:3]] == ['<unk>', '<s>', '</s>'] and types[:3] == [2, 3, 3]
    return [
        ('tokenizer.ggml.model', T_STRING, 'llama'),
        ('tokenizer.ggml.tokens', T_ARRAY, (T_STRING, [p for p, _, _ in pieces])),
        ('tokenizer.ggml.scores', T_ARRAY, (6, [s for _, s, _ in pieces])),
        ('tokenizer.ggml.token_type', T_ARRAY, (5, types)),
        ('tokenizer.ggml.bos_token_id', 4, 1),
        ('tokenizer.ggml.eos_token_id', 4, 2),
        ('tokenizer.ggml.unknown_token_id', 4, 0),
        ('tokenizer.ggml.add_bos_token', 7, True),
        ('tokenizer.ggml.add_eos_token', 7, False),
        ('tokenizer.ggml.add_space_prefix', 7, True),
    ]

def bpe_keys(path):
    tj = json.load(open(path, encoding='utf-8'))
    vocab = dict(tj['model']['vocab'])
    special = {}
    for t in tj['added_tokens']:
        assert vocab.get(t['content'], t['id']) == t['id']
        vocab[t['content']] = t['id']
        special[t['id']] = t['special']
    n = len(vocab)
    tokens = [None] * n
    for tok, i in vocab.items():
        tokens[i] = tok
    assert None not in tokens, 'ids are not contiguous'
    # added special tokens -> CONTROL 3, added non-special -> USER_DEFINED 4, the rest NORMAL 1
    types = [(3 if special[i] else 4) if i in special else 1 for i in range(n)]
    merges = [' '.join(m) if isinstance(m, list) else m for m in tj['model']['merges']]
    return [
        ('tokenizer.ggml.model', T_STRING, 'gpt2'),
        ('tokenizer.ggml.pre', T_STRING, 'llama-bpe'),
        ('tokenizer.ggml.tokens', T_ARRAY, (T_STRING, tokens)),
        ('tokenizer.ggml.token_type', T_ARRAY, (5, types)),
        ('tokenizer.ggml.merges', T_ARRAY, (T_STRING, merges)),
        ('tokenizer.ggml.bos_token_id', 4, vocab['<|begin_of_text|>']),
        ('tokenizer.ggml.eos_token_id', 4, vocab['<|end_of_text|>']),
        ('tokenizer.ggml.add_bos_token', 7, True),
        ('tokenizer.ggml.add_eos_token', 7, False),
    ]

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, '..', '..', 'stories260K', 'model-f32.gguf')
    kvs, n_tensors, infos, tensor_data, alignment = read_gguf(src)
    n_vocab = next(v for k, _, v in kvs if k == 'llama.vocab_size')
    for name, keys in [('stories260K-spm.gguf', spm_keys(os.path.join(here, '..', 'spm', 'tokenizer.model'))),
                       ('stories260K-bpe.gguf', bpe_keys(os.path.join(here, '..', 'bpe', 'tokenizer.json')))]:
        n_tokens = len(keys[[k for k, _, _ in keys].index('tokenizer.ggml.tokens')][2][1])
        assert n_tokens == n_vocab, (name, n_tokens, n_vocab)
        out = os.path.join(here, name)
        write_gguf(out, replace_tokenizer(kvs, keys), n_tensors, infos, tensor_data, alignment)
        # check: read back; tensors and non-tokenizer keys unchanged
        kvs2, n2, infos2, data2, _ = read_gguf(out)
        assert (n2, infos2, data2) == (n_tensors, infos, tensor_data)
        assert [kv for kv in kvs2 if not kv[0].startswith('tokenizer.')] == \
               [kv for kv in kvs if not kv[0].startswith('tokenizer.')]
        print(f'{name}: {len(kvs2)} keys, {n2} tensors, {n_tokens} tokens', file=sys.stderr)

if __name__ == '__main__':
    main()
