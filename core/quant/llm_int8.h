#pragma once

#include <cstdint>
#include <span>
#include <vector>

// LLM.int8 vector-wise quantization (Dettmers et al. 2022) as bitsandbytes applies it to a
// [rows, cols] matrix: columns holding any |value| >= the outlier threshold (6.0) stay in 16-bit;
// every other value is quantized per row, q = rint(x * (127 / absmax_row)) with absmax_row over
// the non-outlier columns, and dequantized (q * absmax_row) * (1 / 127). Ported from
// bitsandbytes-foundation/bitsandbytes: bitsandbytes/functional.py int8_vectorwise_quant (outlier
// columns zeroed before the row statistics) and int8_vectorwise_dequant; csrc/kernels.cu
// kInt8VectorQuant. Stored weights (Int8Params) are quantized with threshold 0, every value in
// int8: the threshold splits activations, not weights (the scheme "llm-int8" and `quantize`).
namespace quantlens::core {

inline constexpr float kLlmInt8Threshold = 6.0f;

struct LlmInt8Tensor {
    std::uint64_t rows = 0;
    std::uint64_t cols = 0;
    float threshold = kLlmInt8Threshold;
    std::vector<std::int8_t> codes; // rows * cols; 0 in outlier columns
    std::vector<float> rowAbsmax; // SCB: one per row, over the non-outlier columns
    std::vector<std::uint8_t> outlierColumn; // one flag per column
    std::vector<std::uint16_t> outliers; // fp16 bits of the outlier columns, row-major [rows, outlierColumns]
    std::uint64_t outlierColumns = 0;
    std::uint64_t outlierValues = 0; // values with |x| >= threshold

    // The 16-bit outlier columns: fp16 per value, plus the int8 matrix and one fp32 per row.
    double bitsPerParameter() const;
};

// Which columns hold an outlier: the per-column max |x| of a [rows, cols] matrix (for a
// streaming first pass: merge with max).
std::vector<float> columnAbsmax(std::span<const float> in, std::uint64_t cols);

// threshold <= 0 disables the outlier split (plain row-wise absmax int8). Rows run on `threads`
// threads (0: all cores); the result equals the reference's.
LlmInt8Tensor quantizeLlmInt8(std::span<const float> in, std::uint64_t cols, float threshold = kLlmInt8Threshold,
                              unsigned threads = 1);
// Rows given the outlier columns found over the whole matrix (columnMax from columnAbsmax).
LlmInt8Tensor quantizeLlmInt8Rows(std::span<const float> in, std::uint64_t cols, float threshold,
                                  std::span<const float> columnMax, unsigned threads = 1);
// The scalar reference: one row after the other, as int8_vectorwise_quant reads.
LlmInt8Tensor quantizeLlmInt8RowsReference(std::span<const float> in, std::uint64_t cols, float threshold,
                                           std::span<const float> columnMax);
void dequantizeLlmInt8(const LlmInt8Tensor& tensor, std::span<float> out);

} // namespace quantlens::core
