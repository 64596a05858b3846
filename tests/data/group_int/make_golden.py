#!/usr/bin/python3
"""Golden outputs for QuantLens' RTN and HQQ quantizers (core/quant/group_int.cpp), from the reference
implementations' own algorithms, transcribed line by line into numpy (float32, as they run on the CPU):

- RTN: IST-DASLab/gptq quant.py at 2d65066, Quantizer.find_params(perchannel, sym=False, mse=False)
  and quantize(), per group of `group` columns of each row (g_idx = column // group_size); the scale
  read back in fp16, as the GPTQ checkpoint stores it.
- GPTQ: gptq.py at 2d65066, GPTQ.fasterquant(blocksize 128, percdamp 0.01, static_groups False),
  on a Hessian from synthetic inputs (stored beside the outputs); Cholesky and inverse in float64
  then float32 (torch does them in float32), the rest in float32.
- AWQ: mit-han-lab/llm-awq awq/quantize at 02c1dd6 for one Linear (the o after v and down after up
  groups, where the module inspected is the Linear itself): pseudo_quantize_tensor(zero_point=True),
  _search_module_scale (n_grid 20, loss mean((org_out - out)^2)), apply_scale's division of the
  inputs, auto_clip_layer (n_grid 20, max_shrink 0.5; 520 synthetic tokens, so its 512-token
  subsample step is 1) and apply_clip, then the weight quantized and divided by the scales again.
  Two stated deviations, the same as QuantLens': the last group of a row is shorter when the row is
  not a multiple of the group (llm-awq asserts), and the group scale is read back in fp16 before it
  is used (llm-awq runs the model in fp16). The inputs are stored beside the outputs (as fp16 values).
- HQQ: mobiusml/hqq at e0b1d00, Quantizer.quantize(nbits, group_size, axis=1, optimize=True) with
  optimize_weights_proximal_legacy (lp_norm 0.7, beta 10, 20 iterations, early stop) on the CPU
  (float32), then HQQLinear's fp16 meta: (W_q - zero) * scale in float16.

Inputs: two tensors of tests/data/stories260K/model-f32.safetensors (rows of 64 and of 172).
Writes golden.bin (float32 little-endian, the dequantized tensors one after another) and
golden.json (name, scheme, bits, group, shape, offset in floats). Run: /usr/bin/python3 make_golden.py
"""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL = os.path.join(HERE, "..", "stories260K", "model-f32.safetensors")
TENSORS = ["model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight"]


def read_safetensors(path, names):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name in names:
            meta = header[name]
            assert meta["dtype"] == "F32"
            begin, end = meta["data_offsets"]
            f.seek(base + begin)
            out[name] = np.frombuffer(f.read(end - begin), dtype="<f4").reshape(meta["shape"]).copy()
        return out


def find_params(x, maxq):
    """quant.py Quantizer.find_params(x, weight=True), perchannel, sym=False, mse=False."""
    tmp = np.zeros(x.shape[0], dtype=np.float32)
    xmin = np.minimum(x.min(1), tmp)
    xmax = np.maximum(x.max(1), tmp)
    both = (xmin == 0) & (xmax == 0)
    xmin[both] = -1
    xmax[both] = +1
    scale = ((xmax - xmin) / maxq).astype(np.float32)
    return scale, np.round(-xmin / scale).astype(np.float32)


def gptq_rtn(w, bits, group):
    """quant.py: find_params on each group's columns, then quantize(); scale read back in fp16."""
    maxq = np.float32(2**bits - 1)
    out = np.empty_like(w)
    for c in range(0, w.shape[1], group):
        x = w[:, c:c + group]
        scale, zero = find_params(x, maxq)
        q = np.clip(np.round(x / scale[:, None]) + zero[:, None], 0, maxq).astype(np.float32)
        stored = scale.astype(np.float16).astype(np.float32)
        out[:, c:c + group] = stored[:, None] * (q - zero[:, None])
    return out


def shrink_lp_op(x, beta, lp_norm):
    out = np.abs(x)
    with np.errstate(divide="ignore"):
        out = out - np.float32(1.0 / beta) * np.power(out, np.float32(lp_norm - 1))
    out = np.maximum(out, np.float32(0))
    return (out * np.sign(x)).astype(np.float32)


def hqq(w, bits, group):
    """Quantizer.quantize(axis=1) + optimize_weights_proximal_legacy, then HQQLinear's fp16 dequantize."""
    W = w.astype(np.float32).reshape([-1, group])
    _min = W.min(axis=1, keepdims=True)
    _max = W.max(axis=1, keepdims=True)
    max_v = np.float32(round(2**bits - 1))
    denom = _max - _min
    scale = max_v / denom
    scale = np.where(np.abs(denom) <= 1e-4, np.float32(1.0), scale).astype(np.float32)
    scale = np.minimum(scale, np.float32(2e4))
    zero = (-_min * scale).astype(np.float32)
    lp_norm, beta, iters = 0.7, 1e1, 20
    best_error = np.float32(np.inf)
    for _ in range(iters):
        W_q = np.clip(np.round(W * scale + zero), 0, max_v).astype(np.float32)
        W_r = ((W_q - zero) / scale).astype(np.float32)
        W_e = shrink_lp_op(W - W_r, beta, lp_norm)
        zero = np.mean(W_q - (W - W_e) * scale, axis=1, keepdims=True, dtype=np.float32)
        current_error = np.float32(np.abs(W - W_r).mean(dtype=np.float32))
        if current_error < best_error:
            best_error = current_error
        else:
            break
    W_q = np.clip(np.round(W * scale + zero), 0, max_v).astype(np.float32)
    z16 = zero.astype(np.float16)
    s16 = (np.float32(1.0) / scale).astype(np.float32).astype(np.float16)
    W_r = (W_q.astype(np.float16) - z16) * s16
    return W_r.astype(np.float32).reshape(w.shape)


def gptq(W, H, bits, groupsize, actorder, blocksize=128, percdamp=0.01):
    """gptq.py GPTQ.fasterquant (static_groups=False), float32; Q read back with the scale in fp16."""
    W = W.astype(np.float32).copy()
    H = H.astype(np.float32).copy()
    maxq = np.float32(2**bits - 1)
    rows, columns = W.shape

    scale, zero = find_params(W, maxq)
    dead = np.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    perm = np.arange(columns)
    if actorder:
        perm = np.argsort(-np.diag(H), kind="stable")
        W = W[:, perm]
        H = H[perm][:, perm]
    Q = np.zeros_like(W)
    Qread = np.zeros_like(W)
    loss = 0.0
    damp = np.float32(percdamp) * np.mean(np.diag(H), dtype=np.float32)
    H[np.arange(columns), np.arange(columns)] += damp
    L = np.linalg.cholesky(H.astype(np.float64)).astype(np.float32)
    Hinv = np.linalg.inv(L.astype(np.float64)).astype(np.float32)
    Hinv = (Hinv.T @ Hinv).astype(np.float32)  # cholesky_inverse
    Hinv = np.linalg.cholesky(Hinv.astype(np.float64)).T.astype(np.float32)  # upper
    for i1 in range(0, columns, blocksize):
        i2 = min(i1 + blocksize, columns)
        count = i2 - i1
        W1 = W[:, i1:i2].copy()
        Err1 = np.zeros_like(W1)
        Hinv1 = Hinv[i1:i2, i1:i2]
        for i in range(count):
            w = W1[:, i]
            d = Hinv1[i, i]
            if groupsize != -1 and (i1 + i) % groupsize == 0:
                scale, zero = find_params(W[:, (i1 + i):(i1 + i + groupsize)], maxq)
            q = np.clip(np.round(w / scale) + zero, 0, maxq).astype(np.float32)
            dq = (scale * (q - zero)).astype(np.float32)
            Q[:, i1 + i] = dq
            Qread[:, i1 + i] = scale.astype(np.float16).astype(np.float32) * (q - zero)
            loss += float(np.sum((w.astype(np.float64) - dq) ** 2 / float(d) ** 2) / 2)
            err1 = ((w - dq) / d).astype(np.float32)
            W1[:, i:] -= np.outer(err1, Hinv1[i, i:]).astype(np.float32)
            Err1[:, i] = err1
        W[:, i2:] -= (Err1 @ Hinv[i1:i2, i2:]).astype(np.float32)
    out = np.zeros_like(Qread)
    out[:, perm] = Qread
    return out, loss


def hessian_for(rng, cols):
    """H = 2/N X X^T (float32) of 256 synthetic inputs: channels of unequal scale, one dead channel
    (5), two correlated ones (0 and 1)."""
    channel = np.exp(rng.standard_normal(cols)).astype(np.float32)
    channel[5] = 0
    X = (rng.standard_normal((cols, 256)).astype(np.float32) * channel[:, None]).astype(np.float32)
    X[1] = X[0] * np.float32(0.9) + X[1] * np.float32(0.1)
    return (np.float32(2.0 / 256) * (X @ X.T)).astype(np.float32)


def gptq_cases(tensors):
    """GPTQ on the two tensors with one Hessian each (seed 0), stored beside the outputs."""
    rng = np.random.default_rng(0)
    hessians = {name: hessian_for(rng, tensors[name].shape[1]) for name in TENSORS}
    cases = []
    for name, bits, group, actorder in [(TENSORS[0], 4, 128, False), (TENSORS[1], 4, 128, False),
                                        (TENSORS[1], 3, 128, True), (TENSORS[1], 4, -1, False),
                                        (TENSORS[1], 4, 64, True)]:
        out, loss = gptq(tensors[name], hessians[name], bits, group, actorder)
        cases.append((name, bits, group, actorder, out, loss))
    return hessians, cases


def awq_groups(cols, group):
    return [(c, min(c + group, cols)) for c in range(0, cols, group)]


def awq_pseudo(w, bits, group):
    """pseudo_quantize_tensor(zero_point=True) per group of each row; the scale read back in fp16."""
    max_int = np.float32(2**bits - 1)
    out = np.empty_like(w)
    for c0, c1 in awq_groups(w.shape[-1], group):
        x = w[..., c0:c1]
        max_val = x.max(axis=-1, keepdims=True)
        min_val = x.min(axis=-1, keepdims=True)
        scales = (np.maximum(max_val - min_val, np.float32(1e-5)) / max_int).astype(np.float16).astype(np.float32)
        zeros = np.clip(-np.round(min_val / scales), 0, max_int)
        out[..., c0:c1] = (np.clip(np.round(x / scales) + zeros, 0, max_int) - zeros) * scales
    return out.astype(np.float32)


def awq_linear(w, x, bits, group):
    """_search_module_scale for one Linear, apply_scale, auto_clip_layer, apply_clip, quantization."""
    org_out = x @ w.T
    x_max = np.abs(x).mean(axis=0).astype(np.float32)
    best_error, best_ratio, best_scales, losses = np.inf, -1, None, []
    for r in range(20):
        ratio = r * 1 / 20
        scales = np.maximum(np.power(x_max, np.float32(ratio)), np.float32(1e-4)).astype(np.float32)
        scales = (scales / np.sqrt(scales.max() * scales.min())).astype(np.float32)
        wq = awq_pseudo((w * scales[None, :]).astype(np.float32), bits, group) / scales[None, :]
        loss = float(np.mean((org_out - x @ wq.T).astype(np.float32) ** 2, dtype=np.float32))
        losses.append(loss)
        if loss < best_error:
            best_error, best_ratio, best_scales = loss, ratio, scales
    ws = (w * best_scales[None, :]).astype(np.float32)
    xs = (x / best_scales[None, :]).astype(np.float32)
    clip = np.zeros((w.shape[0], len(awq_groups(w.shape[1], group))), dtype=np.float32)
    for g, (c0, c1) in enumerate(awq_groups(w.shape[1], group)):
        wg = ws[:, c0:c1]
        xg = xs[:, c0:c1]
        org = xg @ wg.T  # tokens x rows: the group's part of each output
        org_max = np.abs(wg).max(axis=1, keepdims=True)
        best = org_max.copy()
        min_errs = np.full_like(org_max, 1e9)
        for i_s in range(int(0.5 * 20)):
            max_val = (org_max * (1 - i_s / 20)).astype(np.float32)
            cur = np.clip(wg, -max_val, max_val)
            q = awq_pseudo(cur, bits, c1 - c0)
            err = np.mean((xg @ q.T - org) ** 2, axis=0, dtype=np.float32)[:, None]
            better = err < min_errs
            min_errs[better] = err[better]
            best[better] = max_val[better]
        clip[:, g] = best[:, 0]
    clipped = ws.copy()
    for g, (c0, c1) in enumerate(awq_groups(w.shape[1], group)):
        clipped[:, c0:c1] = np.clip(clipped[:, c0:c1], -clip[:, g:g + 1], clip[:, g:g + 1])
    out = awq_pseudo(clipped, bits, group) / best_scales[None, :]
    return out.astype(np.float32), best_ratio, losses, clip


def awq_inputs(rng, cols):
    """520 synthetic input positions: channels of unequal scale (log-normal) and three outliers x20,
    rounded to fp16 so the file stores them exactly."""
    channel = np.exp(rng.standard_normal(cols)).astype(np.float32)
    channel[[3, 17, 40]] *= 20
    x = rng.standard_normal((520, cols)).astype(np.float32) * channel[None, :]
    return x.astype(np.float16).astype(np.float32)


def main():
    tensors = read_safetensors(MODEL, TENSORS)
    index, blobs, offset = [], [], 0
    for name in TENSORS:
        w = tensors[name]
        for scheme, bits, group, fn in [("rtn4", 4, 128, gptq_rtn), ("rtn3", 3, 128, gptq_rtn),
                                        ("hqq4", 4, 64, hqq), ("hqq3", 3, 64, hqq)]:
            out = fn(w, bits, group).astype("<f4")
            index.append({"tensor": name, "scheme": scheme, "bits": bits, "group": group,
                          "shape": list(w.shape), "offset": offset,
                          "rel_error": float(np.linalg.norm(w - out) / np.linalg.norm(w))})
            blobs.append(out.tobytes())
            offset += out.size
    hessians, cases = gptq_cases(tensors)
    hessian_offsets = {}
    for name in TENSORS:
        hessian_offsets[name] = offset
        blobs.append(hessians[name].astype("<f4").tobytes())
        offset += hessians[name].size
    for name, bits, group, actorder, out, loss in cases:
        w = tensors[name]
        index.append({"tensor": name, "scheme": "gptq", "bits": bits, "group": group, "act_order": actorder,
                      "shape": list(out.shape), "offset": offset, "hessian_offset": hessian_offsets[name],
                      "loss": loss, "rel_error": float(np.linalg.norm(w - out) / np.linalg.norm(w))})
        blobs.append(out.astype("<f4").tobytes())
        offset += out.size
    rng = np.random.default_rng(1)
    for name in TENSORS:
        w = tensors[name]
        x = awq_inputs(rng, w.shape[1])
        input_offset = offset
        blobs.append(x.astype("<f4").tobytes())
        offset += x.size
        for bits, group in [(4, 128), (3, 32)]:
            out, ratio, losses, clip = awq_linear(w, x, bits, group)
            index.append({"tensor": name, "scheme": "awq", "bits": bits, "group": group, "shape": list(w.shape),
                          "input_offset": input_offset, "input_shape": list(x.shape), "alpha": ratio,
                          "losses": losses, "offset": offset, "clip_offset": offset + out.size,
                          "rel_error": float(np.linalg.norm(w - out) / np.linalg.norm(w))})
            blobs.append(out.astype("<f4").tobytes())
            blobs.append(clip.astype("<f4").tobytes())
            offset += out.size + clip.size
    with open(os.path.join(HERE, "golden.bin"), "wb") as f:
        f.write(b"".join(blobs))
    with open(os.path.join(HERE, "golden.json"), "w") as f:
        json.dump({"numpy": np.__version__, "model": "stories260K/model-f32.safetensors", "entries": index}, f,
                  indent=1)


if __name__ == "__main__":
    main()
