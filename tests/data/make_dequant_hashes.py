#!/usr/bin/env python3
"""Hashes ggml's own dequantized output so that tests can check ours bit for bit without the 9 MB file.

Python 3 standard library only:
    python3 make_dequant_hashes.py stories260K-reference-dequant.gguf > ggml-dequant-hashes.json
The input is ../shared/fixtures/stories260K/gguf/stories260K-reference-dequant.gguf: one flat F32
tensor per quantized tensor, named NAME@TYPE. For each we write its element count, the 64-bit
FNV-1a hash of its F32 bytes (little-endian, as stored) and its first 4 values.
"""
import json
import struct
import sys

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
VALUE_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def fnv1a64(data):
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ b) * FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values

    def string(self):
        n = self.take("Q")
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def skip_value(self, vtype):
        if vtype == 8:
            self.string()
        elif vtype == 9:
            etype, count = self.take("I"), self.take("Q")
            for _ in range(count):
                self.skip_value(etype)
        else:
            self.pos += VALUE_SIZES[vtype]


def main():
    data = open(sys.argv[1], "rb").read()
    r = Reader(data)
    assert r.take("I") == 0x46554747, "not a GGUF file"
    version, n_tensors, n_kv = r.take("I"), r.take("Q"), r.take("Q")
    assert version in (2, 3)
    alignment = 32
    for _ in range(n_kv):
        key, vtype = r.string(), r.take("I")
        if key == "general.alignment":
            alignment = r.take("I")
        else:
            r.skip_value(vtype)
    tensors = []
    for _ in range(n_tensors):
        name = r.string()
        dims = r.take("I")
        ne = [r.take("Q") for _ in range(dims)]
        ttype, offset = r.take("I"), r.take("Q")
        assert ttype == 0, f"{name} is not F32"
        count = 1
        for n in ne:
            count *= n
        tensors.append((name, count, offset))
    start = (r.pos + alignment - 1) // alignment * alignment
    out = {}
    for name, count, offset in sorted(tensors):
        raw = data[start + offset:start + offset + 4 * count]
        out[name] = {"elements": count, "fnv1a64": f"{fnv1a64(raw):016x}",
                     "first": list(struct.unpack_from("<4f", raw, 0))}
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
