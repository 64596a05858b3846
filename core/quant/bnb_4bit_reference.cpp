#include "core/quant/bnb_4bit.h"

#include "core/quant/bnb_dynamic8.h"
#include "core/quant/bnb_tables.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

// The scalar reference of bitsandbytes' 4-bit quantization: one loop per block, in the order of
// csrc/kernels.cu kQuantizeBlockwise<T, BLOCK_SIZE, NUM_PER_TH, STOCHASTIC=0, DATA_TYPE=NF4|FP4>
// (bitsandbytes-foundation/bitsandbytes at 95f9af3). The optimised path in bnb_4bit.cpp must give
// the same bytes; tests/core/nf4_test.cpp and fp4_test.cpp compare them with ==.
namespace quantlens::core {

namespace {

std::uint8_t quantizeValue(FourBitType type, float x)
{
    return type == FourBitType::Nf4 ? quantizeNf4Value(x) : quantizeFp4Value(x);
}

} // namespace

Bnb4BitTensor quantize4bitReference(std::span<const float> in, const Bnb4BitOptions& options)
{
    checkBnbBlocksize(options.blocksize);
    Bnb4BitTensor result;
    result.options = options;
    result.elements = in.size();
    result.packed.assign((in.size() + 1) / 2, 0);
    result.absmax.resize(result.blockCount());

    for (std::uint64_t b = 0; b < result.absmax.size(); ++b) {
        const std::uint64_t begin = b * options.blocksize;
        const std::uint64_t end = std::min<std::uint64_t>(begin + options.blocksize, in.size());
        // local_abs_max starts at -FLT_MAX and takes fmaxf(local, fabsf(x)) over the block's loads;
        // the kernel loads the items past the end as 0, so a partial last block counts zeros too
        // (all-NaN there: absmax 0, where a whole all-NaN block keeps -FLT_MAX).
        float absmax = end - begin < options.blocksize ? 0.0f : -FLT_MAX;
        for (std::uint64_t i = begin; i < end; ++i)
            absmax = std::fmax(absmax, std::fabs(in[i]));
        result.absmax[b] = absmax;
        // A multiply by the rounded reciprocal, not a division. For an all-zero block this is +inf
        // and 0 * inf is NaN, which every threshold comparison rejects: code 0.
        const float inverse = 1.0f / absmax;
        for (std::uint64_t i = begin; i < end; ++i) {
            const std::uint8_t q = quantizeValue(options.type, in[i] * inverse);
            if (i % 2 == 0)
                result.packed[i / 2] = static_cast<std::uint8_t>(q << 4);
            else
                result.packed[i / 2] |= q;
        }
        // An odd length: the kernel loads the missing element as 0 and quantizes it into the low
        // nibble of the last byte (NF4: code 7; FP4: code 0; NaN path: code 0).
        if (end == in.size() && in.size() % 2 == 1)
            result.packed.back() |= quantizeValue(options.type, 0.0f * inverse);
    }

    if (options.doubleQuant) {
        // quantize_4bit(compress_statistics=True): offset = absmax.mean(); quantize_blockwise(absmax -
        // offset, blocksize=256) with the default dynamic map.
        DoubleQuantState state;
        state.offset = doubleQuantOffset(result.absmax);
        std::vector<float> centred(result.absmax.size());
        for (std::size_t i = 0; i < centred.size(); ++i)
            centred[i] = result.absmax[i] - state.offset;
        state.absmaxCodes.resize(centred.size());
        state.nestedAbsmax.resize((centred.size() + kNestedBlocksize - 1) / kNestedBlocksize);
        quantizeBlockwiseDynamicReference(centred, kNestedBlocksize, kDynamicCode, state.absmaxCodes,
                                          state.nestedAbsmax);
        result.doubleQuant = std::move(state);
    }
    return result;
}

void dequantize4bitReference(const Bnb4BitTensor& tensor, std::span<float> out)
{
    const std::vector<float> absmax = tensor.dequantizationAbsmax();
    const float* code = fourBitCode(tensor.options.type);
    if (out.size() != tensor.elements)
        throw UsageError(strCat("4-bit dequantization of ", tensor.elements, " values into ", out.size(), " outputs"));
    for (std::uint64_t i = 0; i < out.size(); ++i) {
        const std::uint8_t byte = tensor.packed[i / 2];
        const std::uint8_t q = i % 2 == 0 ? byte >> 4 : byte & 0x0f;
        out[i] = code[q] * absmax[i / tensor.options.blocksize];
    }
}

} // namespace quantlens::core
