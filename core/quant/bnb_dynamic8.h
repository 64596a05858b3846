#pragma once

#include <cstdint>
#include <span>
#include <vector>

// bitsandbytes 8-bit blockwise "dynamic" quantization, what its 8-bit optimizers store and what
// double quantization applies to the 4-bit absmax. Ported from bitsandbytes-foundation/
// bitsandbytes at 95f9af3: csrc/kernels.cu kQuantizeBlockwise with dQuantize<0> (absmax per
// block, x * (1.0f / absmax), binary search in the signed dynamic map) and kDequantizeBlockwise
// (code[q] * absmax); bitsandbytes/functional.py quantize_blockwise / dequantize_blockwise with
// the default code create_dynamic_map(signed=True), our kDynamicCode.
namespace quantlens::core {

// Throws UsageError unless blocksize is a power of two in [32, 4096] (quantize_blockwise's
// sizes; 256 is what double quantization uses).
void checkDynamic8Blocksize(std::uint32_t blocksize);

struct Dynamic8Tensor {
    std::uint32_t blocksize = 4096; // quantize_blockwise's default
    std::vector<std::uint8_t> codes; // one per element: index into kDynamicCode
    std::vector<float> absmax; // per block
};

// Span forms, used by double quantization: codes.size() == in.size(), absmax has one entry per
// block. `code` is the 256-entry sorted map.
void quantizeBlockwiseDynamicReference(std::span<const float> in, std::uint32_t blocksize, std::span<const float> code,
                                       std::span<std::uint8_t> codes, std::span<float> absmax);
void quantizeBlockwiseDynamic(std::span<const float> in, std::uint32_t blocksize, std::span<const float> code,
                              std::span<std::uint8_t> codes, std::span<float> absmax, unsigned threads = 1);
void dequantizeBlockwiseDynamic(std::span<const std::uint8_t> codes, std::span<const float> absmax,
                                std::uint32_t blocksize, std::span<const float> code, std::span<float> out);

// With the dynamic map. The optimised path (branch-free search, threads; 0: all cores) gives the
// reference's bytes.
Dynamic8Tensor quantizeDynamic8(std::span<const float> in, std::uint32_t blocksize, unsigned threads = 1);
Dynamic8Tensor quantizeDynamic8Reference(std::span<const float> in, std::uint32_t blocksize);
void dequantizeDynamic8(const Dynamic8Tensor& tensor, std::span<float> out);

// One byte per element plus an fp32 absmax per block.
double dynamic8BitsPerParameter(std::uint32_t blocksize, std::uint64_t elements);

} // namespace quantlens::core
