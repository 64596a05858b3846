#pragma once

#include "core/model/tensor_info.h"

#include <cstddef>
#include <span>

// Dequantization of ggml's block formats to float, bit for bit as ggml-org/ggml
// src/ggml-quants.c dequantize_row_* (and ggml_fp16_to_fp32 / ggml_bf16_to_fp32 for the plain
// types). Pure functions over spans: thread-safe, no allocation.
namespace quantlens::core {

// Decodes `out.size()` weights of `type` from `blocks`. out.size() must be a multiple of the type's
// block elements and blocks.size() exactly the bytes they take (quantlens::Error otherwise, naming
// both sizes). Throws UnsupportedError naming the type for IQ*, TQ*, MXFP4 and non-ggml dtypes.
void dequantizeGgml(DType type, std::span<const std::byte> blocks, std::span<float> out);

// One function per format, named after ggml's dequantize_row_*; same size contract as above.
void dequantizeRowF32(std::span<const std::byte> blocks, std::span<float> out);
void dequantizeRowF16(std::span<const std::byte> blocks, std::span<float> out);
void dequantizeRowBf16(std::span<const std::byte> blocks, std::span<float> out);
void dequantizeRowQ4_0(std::span<const std::byte> blocks, std::span<float> out);
void dequantizeRowQ4_1(std::span<const std::byte> blocks, std::span<float> out);
void dequantizeRowQ5_0(std::span<const std::byte> blocks, std::span<float> out);
void dequantizeRowQ5_1(std::span<const std::byte> blocks, std::span<float> out);
void dequantizeRowQ8_0(std::span<const std::byte> blocks, std::span<float> out);
void dequantizeRowQ2K(std::span<const std::byte> blocks, std::span<float> out);
void dequantizeRowQ3K(std::span<const std::byte> blocks, std::span<float> out);
void dequantizeRowQ4K(std::span<const std::byte> blocks, std::span<float> out);
void dequantizeRowQ5K(std::span<const std::byte> blocks, std::span<float> out);
void dequantizeRowQ6K(std::span<const std::byte> blocks, std::span<float> out);
void dequantizeRowQ8K(std::span<const std::byte> blocks, std::span<float> out);

// The plain scalar loops, kept as the truth the optimised paths above are tested against
// (ggml_dequantize_test.cpp). Same contract as dequantizeGgml.
void dequantizeGgmlReference(DType type, std::span<const std::byte> blocks, std::span<float> out);

} // namespace quantlens::core
