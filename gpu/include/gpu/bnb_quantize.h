#pragma once

#include "gpu/device_buffer.h"

#include <cstdint>
#include <optional>

// bitsandbytes' blockwise quantizers on the GPU, in bitsandbytes' own storage layout, giving the
// same bytes as the CPU reference (core/quant/bnb_4bit.h) and as bitsandbytes' CUDA kernels
// (tests/data/bnb-vectors). The decision trees and code tables come from core/quant/bnb_tables.h,
// which g++ and nvcc both compile. Every function takes a stream, only enqueues work and
// allocates nothing: the caller owns every buffer (allocateFourBit / allocateDynamic size them).
namespace quantlens::gpu {

enum class FloatType { F32, F16, BF16 };
std::size_t floatTypeSize(FloatType type);
const char* floatTypeName(FloatType type); // "fp32", "fp16", "bf16"

enum class FourBitType { Nf4, Fp4 };

// One tensor quantized to 4 bits: `packed` holds (numel + 1) / 2 bytes, element 2i in the HIGH
// nibble of byte i. `absmax` holds the fp32 absmax of each block. With double quantization
// (QLoRA's DQ, bitsandbytes' compress_statistics) the absmax are stored again as uint8 codes of
// (absmax - offset) in the 8-bit dynamic map with blocksize 256 (`absmaxCodes`, `nestedAbsmax`,
// `offset`), and dequantization uses those, as bitsandbytes does; `absmax` then keeps the
// statistics before DQ for inspection.
struct FourBitTensor {
    static constexpr int kNestedBlocksize = 256;

    std::int64_t numel = 0;
    int blocksize = 64;
    FourBitType type = FourBitType::Nf4;
    bool doubleQuant = false;

    DeviceBuffer packed;
    DeviceBuffer absmax; // fp32 per block
    DeviceBuffer absmaxCodes; // DQ: uint8 per block
    DeviceBuffer nestedAbsmax; // DQ: fp32 per 256 blocks
    DeviceBuffer offset; // DQ: one fp32, the mean of absmax
    DeviceBuffer scratch; // DQ: partial sums of the mean (fixed order, so the offset is reproducible)

    std::int64_t blockCount() const { return (numel + blocksize - 1) / blocksize; }
    std::int64_t packedBytes() const { return (numel + 1) / 2; }
};

// Throws UsageError unless blocksize is one bitsandbytes accepts for 4-bit (32 ... 4096, powers
// of two) and numel > 0.
FourBitTensor allocateFourBit(std::int64_t numel, int blocksize, FourBitType type, bool doubleQuant);

// bitsandbytes quantize_4bit: absmax per block, codes by the NF4/FP4 decision tree on
// x * (1 / absmax); with DQ also the nested statistics. `dqOffset`, when given, replaces the
// computed mean (to reproduce bitsandbytes' own GPU mean in tests). `input` holds numel values.
void quantize4bit(const Stream& stream, const DeviceBuffer& input, FloatType inputType, FourBitTensor& out,
                  std::optional<float> dqOffset = std::nullopt);
// bitsandbytes dequantize_4bit: code[q] * absmax in fp32, then rounded to `outputType`.
void dequantize4bit(const Stream& stream, const FourBitTensor& in, FloatType outputType, DeviceBuffer& output);

// bitsandbytes' 8-bit blockwise quantization with the signed dynamic map (quantize_blockwise):
// one uint8 code per element and one fp32 absmax per block.
struct DynamicTensor {
    std::int64_t numel = 0;
    int blocksize = 256;
    DeviceBuffer codes;
    DeviceBuffer absmax;

    std::int64_t blockCount() const { return (numel + blocksize - 1) / blocksize; }
};

// Throws UsageError unless blocksize is 64 ... 4096 (powers of two) and numel > 0.
DynamicTensor allocateDynamic(std::int64_t numel, int blocksize);
void quantizeDynamic(const Stream& stream, const DeviceBuffer& input, FloatType inputType, DynamicTensor& out);
void dequantizeDynamic(const Stream& stream, const DynamicTensor& in, FloatType outputType, DeviceBuffer& output);

} // namespace quantlens::gpu
