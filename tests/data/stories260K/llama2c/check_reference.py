#!/usr/bin/env python3
"""Check and summarise reference-tokens.txt / reference-logits.bin (Python 3 standard library only).

usage: check_reference.py [reference-tokens.txt reference-logits.bin]

Checks: the .bin holds exactly one float32 row of VOCAB logits per token of the .txt; every logit is finite;
the greedy sequence (line 1) is the argmax chain of its own logits (lowest id on ties); line 3 does not
start with BOS. Prints, per sequence, its length, the logit range and the largest |logit|, and the first
logits of positions 0 and 10 of the greedy sequence.
"""
import array, math, os, sys

VOCAB = 512
BOS = 1


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    tok_path, bin_path = sys.argv[1:3] if len(sys.argv) == 3 else (
        os.path.join(here, 'reference-tokens.txt'), os.path.join(here, 'reference-logits.bin'))
    seqs = [[int(t) for t in line.split()] for line in open(tok_path) if line.strip()]
    logits = array.array('f')
    logits.frombytes(open(bin_path, 'rb').read())
    if sys.byteorder != 'little':
        logits.byteswap()
    n = sum(len(s) for s in seqs)
    assert len(seqs) == 3, len(seqs)
    assert len(logits) == n * VOCAB, (len(logits), n * VOCAB)
    assert all(0 <= t < VOCAB for s in seqs for t in s)
    assert all(math.isfinite(x) for x in logits), 'non-finite logit'
    assert seqs[0][0] == BOS and seqs[1][0] == BOS and seqs[2][0] != BOS
    off = 0
    for k, s in enumerate(seqs):
        rows = [logits[(off + p) * VOCAB:(off + p + 1) * VOCAB] for p in range(len(s))]
        if k == 0:
            for p in range(len(s) - 1):
                row = rows[p]
                best = max(range(VOCAB), key=lambda i: (row[i], -i))
                assert s[p + 1] == best, f'greedy sequence: position {p + 1} is {s[p + 1]}, argmax {best}'
        lo = min(min(r) for r in rows)
        hi = max(max(r) for r in rows)
        print(f'sequence {"abc"[k]}: {len(s)} tokens, {len(set(s))} distinct; logits in [{lo:.6f}, {hi:.6f}], '
              f'max |logit| {max(-lo, hi):.6f}')
        off += len(s)
    for p in (0, 10):
        print(f'sequence a, position {p}, logits[0:5]:', ' '.join(f'{x:.9g}' for x in logits[p * VOCAB:p * VOCAB + 5]))
    print('OK')


if __name__ == '__main__':
    main()
