#include "core/quant/bnb_4bit.h"

#include "core/quant/block_parallel.h"
#include "core/quant/bnb_dynamic8.h"
#include "core/quant/bnb_tables.h"
#include "core/simd/kernels.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>

// The optimised 4-bit path and the functions both paths share. The reference loop is in
// bnb_4bit_reference.cpp; this file must give its bytes exactly.
//
// Speed comes from three things that do not change a single result: the decision trees become
// "count the thresholds x is above" (the thresholds ascend and the tree's comparisons are strict,
// so the count is the tree's leaf, and NaN counts 0 as the tree gives code 0), computed a register
// at a time by core/simd's kernels on the instruction set chosen at start-up; the block absmax is a max over the
// magnitude bits as integers (the same order for non-NaN floats; a block holding a NaN falls back to fmaxf); and
// dequantization scales the 16 codes once per block, which is the same fp32 product per element
// (and AVX-512 looks 16 of them up at once with one permute).
namespace quantlens::core {

namespace {

constexpr std::uint32_t kMaxBlocksize = 4096;

void quantizeBlocks(FourBitType fourBitType, std::span<const float> in, std::uint32_t blocksize,
                    std::uint64_t firstBlock, std::uint64_t endBlock, std::uint8_t* packed, float* absmax)
{
    const kernels::Kernels& k = kernels::kernels();
    const int type = fourBitType == FourBitType::Nf4 ? 0 : 1;
    const std::uint64_t whole = std::min<std::uint64_t>(endBlock, in.size() / blocksize);
    if (whole > firstBlock)
        k.quantize4bit(type, in.data() + firstBlock * blocksize, whole - firstBlock, blocksize,
                       packed + firstBlock * blocksize / 2, absmax + firstBlock);
    for (std::uint64_t b = std::max(whole, firstBlock); b < endBlock; ++b) {
        const std::uint64_t begin = b * blocksize;
        const std::uint64_t valid = in.size() - begin;
        // The partial last block, padded with zeros as the kernel's load pads it: zeros change
        // neither the absmax nor the valid codes, and the odd element's partner is quantized 0.
        // The kernel pads up to the whole block, so its max counts a zero even when `valid` is a
        // multiple of 8 and no zero lands in `tail` (all-NaN there: 0, not -FLT_MAX; the codes of
        // NaN are 0 whatever the scale).
        alignas(64) float tail[kMaxBlocksize];
        alignas(64) std::uint8_t tailPacked[kMaxBlocksize / 2];
        const std::uint32_t padded = static_cast<std::uint32_t>((valid + 7) / 8 * 8);
        std::fill(tail, tail + padded, 0.0f);
        std::copy_n(in.data() + begin, valid, tail);
        k.quantize4bit(type, tail, 1, padded, tailPacked, absmax + b);
        absmax[b] = std::fmax(0.0f, absmax[b]);
        std::copy_n(tailPacked, (valid + 1) / 2, packed + begin / 2);
    }
}

void checkStorage(const Bnb4BitStorage& s)
{
    checkBnbBlocksize(s.blocksize);
    const std::uint64_t blocks = (s.elements + s.blocksize - 1) / s.blocksize;
    const auto fail = [&](const std::string& field, std::uint64_t expected, std::uint64_t found) {
        throw FormatError(ErrorLocation {"", std::nullopt, field, strCat(expected, " entries"), strCat(found)},
                          strCat("bitsandbytes 4-bit tensor of ", s.elements, " values, blocksize ", s.blocksize,
                                 ", has too few ", field, " entries"));
    };
    if (s.packed.size() < (s.elements + 1) / 2)
        fail("packed", (s.elements + 1) / 2, s.packed.size());
    if (s.absmaxCodes.empty()) {
        if (s.absmax.size() < blocks)
            fail("absmax", blocks, s.absmax.size());
        return;
    }
    if (s.absmaxCodes.size() < blocks)
        fail("absmax", blocks, s.absmaxCodes.size());
    const std::uint64_t nested = (blocks + kNestedBlocksize - 1) / kNestedBlocksize;
    if (s.nestedAbsmax.size() < nested)
        fail("nested_absmax", nested, s.nestedAbsmax.size());
    if (!s.nestedCode.empty() && s.nestedCode.size() != 256)
        fail("nested_quant_map", 256, s.nestedCode.size());
}

} // namespace

const float* fourBitCode(FourBitType type)
{
    return type == FourBitType::Nf4 ? kNf4Code : kFp4Code;
}

void checkBnbBlocksize(std::uint32_t blocksize)
{
    if (blocksize < 32 || blocksize > kMaxBlocksize || (blocksize & (blocksize - 1)) != 0)
        throw UsageError(strCat("4-bit blocksize ", blocksize,
                                " is not supported: bitsandbytes accepts 32, 64, 128, 256, 512, 1024, 2048, 4096"));
}

std::vector<float> Bnb4BitTensor::dequantizationAbsmax() const
{
    if (!doubleQuant)
        return absmax;
    std::vector<float> result(doubleQuant->absmaxCodes.size());
    doubleDequantize(doubleQuant->absmaxCodes, doubleQuant->nestedAbsmax, doubleQuant->offset, result);
    return result;
}

float doubleQuantOffset(std::span<const float> absmax)
{
    if (absmax.empty())
        return 0.0f;
    double sum = 0.0;
    for (float a : absmax)
        sum += a;
    return static_cast<float>(sum / static_cast<double>(absmax.size()));
}

DoubleQuantState doubleQuantize(std::span<const float> absmax, float offset)
{
    DoubleQuantState state;
    state.offset = offset;
    std::vector<float> centred(absmax.size());
    for (std::size_t i = 0; i < centred.size(); ++i)
        centred[i] = absmax[i] - offset;
    state.absmaxCodes.resize(centred.size());
    state.nestedAbsmax.resize((centred.size() + kNestedBlocksize - 1) / kNestedBlocksize);
    quantizeBlockwiseDynamic(centred, kNestedBlocksize, kDynamicCode, state.absmaxCodes, state.nestedAbsmax);
    return state;
}

void doubleDequantize(std::span<const std::uint8_t> absmaxCodes, std::span<const float> nestedAbsmax, float offset,
                      std::span<float> absmax)
{
    dequantizeBlockwiseDynamic(absmaxCodes, nestedAbsmax, kNestedBlocksize, kDynamicCode, absmax);
    for (float& a : absmax)
        a += offset; // a separate fp32 add, as `absmax += offset` in dequantize_4bit
}

Bnb4BitTensor quantize4bit(std::span<const float> in, const Bnb4BitOptions& options, unsigned threads)
{
    checkBnbBlocksize(options.blocksize);
    Bnb4BitTensor result;
    result.options = options;
    result.elements = in.size();
    result.packed.resize((in.size() + 1) / 2);
    result.absmax.resize(result.blockCount());
    forEachBlockRange(result.absmax.size(), threads, [&](std::uint64_t firstBlock, std::uint64_t endBlock) {
        quantizeBlocks(options.type, in, options.blocksize, firstBlock, endBlock, result.packed.data(),
                       result.absmax.data());
    });
    if (options.doubleQuant)
        result.doubleQuant = doubleQuantize(result.absmax, doubleQuantOffset(result.absmax));
    return result;
}

void dequantize4bit(const Bnb4BitTensor& tensor, std::span<float> out, unsigned threads)
{
    if (out.size() != tensor.elements)
        throw UsageError(strCat("4-bit dequantization of ", tensor.elements, " values into ", out.size(), " outputs"));
    const std::vector<float> absmax = tensor.dequantizationAbsmax();
    Bnb4BitStorage storage;
    storage.type = tensor.options.type;
    storage.blocksize = tensor.options.blocksize;
    storage.elements = tensor.elements;
    storage.packed = tensor.packed;
    storage.absmax = absmax;
    forEachBlockRange(tensor.blockCount(), threads, [&](std::uint64_t firstBlock, std::uint64_t endBlock) {
        const std::uint64_t begin = firstBlock * storage.blocksize;
        const std::uint64_t end = std::min<std::uint64_t>(endBlock * storage.blocksize, tensor.elements);
        dequantize4bitRange(storage, begin, out.subspan(begin, end - begin));
    });
}

void dequantize4bitRange(const Bnb4BitStorage& storage, std::uint64_t first, std::span<float> out)
{
    checkStorage(storage);
    if (first > storage.elements || out.size() > storage.elements - first)
        throw UsageError(strCat("elements [", first, ", ", first + out.size(),
                                ") are past the end of a 4-bit tensor of ", storage.elements, " values"));
    const std::uint32_t blocksize = storage.blocksize;
    const float* code = fourBitCode(storage.type);
    const float* nestedCode = storage.nestedCode.empty() ? kDynamicCode : storage.nestedCode.data();
    const auto dequantizePairs = kernels::kernels().dequantize4bit;
    std::uint64_t i = first;
    const std::uint64_t end = first + out.size();
    float* o = out.data();
    while (i < end) {
        const std::uint64_t block = i / blocksize;
        float absmax;
        if (storage.absmaxCodes.empty()) {
            absmax = storage.absmax[block];
        } else {
            const float scaled
                = nestedCode[storage.absmaxCodes[block]] * storage.nestedAbsmax[block / kNestedBlocksize];
            absmax = scaled + storage.offset;
        }
        float scaledCode[16];
        for (int q = 0; q < 16; ++q)
            scaledCode[q] = code[q] * absmax;
        const std::uint64_t blockEnd = std::min<std::uint64_t>((block + 1) * blocksize, end);
        if (i % 2 == 1 && i < blockEnd) // a range that starts on a low nibble
            *o++ = scaledCode[storage.packed[i++ / 2] & 0x0f];
        const std::uint64_t pairs = (blockEnd - i) / 2;
        dequantizePairs(scaledCode, storage.packed.data() + i / 2, pairs, o);
        o += 2 * pairs;
        i += 2 * pairs;
        if (i < blockEnd) // the range ends on a high nibble
            *o++ = scaledCode[storage.packed[i++ / 2] >> 4];
    }
}

double bnb4BitBitsPerParameter(const Bnb4BitOptions& options, std::uint64_t elements)
{
    if (elements == 0)
        return 0.0;
    const std::uint64_t blocks = (elements + options.blocksize - 1) / options.blocksize;
    std::uint64_t bits = (elements + 1) / 2 * 8 + 16 * 32; // nibbles, quant_map
    if (options.doubleQuant)
        bits += blocks * 8 + (blocks + kNestedBlocksize - 1) / kNestedBlocksize * 32 + 32 + 256 * 32;
    else
        bits += blocks * 32;
    return static_cast<double>(bits) / static_cast<double>(elements);
}

} // namespace quantlens::core
