#include "core/quant/gptq_pack.h"

#include "core/util/error.h"
#include "core/util/float16.h"
#include "core/util/str_cat.h"

namespace quantlens::core {

std::string gptqLayoutCannotHold(std::uint64_t rows, std::uint64_t cols, int bits, std::uint64_t groupSize)
{
    if (bits != 2 && bits != 3 && bits != 4 && bits != 8)
        return strCat("GPTQ's layout packs 2, 3, 4 or 8 bits, not ", bits);
    if (cols * std::uint64_t(bits) % 32 != 0)
        return strCat("GPTQ's layout packs the inputs into whole 32-bit words: ", cols, " inputs of ", bits,
                      " bits are not");
    if (rows * std::uint64_t(bits) % 32 != 0)
        return strCat("GPTQ's layout packs the zero points of the outputs into whole 32-bit words: ", rows,
                      " outputs of ", bits, " bits are not");
    if (groupSize != 0 && cols % groupSize != 0)
        return strCat("GPTQ's layout needs whole groups: ", cols, " inputs are not a multiple of the group size ",
                      groupSize);
    return {};
}

std::vector<std::uint32_t> packBitStream(std::span<const std::uint32_t> values, int bits)
{
    std::vector<std::uint32_t> words((values.size() * std::uint64_t(bits) + 31) / 32, 0u);
    for (std::size_t i = 0; i < values.size(); ++i) {
        const std::uint64_t bit = i * std::uint64_t(bits);
        const std::uint64_t word = bit / 32, shift = bit % 32;
        words[word] |= values[i] << shift;
        if (shift + std::uint64_t(bits) > 32)
            words[word + 1] |= values[i] >> (32 - shift);
    }
    return words;
}

std::uint32_t unpackBitStream(std::span<const std::uint32_t> words, int bits, std::uint64_t index)
{
    const std::uint64_t bit = index * std::uint64_t(bits);
    const std::uint64_t word = bit / 32, shift = bit % 32;
    std::uint64_t value = words[word] >> shift;
    if (shift + std::uint64_t(bits) > 32)
        value |= std::uint64_t(words[word + 1]) << (32 - shift);
    return std::uint32_t(value & ((1u << bits) - 1u));
}

GptqPacked packGptq(const GptqCodes& c, int bits, std::uint64_t groupSize)
{
    if (const auto why = gptqLayoutCannotHold(c.rows, c.cols, bits, groupSize); !why.empty())
        throw UsageError(why);
    const std::uint64_t group = groupSize == 0 ? c.cols : groupSize;
    if (c.codes.size() != c.rows * c.cols || c.groups != c.cols / group || c.scales.size() != c.groups * c.rows
        || c.zeros.size() != c.scales.size())
        throw UsageError(
            strCat("gptq pack: codes for ", c.rows, " x ", c.cols, " in ", c.groups, " groups do not add up"));
    GptqPacked p;
    const std::uint64_t wordsPerColumn = c.cols * std::uint64_t(bits) / 32;
    p.qweight.assign(wordsPerColumn * c.rows, 0);
    std::vector<std::uint32_t> column(c.cols);
    for (std::uint64_t n = 0; n < c.rows; ++n) {
        for (std::uint64_t k = 0; k < c.cols; ++k)
            column[k] = c.codes[n * c.cols + k];
        const auto words = packBitStream(column, bits);
        for (std::uint64_t w = 0; w < wordsPerColumn; ++w)
            p.qweight[w * c.rows + n] = std::int32_t(words[w]);
    }
    const std::uint64_t zeroWords = c.rows * std::uint64_t(bits) / 32;
    p.qzeros.reserve(c.groups * zeroWords);
    std::vector<std::uint32_t> zeros(c.rows);
    for (std::uint64_t g = 0; g < c.groups; ++g) {
        for (std::uint64_t n = 0; n < c.rows; ++n) {
            const float z = c.zeros[g * c.rows + n];
            if (z < 1.0f)
                throw UsageError(strCat("output ", n, ", group ", g,
                                        ": the weights are all >= 0, so the zero point is 0, which GPTQ's v1 layout "
                                        "(zero - 1 stored unsigned) cannot hold"));
            zeros[n] = std::uint32_t(z) - 1u;
        }
        for (const auto word : packBitStream(zeros, bits))
            p.qzeros.push_back(std::int32_t(word));
    }
    p.scales.resize(c.scales.size());
    for (std::size_t i = 0; i < c.scales.size(); ++i)
        p.scales[i] = floatToFp16(c.scales[i]);
    p.gIdx.resize(c.cols);
    for (std::uint64_t k = 0; k < c.cols; ++k)
        p.gIdx[k] = std::int32_t(k / group);
    return p;
}

} // namespace quantlens::core
