#pragma once

#include <cstdint>
#include <span>

// Group-wise asymmetric integer quantization (b-bit codes 0..2^b-1 with a scale and a zero point per
// group), as the downloadable 4-bit formats store weights. Two ways to choose scale and zero:
//  - round-to-nearest (RTN): GPTQ's own quantizer (IST-DASLab/gptq quant.py, Quantizer with
//    sym=False) on each group, without GPTQ's error feedback: the baseline GPTQ and AWQ are judged
//    against;
//  - HQQ (Badri and Shaji, 2023; mobiusml/hqq core/quantize.py and optimize.py at e0b1d00): min/max
//    scale, then the zero point optimised by half-quadratic splitting, calibration-free.
namespace quantlens::core {

// GPTQ's quantizer (quant.py: find_params with sym=False, and quantize) on one group of one row, from
// the group's range [xmin, xmax] already widened to hold 0: both 0 become [-1, 1], scale = (xmax -
// xmin) / (2^b - 1), zero = round(-xmin / scale) (half to even, as torch.round).
struct IntGroupParameters {
    float scale = 1.0f;
    float zero = 0.0f;
    float maxq = 15.0f;
    // clamp(round(x / scale) + zero, 0, maxq)
    float code(float x) const;
};
IntGroupParameters gptqGroupParameters(float xmin, float xmax, int bits);

// RTN, GPTQ's quantizer: per group, xmin = min(min(x), 0), xmax = max(max(x), 0) (both 0: -1, +1),
// scale = (xmax - xmin) / (2^b - 1), zero = round(-xmin / scale), q = clamp(round(x / scale) + zero,
// 0, 2^b - 1). The checkpoint (GPTQ's layout) stores the scale in fp16 and the zero as a b-bit integer,
// so the value read back is fp16(scale) * (q - zero). Groups run along each row: `rowLength` values
// per row, groups of `groupSize` columns and a shorter last group when the row is not a multiple (as
// g_idx = column / group_size gives). `in` holds whole rows.
void rtnRoundTrip(std::span<const float> in, std::span<float> out, std::uint64_t rowLength, int bits,
                  std::uint64_t groupSize);

// Its storage: b bits per value, and per group an fp16 scale and a b-bit zero point.
double rtnBitsPerParameter(std::uint64_t rows, std::uint64_t rowLength, int bits, std::uint64_t groupSize);

// HQQ as Quantizer.quantize(nbits, group_size, axis=1, optimize=True) runs it on the CPU (float32):
// the flat tensor cut into groups of `groupSize` consecutive values; per group scale = (2^b - 1) /
// (max - min) (1 when max - min <= 1e-4, at most 2e4) and zero = -min * scale; then at most 20 steps
// of optimize_weights_proximal_legacy (lp_norm 0.7, beta 10): W_q = clamp(round(W * scale + zero)),
// W_r = (W_q - zero) / scale, W_e = shrink(W - W_r), zero = mean(W_q - (W - W_e) * scale), stopping
// after the first step whose mean |W - W_r| over all groups is not below the best so far (its zero
// kept, as the reference does). Dequantized with scale and zero stored in fp16 (HQQLinear's meta):
// (W_q - fp16(zero)) * fp16(1 / scale). `in` holds whole groups; the early stop is decided over `in`.
void hqqRoundTrip(std::span<const float> in, std::span<float> out, int bits, std::uint64_t groupSize);

// b bits per value, an fp16 scale and an fp16 zero per group.
double hqqBitsPerParameter(int bits, std::uint64_t groupSize);

} // namespace quantlens::core
