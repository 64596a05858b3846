#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

// bitsandbytes 4-bit blockwise quantization (NF4 and FP4), with and without double quantization
// of the absmax constants, reproducing bitsandbytes' CUDA kernels bit for bit.
//
// Ported from bitsandbytes-foundation/bitsandbytes at 95f9af3: csrc/kernels.cu kQuantizeBlockwise
// (absmax per block in fp32, multiply by the fp32 reciprocal 1.0f / absmax, first element in the
// high nibble, (n + 1) / 2 bytes) and kDequantizeBlockwise (code[q] * absmax in fp32);
// bitsandbytes/functional.py quantize_4bit (compress_statistics: offset = absmax.mean(),
// quantize_blockwise(absmax - offset, blocksize=256)) and dequantize_4bit. The golden vectors in
// tests/data/bnb-vectors decide every edge case; see docs/quantization.md.
//
// Inputs are fp32 spans: fp16 and bf16 inputs convert to fp32 exactly, as bitsandbytes does
// before it quantizes. Outputs are fp32; cast with floatToFp16/floatToBf16 (core/util/float16.h)
// to get bitsandbytes' fp16/bf16 output, which is the fp32 value rounded to nearest even.
namespace quantlens::core {

enum class FourBitType : std::uint8_t { Nf4, Fp4 };

// The 16 code values of a type (kNf4Code or kFp4Code of core/quant/bnb_tables.h).
const float* fourBitCode(FourBitType type);

// Double quantization quantizes the 4-bit blocks' absmax in groups of this many.
inline constexpr std::uint32_t kNestedBlocksize = 256;

// Throws UsageError naming the value unless it is one of bitsandbytes' blocksizes for 4-bit
// quantization: 32, 64, 128, ..., 4096.
void checkBnbBlocksize(std::uint32_t blocksize);

struct Bnb4BitOptions {
    FourBitType type = FourBitType::Nf4;
    std::uint32_t blocksize = 64; // QLoRA's choice for weights
    bool doubleQuant = false; // bitsandbytes' compress_statistics
};

// The second level of double quantization: the absmax of each 4-bit block minus `offset`,
// quantized with the 8-bit dynamic map (kDynamicCode) in groups of kNestedBlocksize blocks.
struct DoubleQuantState {
    std::vector<std::uint8_t> absmaxCodes; // one per 4-bit block (quant_state.absmax)
    std::vector<float> nestedAbsmax; // one per kNestedBlocksize blocks (quant_state.state2.absmax)
    float offset = 0.0f; // mean of the raw absmax (quant_state.offset)
};

struct Bnb4BitTensor {
    Bnb4BitOptions options;
    std::uint64_t elements = 0;
    std::vector<std::uint8_t> packed; // (elements + 1) / 2 bytes; element 2i in the HIGH nibble of byte i
    std::vector<float> absmax; // per block, before double quantization
    std::optional<DoubleQuantState> doubleQuant; // present when options.doubleQuant

    std::uint64_t blockCount() const { return (elements + options.blocksize - 1) / options.blocksize; }
    // The absmax that dequantization uses: `absmax`, or its double-quantized reconstruction.
    std::vector<float> dequantizationAbsmax() const;
};

// The offset double quantization subtracts: the mean of the block absmax, summed in double and
// rounded once to fp32. bitsandbytes takes the mean on the GPU, which differs from this by at most
// one ulp (tests/data/bnb-vectors/README.md).
float doubleQuantOffset(std::span<const float> absmax);

// Double quantization of given block absmax with a given offset (so that tests can feed
// bitsandbytes' own offset), and its inverse: dynamicCode[q] * nestedAbsmax[b / 256] + offset, in
// fp32 in that order, as dequantize_blockwise followed by `absmax += offset`.
DoubleQuantState doubleQuantize(std::span<const float> absmax, float offset);
void doubleDequantize(std::span<const std::uint8_t> absmaxCodes, std::span<const float> nestedAbsmax, float offset,
                      std::span<float> absmax);

// Optimised path: SIMD lanes and `threads` worker threads (0: all cores), identical bytes to the
// reference below.
Bnb4BitTensor quantize4bit(std::span<const float> in, const Bnb4BitOptions& options, unsigned threads = 1);
void dequantize4bit(const Bnb4BitTensor& tensor, std::span<float> out, unsigned threads = 1);

// Scalar reference: one loop per block, written to be read next to kQuantizeBlockwise.
Bnb4BitTensor quantize4bitReference(std::span<const float> in, const Bnb4BitOptions& options);
void dequantize4bitReference(const Bnb4BitTensor& tensor, std::span<float> out);

// A stored 4-bit tensor as a checkpoint holds it (transformers/bitsandbytes layout): the packed
// bytes and either per-block fp32 absmax or the double-quantization triple. Spans point into the
// caller's buffers (a mapped file, say).
struct Bnb4BitStorage {
    FourBitType type = FourBitType::Nf4;
    std::uint32_t blocksize = 64;
    std::uint64_t elements = 0;
    std::span<const std::uint8_t> packed; // (elements + 1) / 2 bytes
    std::span<const float> absmax; // per block; empty when double-quantized
    std::span<const std::uint8_t> absmaxCodes; // per block, double quantization
    std::span<const float> nestedAbsmax; // per kNestedBlocksize blocks, double quantization
    std::span<const float> nestedCode; // the 256-entry map stored with the tensor; empty: kDynamicCode
    float offset = 0.0f;
};

// Dequantizes elements [first, first + out.size()) of a stored tensor into out (fp32), exactly as
// dequantize_4bit would. Throws UsageError when the range runs past the tensor and FormatError
// (field "absmax", "packed", ...) when the storage spans are too short for `elements`.
void dequantize4bitRange(const Bnb4BitStorage& storage, std::uint64_t first, std::span<float> out);

// Storage cost in bits per parameter of a tensor of `elements` values: the packed nibbles, the
// block absmax (fp32, or uint8 codes plus fp32 nested absmax per 256 blocks, the fp32 offset and the
// 256-entry fp32 nested map) and the 16-entry fp32 quant_map a checkpoint stores per tensor.
double bnb4BitBitsPerParameter(const Bnb4BitOptions& options, std::uint64_t elements);

} // namespace quantlens::core
