#!/usr/bin/env python3
"""Writes the small malformed GGUF, index and config files QuantLens' readers must reject.

Python 3 standard library only: python3 make_malformed.py [OUTDIR]. Each file breaks one rule;
tests/core/gguf_test.cpp, model_test.cpp and config_test.cpp check the message for each.
"""
import json
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf(version=3, kvs=(), tensors=(), data=b"", alignment=32, magic=b"GGUF", counts=None):
    """kvs: list of raw (key, type, payload bytes); tensors: list of (name, ne, type, offset)."""
    n_t, n_kv = counts if counts else (len(tensors), len(kvs))
    out = magic + struct.pack("<IQQ", version, n_t, n_kv)
    for key, vtype, payload in kvs:
        out += gguf_string(key) + struct.pack("<I", vtype) + payload
    for name, ne, ttype, offset in tensors:
        out += gguf_string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        out += struct.pack("<IQ", ttype, offset)
    out += b"\0" * ((-len(out)) % alignment)
    return out + data


def write(name, content):
    with open(os.path.join(OUT, name), "wb" if isinstance(content, bytes) else "w") as f:
        f.write(content)


ARCH = ("general.architecture", 8, gguf_string("llama"))
F32x8 = struct.pack("<8f", *range(8))

write("gguf_bad_magic.gguf", gguf(magic=b"GGUX"))
write("gguf_version_1.gguf", gguf(version=1))
write("gguf_huge_string.gguf", b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 62) + b"key" + b"\0" * 32)
write("gguf_huge_array.gguf", gguf(kvs=[("tokenizer.ggml.tokens", 9, struct.pack("<IQ", 8, 1 << 60))]))
write("gguf_huge_tensor_count.gguf", gguf(kvs=[ARCH], counts=(1 << 40, 1)))
write("gguf_unknown_value_type.gguf", gguf(kvs=[("general.name", 99, b"\0" * 8)]))
write("gguf_bad_alignment.gguf", gguf(kvs=[("general.alignment", 4, struct.pack("<I", 3))]))
write("gguf_unknown_tensor_type.gguf", gguf(kvs=[ARCH], tensors=[("w", [8], 4, 0)], data=F32x8))
write("gguf_too_many_dims.gguf", gguf(kvs=[ARCH], tensors=[("w", [1, 1, 1, 1, 8], 0, 0)], data=F32x8))
write("gguf_partial_block.gguf", gguf(kvs=[ARCH], tensors=[("w", [33], 2, 0)], data=b"\0" * 64))
write("gguf_tensor_past_end.gguf", gguf(kvs=[ARCH], tensors=[("blk.0.attn_q.weight", [64], 0, 0)], data=F32x8))
write("gguf_unaligned_offset.gguf", gguf(kvs=[ARCH], tensors=[("a", [8], 0, 0), ("b", [8], 0, 4)], data=F32x8 * 3))
write("gguf_overlap.gguf", gguf(kvs=[ARCH], tensors=[("a", [16], 0, 0), ("b", [8], 0, 32)], data=F32x8 * 3))
write("gguf_duplicate_key.gguf", gguf(kvs=[ARCH, ARCH]))
write("gguf_nested_too_deep.gguf",
      gguf(kvs=[("deep", 9, struct.pack("<IQ", 9, 1) * 5 + struct.pack("<IQ", 4, 1) + struct.pack("<I", 7))]))
write("gguf_truncated_header.gguf", gguf(kvs=[ARCH], tensors=[("w", [8], 0, 0)], data=F32x8)[:40])
write("gguf_bad_bool.gguf", gguf(kvs=[("flag", 7, b"\x07")]))

os.makedirs(os.path.join(OUT, "index_missing_shard"), exist_ok=True)
write("index_missing_shard/model.safetensors.index.json",
      json.dumps({"metadata": {"total_size": 16}, "weight_map": {"w": "model-00001-of-00002.safetensors"}}))
write("index_path_traversal.json", json.dumps({"weight_map": {"w": "../../etc/passwd"}}))
write("index_no_weight_map.json", json.dumps({"metadata": {"total_size": 16}}))
write("index_invalid_json.json", '{"weight_map": {"w": "model.safetensors"')
write("config_not_object.json", "[1, 2, 3]")
write("config_bad_size.json", json.dumps({"model_type": "llama", "hidden_size": -64, "num_hidden_layers": 2}))
write("config_invalid_json.json", '{"model_type": "llama", "hidden_size": 64,,}')
