#include "core/quant/bnb_dynamic8.h"

#include "core/quant/block_parallel.h"
#include "core/quant/bnb_tables.h"
#include "core/simd/kernels.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace quantlens::core {

namespace {

void checkSpans(std::span<const float> in, std::uint32_t blocksize, std::span<const float> code,
                std::span<const std::uint8_t> codes, std::span<const float> absmax)
{
    checkDynamic8Blocksize(blocksize);
    const std::uint64_t blocks = (in.size() + blocksize - 1) / blocksize;
    if (code.size() != 256)
        throw UsageError(strCat("the 8-bit code map has ", code.size(), " entries, expected 256"));
    if (codes.size() != in.size() || absmax.size() != blocks)
        throw UsageError(strCat("8-bit blockwise quantization of ", in.size(), " values with blocksize ", blocksize,
                                " needs ", in.size(), " codes and ", blocks, " absmax, got ", codes.size(), " and ",
                                absmax.size()));
}

// kQuantizeBlockwise's reduction: fmaxf from -FLT_MAX over the block's loads (NaN ignored). The
// kernel loads the items past the end as 0, so a partial last block (shorter than `blocksize`)
// counts zeros too: all-NaN there gives 0, a whole all-NaN block -FLT_MAX.
float blockAbsmax(std::span<const float> block, std::uint32_t blocksize)
{
    float result = block.size() < blocksize ? 0.0f : -FLT_MAX;
    for (float x : block)
        result = std::fmax(result, std::fabs(x));
    return result;
}

} // namespace

void checkDynamic8Blocksize(std::uint32_t blocksize)
{
    if (blocksize < 32 || blocksize > 4096 || (blocksize & (blocksize - 1)) != 0)
        throw UsageError(
            strCat("8-bit blockwise blocksize ", blocksize, " is not supported: use a power of two from 32 to 4096"));
}

void quantizeBlockwiseDynamicReference(std::span<const float> in, std::uint32_t blocksize, std::span<const float> code,
                                       std::span<std::uint8_t> codes, std::span<float> absmax)
{
    checkSpans(in, blocksize, code, codes, absmax);
    for (std::uint64_t b = 0; b < absmax.size(); ++b) {
        const std::uint64_t begin = b * blocksize;
        const std::uint64_t end = std::min<std::uint64_t>(begin + blocksize, in.size());
        const float blockMax = blockAbsmax(in.subspan(begin, end - begin), blocksize);
        absmax[b] = blockMax;
        const float inverse = 1.0f / blockMax;
        for (std::uint64_t i = begin; i < end; ++i)
            codes[i] = quantizeDynamicValue(code.data(), in[i] * inverse);
    }
}

void quantizeBlockwiseDynamic(std::span<const float> in, std::uint32_t blocksize, std::span<const float> code,
                              std::span<std::uint8_t> codes, std::span<float> absmax, unsigned threads)
{
    checkSpans(in, blocksize, code, codes, absmax);
    const kernels::Kernels& kernel = kernels::kernels();
    forEachBlockRange(absmax.size(), threads, [&](std::uint64_t firstBlock, std::uint64_t endBlock) {
        for (std::uint64_t b = firstBlock; b < endBlock; ++b) {
            const std::uint64_t begin = b * blocksize;
            const std::uint64_t end = std::min<std::uint64_t>(begin + blocksize, in.size());
            const float blockMax = blockAbsmax(in.subspan(begin, end - begin), blocksize);
            absmax[b] = blockMax;
            // dQuantize<0> with the search written without branches, a register at a time
            // (core/simd/kernels.h): the same comparisons on the same pivots, then the same midpoint rule.
            kernel.quantizeDynamic8(code.data(), in.data() + begin, end - begin, 1.0f / blockMax, codes.data() + begin);
        }
    });
}

void dequantizeBlockwiseDynamic(std::span<const std::uint8_t> codes, std::span<const float> absmax,
                                std::uint32_t blocksize, std::span<const float> code, std::span<float> out)
{
    checkDynamic8Blocksize(blocksize);
    const std::uint64_t blocks = (codes.size() + blocksize - 1) / blocksize;
    if (code.size() != 256 || absmax.size() < blocks || out.size() != codes.size())
        throw UsageError(strCat("8-bit blockwise dequantization of ", codes.size(), " codes needs ", blocks,
                                " absmax, a 256-entry map and as many outputs; got ", absmax.size(), ", ", code.size(),
                                " and ", out.size()));
    const kernels::Kernels& kernel = kernels::kernels();
    for (std::uint64_t begin = 0; begin < codes.size(); begin += blocksize) {
        const std::uint64_t n = std::min<std::uint64_t>(blocksize, codes.size() - begin);
        kernel.dequantizeDynamic8(code.data(), codes.data() + begin, n, absmax[begin / blocksize], out.data() + begin);
    }
}

Dynamic8Tensor quantizeDynamic8(std::span<const float> in, std::uint32_t blocksize, unsigned threads)
{
    checkDynamic8Blocksize(blocksize);
    Dynamic8Tensor result;
    result.blocksize = blocksize;
    result.codes.resize(in.size());
    result.absmax.resize((in.size() + blocksize - 1) / blocksize);
    quantizeBlockwiseDynamic(in, blocksize, kDynamicCode, result.codes, result.absmax, threads);
    return result;
}

Dynamic8Tensor quantizeDynamic8Reference(std::span<const float> in, std::uint32_t blocksize)
{
    checkDynamic8Blocksize(blocksize);
    Dynamic8Tensor result;
    result.blocksize = blocksize;
    result.codes.resize(in.size());
    result.absmax.resize((in.size() + blocksize - 1) / blocksize);
    quantizeBlockwiseDynamicReference(in, blocksize, kDynamicCode, result.codes, result.absmax);
    return result;
}

void dequantizeDynamic8(const Dynamic8Tensor& tensor, std::span<float> out)
{
    dequantizeBlockwiseDynamic(tensor.codes, tensor.absmax, tensor.blocksize, kDynamicCode, out);
}

double dynamic8BitsPerParameter(std::uint32_t blocksize, std::uint64_t elements)
{
    if (elements == 0)
        return 0.0;
    const std::uint64_t blocks = (elements + blocksize - 1) / blocksize;
    return static_cast<double>(elements * 8 + blocks * 32) / static_cast<double>(elements);
}

} // namespace quantlens::core
