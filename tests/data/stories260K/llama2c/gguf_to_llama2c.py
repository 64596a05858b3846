#!/usr/bin/env python3
"""Write ../model-f32.gguf back into karpathy/llama2.c's legacy (version 0) checkpoint format, the format
llama2.c's run.c reads, so that run.c can serve as an independent reference for our forward pass.
Python 3 standard library only.

usage: gguf_to_llama2c.py model-f32.gguf stories260K.bin

Legacy layout (all little-endian): 7 int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size,
seq_len; vocab_size positive = classifier shared with the token embedding), then float32 tensors:
token_embedding [vocab][dim], rms_att [layer][dim], wq [layer][dim][dim], wk [layer][kv_dim][dim],
wv [layer][kv_dim][dim], wo [layer][dim][dim], rms_ffn [layer][dim], w1 [layer][hidden][dim],
w2 [layer][dim][hidden], w3 [layer][hidden][dim], rms_final [dim], freq_cis_real [seq_len][head_size/2],
freq_cis_imag [seq_len][head_size/2], then wcls [vocab][dim] only when not shared.
Every matrix is row-major [out][in], which is the GGUF data order (ne = [in, out], ne[0] innermost).
GGUF keeps the checkpoint's interleaved rotary layout of wq/wk, so no tensor is permuted.
"""
import math, struct, sys

GGUF_SCALARS = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?', 10: '<Q', 11: '<q', 12: '<d'}
GGUF_STRING, GGUF_ARRAY = 8, 9
GGML_F32 = 0


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        (v,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take('<Q')
        if self.pos + n > len(self.data):
            raise ValueError('GGUF string runs past the end of the file')
        s = self.data[self.pos:self.pos + n].decode('utf-8')
        self.pos += n
        return s

    def value(self, vtype):
        if vtype == GGUF_STRING:
            return self.string()
        if vtype == GGUF_ARRAY:
            etype, n = self.take('<I'), self.take('<Q')
            return [self.value(etype) for _ in range(n)]
        if vtype not in GGUF_SCALARS:
            raise ValueError(f'unknown GGUF value type {vtype}')
        return self.take(GGUF_SCALARS[vtype])


def read_gguf(path):
    data = open(path, 'rb').read()
    r = Reader(data)
    if data[:4] != b'GGUF':
        raise ValueError(f'{path}: not a GGUF file')
    r.pos = 4
    version = r.take('<I')
    if version not in (2, 3):
        raise ValueError(f'{path}: GGUF version {version} not supported')
    n_tensors, n_kv = r.take('<Q'), r.take('<Q')
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.take('<I'))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.take('<I')
        ne = [r.take('<Q') for _ in range(n_dims)]
        ttype, offset = r.take('<I'), r.take('<Q')
        infos.append((name, ne, ttype, offset))
    alignment = meta.get('general.alignment', 32)
    data_start = (r.pos + alignment - 1) // alignment * alignment
    tensors = {}
    for name, ne, ttype, offset in infos:
        if ttype != GGML_F32:
            raise ValueError(f'{name}: ggml type {ttype}, only F32 (0) is supported')
        n = math.prod(ne)
        start = data_start + offset
        if offset % alignment or start + 4 * n > len(data):
            raise ValueError(f'{name}: bad data offset {offset}')
        tensors[name] = (ne, data[start:start + 4 * n])  # raw little-endian float32 bytes
    return meta, tensors


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    meta, tensors = read_gguf(sys.argv[1])
    if meta.get('general.architecture') != 'llama':
        sys.exit('not a llama model')
    a = 'llama.'
    dim = meta[a + 'embedding_length']
    hidden = meta[a + 'feed_forward_length']
    layers = meta[a + 'block_count']
    heads = meta[a + 'attention.head_count']
    kv_heads = meta.get(a + 'attention.head_count_kv', heads)
    seq_len = meta[a + 'context_length']
    vocab = tensors['token_embd.weight'][0][1]
    hs = dim // heads
    kv = kv_heads * hs
    # run.c's fixed assumptions: RMS norm epsilon 1e-5, rotary base 10000 over the whole head
    eps = meta.get(a + 'attention.layer_norm_rms_epsilon', 1e-5)
    assert abs(eps - 1e-5) < 1e-12, eps
    assert meta.get(a + 'rope.freq_base', 10000.0) == 10000.0
    assert meta.get(a + 'rope.dimension_count', hs) == hs
    shared = 'output.weight' not in tensors

    used = set()

    def get(name, ne):
        got, raw = tensors[name]
        if got != ne:
            raise ValueError(f'{name}: ne {got}, expected {ne}')
        used.add(name)
        return raw

    def per_layer(suffix, ne):
        return b''.join(get(f'blk.{l}.{suffix}.weight', ne) for l in range(layers))

    out = [struct.pack('<7i', dim, hidden, layers, heads, kv_heads, vocab if shared else -vocab, seq_len)]
    out.append(get('token_embd.weight', [dim, vocab]))
    out.append(per_layer('attn_norm', [dim]))
    out.append(per_layer('attn_q', [dim, dim]))
    out.append(per_layer('attn_k', [dim, kv]))
    out.append(per_layer('attn_v', [dim, kv]))
    out.append(per_layer('attn_output', [dim, dim]))
    out.append(per_layer('ffn_norm', [dim]))
    out.append(per_layer('ffn_gate', [dim, hidden]))   # w1
    out.append(per_layer('ffn_down', [hidden, dim]))   # w2
    out.append(per_layer('ffn_up', [dim, hidden]))     # w3
    out.append(get('output_norm.weight', [dim]))
    # freq_cis_real / freq_cis_imag as llama2.c's legacy export wrote them (cos / sin of pos * theta^(-2i/hs));
    # run.c skips both, they are here only so the layout is the legacy one.
    freqs = [1.0 / 10000.0 ** (2 * i / hs) for i in range(hs // 2)]
    out.append(b''.join(struct.pack('<f', math.cos(p * f)) for p in range(seq_len) for f in freqs))
    out.append(b''.join(struct.pack('<f', math.sin(p * f)) for p in range(seq_len) for f in freqs))
    if not shared:
        out.append(get('output.weight', [dim, vocab]))
    unused = set(tensors) - used
    if unused:
        raise ValueError(f'tensors not written: {sorted(unused)}')
    with open(sys.argv[2], 'wb') as f:
        for b in out:
            f.write(b)
    print(f'dim {dim} hidden {hidden} layers {layers} heads {heads} kv_heads {kv_heads} vocab {vocab} '
          f'seq_len {seq_len} shared {shared}: {sum(len(b) for b in out)} bytes -> {sys.argv[2]}')


if __name__ == '__main__':
    main()
