#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

// GPTQ's checkpoint layout as AutoGPTQ writes it for transformers' GPTQ integration (the v1 layout,
// quantization_config "checkpoint_format": "gptq"; auto_gptq/nn_modules/qlinear/qlinear_cuda_old.py
// at 179776b: QuantLinear.pack writes it, its forward reads it back). For a Linear weight of N
// outputs and K inputs, b bits, groups of g inputs:
//  - qweight, int32 [K b / 32, N]: column n holds the codes of W[n, 0..K) as one little-endian bit
//    stream, input k at bits k b .. k b + b - 1 of the column (a 3-bit code may straddle two words);
//  - qzeros, int32 [K / g, N b / 32]: row i holds zero - 1 of group i of every output, packed the same
//    way along the outputs (the v1 layout stores the zero point minus one and adds the one back);
//  - scales, fp16 [K / g, N];
//  - g_idx, int32 [K]: k / g.
// The weight reads back as scales[g_idx[k], n] * (code - (stored zero + 1)).
namespace quantlens::core {

// One Linear weight as GPTQ quantized it: codes 0..2^b - 1 (rows x cols, row-major) and, per group
// and row, the scale (the fp32 value the quantizer used; stored in fp16) and the integer zero point.
struct GptqCodes {
    std::uint64_t rows = 0, cols = 0, groups = 0;
    std::vector<std::uint8_t> codes;
    std::vector<float> scales; // groups x rows
    std::vector<float> zeros; // groups x rows
};

struct GptqPacked {
    std::vector<std::int32_t> qweight; // K b / 32 x N
    std::vector<std::int32_t> qzeros; // groups x N b / 32
    std::vector<std::uint16_t> scales; // groups x N, fp16 bits
    std::vector<std::int32_t> gIdx; // K
};

// Why the layout cannot hold a weight of `rows` outputs and `cols` inputs at `bits` and `groupSize`
// (0: one group per row); empty when it can. It needs b of 2, 3, 4 or 8, whole 32-bit words along
// the inputs and along the outputs (K b and N b multiples of 32), and whole groups (K a multiple of g:
// the reference's forward reshapes the weight into groups).
std::string gptqLayoutCannotHold(std::uint64_t rows, std::uint64_t cols, int bits, std::uint64_t groupSize);

// `values` (each < 2^bits) as a little-endian bit stream of 32-bit words, value i at bit i * bits.
std::vector<std::uint32_t> packBitStream(std::span<const std::uint32_t> values, int bits);
std::uint32_t unpackBitStream(std::span<const std::uint32_t> words, int bits, std::uint64_t index);

// Throws UsageError naming the cause when the layout cannot hold the weight, and when a zero point is
// 0 (a group of weights all >= 0), which the v1 layout's zero - 1 cannot store.
GptqPacked packGptq(const GptqCodes& codes, int bits, std::uint64_t groupSize);

} // namespace quantlens::core
