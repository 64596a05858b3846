#pragma once

#include <Eigen/Core>

#include "core/quant/gptq_pack.h"

#include <cstdint>
#include <span>
#include <vector>

// GPTQ (Frantar et al., 2022), as IST-DASLab/gptq's GPTQ.fasterquant (gptq.py at 2d65066) runs it on
// one Linear weight W (rows = output channels, columns = input channels) given the Hessian of its
// layer-wise loss, H = 2/N sum x x^T over N calibration inputs x:
//  - dead inputs (H_jj = 0) get H_jj = 1 and W[:, j] = 0;
//  - optional act-order: columns in order of decreasing H_jj;
//  - dampening: H += damp * mean(diag H) * I;
//  - the upper Cholesky factor U of H^-1;
//  - columns quantized one at a time with GPTQ's quantizer (asymmetric, range holding 0, per row or
//    per group of `groupSize` columns with the group's parameters taken when its first column comes),
//    each one's error (w - q) / U_jj fed back to the columns after it in its block of `blockSize`,
//    and the block's errors to the rest in one product (lazy batch updates).
// Rows are independent: a chunk of whole rows gives the same values as the whole tensor.
namespace quantlens::core {

struct GptqOptions {
    int bits = 4;
    std::uint64_t groupSize = 128; // 0: one group per row (per channel)
    bool actOrder = false;
    double damp = 0.01; // of the mean diagonal
    std::uint64_t blockSize = 128;
};

struct GptqStats {
    double loss = 0.0; // sum over rows of GPTQ's Losses: (w - q)^2 / U_jj^2 / 2
};

// What GPTQ derives from the Hessian alone, the same for every row: the dead inputs, the column order
// (act-order) and the upper Cholesky factor U of the dampened H^-1 in that order. Computing it is the
// O(n^3) part; a chunk of rows reuses it (Calibration caches it).
struct GptqFactor {
    std::vector<char> dead; // per input channel, in the original order
    std::vector<Eigen::Index> perm; // position k quantizes input channel perm[k]
    Eigen::MatrixXf U;
};
// Throws UsageError when the dampened Hessian cannot be factored.
GptqFactor gptqFactor(const Eigen::MatrixXf& hessian, const GptqOptions& options);

// With `codes`, also what a checkpoint stores: each value's code and each group's scale and zero
// (core/quant/gptq_pack.h); not with act-order, whose groups follow the permuted columns.
GptqStats gptqQuantize(std::span<const float> w, std::uint64_t rows, std::uint64_t cols, const GptqFactor& factor,
                       const GptqOptions& options, std::span<float> out, GptqCodes* codes = nullptr);

// `w` row-major rows x cols; `hessian` cols x cols, symmetric; `out` gets what the checkpoint reads
// back: fp16(scale) * (q - zero) per group (GPTQ's layout stores scales in fp16 and b-bit zeros).
// Throws UsageError on mismatched sizes, bits outside 2..8, or a Hessian Cholesky cannot factor
// even dampened.
GptqStats gptqQuantize(std::span<const float> w, std::uint64_t rows, std::uint64_t cols, const Eigen::MatrixXf& hessian,
                       const GptqOptions& options, std::span<float> out);

} // namespace quantlens::core
