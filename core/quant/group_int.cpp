#include "core/quant/group_int.h"

#include "core/util/error.h"
#include "core/util/float16.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace quantlens::core {

namespace {

float toFp16(float value)
{
    return fp16ToFloat(floatToFp16(value));
}

// torch.round: half to even (the default rounding mode).
float roundEven(float value)
{
    return std::nearbyint(value);
}

} // namespace

float IntGroupParameters::code(float x) const
{
    return std::clamp(roundEven(x / scale) + zero, 0.0f, maxq);
}

IntGroupParameters gptqGroupParameters(float xmin, float xmax, int bits)
{
    if (xmin == 0.0f && xmax == 0.0f) {
        xmin = -1.0f;
        xmax = 1.0f;
    }
    IntGroupParameters p;
    p.maxq = float((1 << bits) - 1);
    p.scale = (xmax - xmin) / p.maxq;
    p.zero = roundEven(-xmin / p.scale);
    return p;
}

void rtnRoundTrip(std::span<const float> in, std::span<float> out, std::uint64_t rowLength, int bits,
                  std::uint64_t groupSize)
{
    if (in.size() != out.size() || rowLength == 0 || in.size() % rowLength != 0 || groupSize == 0 || bits < 2
        || bits > 8)
        throw UsageError(strCat("rtn: ", in.size(), " values are not whole rows of ", rowLength, " (", bits,
                                " bits, groups of ", groupSize, ")"));
    for (std::uint64_t row = 0; row < in.size(); row += rowLength) {
        for (std::uint64_t g = 0; g < rowLength; g += groupSize) {
            const std::uint64_t begin = row + g, end = row + std::min(rowLength, g + groupSize);
            float xmin = 0.0f, xmax = 0.0f; // GPTQ: the range always holds 0
            for (std::uint64_t i = begin; i < end; ++i) {
                if (!std::isfinite(in[i]))
                    continue;
                xmin = std::min(xmin, in[i]);
                xmax = std::max(xmax, in[i]);
            }
            const IntGroupParameters p = gptqGroupParameters(xmin, xmax, bits);
            const float stored = toFp16(p.scale);
            for (std::uint64_t i = begin; i < end; ++i)
                out[i] = std::isnan(in[i]) ? in[i] : stored * (p.code(in[i]) - p.zero);
        }
    }
}

double rtnBitsPerParameter(std::uint64_t rows, std::uint64_t rowLength, int bits, std::uint64_t groupSize)
{
    const std::uint64_t n = rows * rowLength;
    if (n == 0 || groupSize == 0)
        return 0.0;
    const std::uint64_t groups = rows * ((rowLength + groupSize - 1) / groupSize);
    return (double(n) * bits + double(groups) * (16.0 + bits)) / double(n);
}

void hqqRoundTrip(std::span<const float> in, std::span<float> out, int bits, std::uint64_t groupSize)
{
    if (in.size() != out.size() || groupSize == 0 || in.size() % groupSize != 0 || bits < 1 || bits > 8)
        throw UsageError(strCat("hqq: ", in.size(), " values are not whole groups of ", groupSize));
    const std::size_t groups = in.size() / groupSize;
    const float maxv = float((1 << bits) - 1);
    constexpr float kLpNorm = 0.7f;
    constexpr float kBeta = 10.0f;
    constexpr int kIterations = 20;

    // Quantizer.quantize: the inverse scale and the zero from each group's min and max.
    std::vector<float> scale(groups), zero(groups);
    for (std::size_t g = 0; g < groups; ++g) {
        const auto group = in.subspan(g * groupSize, groupSize);
        const auto [lo, hi] = std::minmax_element(group.begin(), group.end());
        const float denom = *hi - *lo;
        float s = maxv / denom;
        if (std::fabs(denom) <= 1e-4f)
            s = 1.0f;
        s = std::min(s, 2e4f);
        scale[g] = s;
        zero[g] = -*lo * s;
    }

    // optimize_weights_proximal_legacy: the zero point by half-quadratic splitting.
    const auto quantize
        = [&](std::size_t g, float w) { return std::clamp(roundEven(w * scale[g] + zero[g]), 0.0f, maxv); };
    float best = std::numeric_limits<float>::infinity();
    const float invBeta = 1.0f / kBeta;
    for (int iteration = 0; iteration < kIterations; ++iteration) {
        double errorSum = 0.0;
        for (std::size_t g = 0; g < groups; ++g) {
            double zeroSum = 0.0;
            for (std::uint64_t k = 0; k < groupSize; ++k) {
                const float w = in[g * groupSize + k];
                const float q = quantize(g, w);
                const float r = (q - zero[g]) / scale[g];
                const float e = w - r;
                errorSum += std::fabs(e);
                // shrink_lp_op: sign(x) * relu(|x| - |x|^(p-1) / beta)
                const float a = std::fabs(e);
                const float shrunk = std::max(a - invBeta * std::pow(a, kLpNorm - 1.0f), 0.0f);
                const float we = e > 0 ? shrunk : (e < 0 ? -shrunk : 0.0f);
                zeroSum += q - (w - we) * scale[g];
            }
            zero[g] = float(zeroSum / double(groupSize));
        }
        const float error = float(errorSum / double(in.size()));
        if (error < best)
            best = error;
        else
            break;
    }

    // Stored in fp16 (HQQLinear's meta) and dequantized in fp16: (W_q - zero) * (1 / scale).
    for (std::size_t g = 0; g < groups; ++g) {
        const float z = toFp16(zero[g]);
        const float s = toFp16(1.0f / scale[g]);
        for (std::uint64_t k = 0; k < groupSize; ++k) {
            const std::size_t i = g * groupSize + k;
            out[i] = toFp16(toFp16(quantize(g, in[i]) - z) * s);
        }
    }
}

double hqqBitsPerParameter(int bits, std::uint64_t groupSize)
{
    return groupSize == 0 ? 0.0 : double(bits) + 32.0 / double(groupSize);
}

} // namespace quantlens::core
