#include "core/metrics/error_accumulator.h"

#include "core/metrics/simd.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace quantlens::core {

namespace {

using simd::Float4;

// The bins of four magnitudes at once, as MagnitudeHistogram::binOf computes them one by one.
simd::UInt4 magnitudeBins(Float4 magnitudes)
{
    constexpr std::uint32_t kLowest = std::bit_cast<std::uint32_t>(0x1p-64f);
    constexpr std::uint32_t kLast = MagnitudeHistogram::kBinCount - 1;
    const simd::UInt4 u = simd::bits(magnitudes);
    simd::UInt4 bin = ((u - kLowest) >> 19) + 1u;
    bin = u < kLowest ? simd::UInt4 {} : bin;
    return bin > kLast ? simd::UInt4 {} + kLast : bin;
}

} // namespace

void ErrorAccumulator::add(std::span<const float> original, std::span<const float> reconstructed)
{
    if (original.size() != reconstructed.size())
        throw Error(strCat("error statistics need pairs: ", original.size(), " original values but ",
                           reconstructed.size(), " reconstructed"));
    for (std::size_t start = 0; start < original.size(); start += kSubBlock) {
        const std::size_t n = std::min(kSubBlock, original.size() - start);
        const float* x = original.data() + start;
        const float* q = reconstructed.data() + start;
        // Independent partial sums in four lanes each, so that additions do not wait on each other.
        Float4 squaredError {}, absError {}, squaredOriginal {}, squaredReconstructed {}, product {}, maxAbs {};
        // Histogram bins are counted once the sub-block is known to be finite.
        std::array<std::uint32_t, kSubBlock> bins;
        const std::size_t whole = n - n % simd::kWidth;
        std::size_t i = 0;
        for (; i < whole; i += simd::kWidth) {
            const Float4 xv = simd::load(x + i);
            const Float4 qv = simd::load(q + i);
            const Float4 e = qv - xv;
            const Float4 a = simd::abs(e);
            squaredError += e * e;
            absError += a;
            squaredOriginal += xv * xv;
            squaredReconstructed += qv * qv;
            product += xv * qv;
            maxAbs = simd::max(a, maxAbs);
            const simd::UInt4 b = magnitudeBins(a);
            std::memcpy(bins.data() + i, &b, sizeof b);
        }
        for (; i < n; ++i) {
            const float e = q[i] - x[i];
            const float a = std::fabs(e);
            squaredError[0] += e * e;
            absError[0] += a;
            squaredOriginal[0] += x[i] * x[i];
            squaredReconstructed[0] += q[i] * q[i];
            product[0] += x[i] * q[i];
            maxAbs[0] = a > maxAbs[0] ? a : maxAbs[0];
            bins[i] = std::uint32_t(MagnitudeHistogram::binOf(std::isfinite(a) ? a : 0.0f));
        }
        // An inf or NaN among the values makes the sums of squares inf or NaN, and so do finite values
        // whose squares overflow a float: either way the rare sub-block goes to the careful path.
        const double squares = simd::sum(squaredError) + simd::sum(squaredOriginal) + simd::sum(squaredReconstructed);
        if (!std::isfinite(squares)) {
            addSlow({x, n}, {q, n});
            continue;
        }
        for (std::size_t k = 0; k < n; ++k)
            m_errorHistogram.addToBin(bins[k]);
        m_count += n;
        m_sumSquaredError += simd::sum(squaredError);
        m_sumAbsError += simd::sum(absError);
        m_sumSquaredOriginal += simd::sum(squaredOriginal);
        m_sumSquaredReconstructed += simd::sum(squaredReconstructed);
        m_sumProduct += simd::sum(product);
        m_maxAbsError = std::max(m_maxAbsError, double(simd::horizontalMax(maxAbs)));
    }
}

// One pair at a time in double: for sub-blocks with non-finite values or float overflow.
void ErrorAccumulator::addSlow(std::span<const float> original, std::span<const float> reconstructed)
{
    for (std::size_t i = 0; i < original.size(); ++i) {
        const double x = original[i];
        const double q = reconstructed[i];
        if (!std::isfinite(x)) {
            ++m_nonFiniteInputs;
            continue;
        }
        if (!std::isfinite(q)) {
            ++m_nonFiniteOutputs;
            continue;
        }
        const double e = q - x;
        const double a = std::fabs(e);
        ++m_count;
        m_sumSquaredError += e * e;
        m_sumAbsError += a;
        m_sumSquaredOriginal += x * x;
        m_sumSquaredReconstructed += q * q;
        m_sumProduct += x * q;
        m_maxAbsError = std::max(m_maxAbsError, a);
        m_errorHistogram.add(float(a));
    }
}

void ErrorAccumulator::merge(const ErrorAccumulator& other)
{
    addSums(other.sums(), other.m_errorHistogram);
}

void ErrorAccumulator::addSums(const ErrorSums& sums, const MagnitudeHistogram& errors)
{
    m_count += sums.count;
    m_nonFiniteInputs += sums.nonFiniteInputs;
    m_nonFiniteOutputs += sums.nonFiniteOutputs;
    m_sumSquaredError += sums.sumSquaredError;
    m_sumAbsError += sums.sumAbsError;
    m_sumSquaredOriginal += sums.sumSquaredOriginal;
    m_sumSquaredReconstructed += sums.sumSquaredReconstructed;
    m_sumProduct += sums.sumProduct;
    m_maxAbsError = std::max(m_maxAbsError, sums.maxAbsError);
    m_errorHistogram.merge(errors);
}

ErrorStats errorStatsFromSums(const ErrorSums& sums, const MagnitudeHistogram& errors)
{
    constexpr double kInfinity = std::numeric_limits<double>::infinity();
    ErrorStats s;
    s.count = sums.count;
    s.nonFiniteInputs = sums.nonFiniteInputs;
    s.nonFiniteOutputs = sums.nonFiniteOutputs;
    if (sums.count == 0) {
        constexpr double kNotMeasured = std::numeric_limits<double>::quiet_NaN();
        for (double* metric : {&s.mse, &s.rmse, &s.maxAbsError, &s.meanAbsError, &s.relError, &s.sqnrDb, &s.cosine,
                               &s.p50AbsError, &s.p95AbsError, &s.p99AbsError})
            *metric = kNotMeasured;
        return s;
    }
    const double n = double(sums.count);
    s.mse = sums.sumSquaredError / n;
    s.rmse = std::sqrt(s.mse);
    s.maxAbsError = sums.maxAbsError;
    s.meanAbsError = sums.sumAbsError / n;
    if (sums.sumSquaredOriginal > 0.0)
        s.relError = std::sqrt(sums.sumSquaredError / sums.sumSquaredOriginal);
    else
        s.relError = sums.sumSquaredError > 0.0 ? kInfinity : 0.0;
    if (sums.sumSquaredError > 0.0)
        s.sqnrDb = sums.sumSquaredOriginal > 0.0 ? 10.0 * std::log10(sums.sumSquaredOriginal / sums.sumSquaredError)
                                                 : -kInfinity;
    else
        s.sqnrDb = kInfinity;
    const double norms = std::sqrt(sums.sumSquaredOriginal) * std::sqrt(sums.sumSquaredReconstructed);
    // Cauchy-Schwarz bounds it by 1; the float partial sums can overshoot by an ulp or two when
    // Q(W) is W to within rounding (bf16 on bf16 weights), which would print as 1.000001.
    if (norms > 0.0)
        s.cosine = std::clamp(sums.sumProduct / norms, -1.0, 1.0);
    else
        s.cosine = (sums.sumSquaredOriginal == 0.0 && sums.sumSquaredReconstructed == 0.0) ? 1.0 : 0.0;
    // The histogram interpolates inside a bin; the exact maximum caps it (the true percentile lies
    // in the same bin and below the maximum, so this only brings it closer).
    s.p50AbsError = std::min(errors.quantile(0.50), s.maxAbsError);
    s.p95AbsError = std::min(errors.quantile(0.95), s.maxAbsError);
    s.p99AbsError = std::min(errors.quantile(0.99), s.maxAbsError);
    return s;
}

ErrorSums ErrorAccumulator::sums() const
{
    ErrorSums sums;
    sums.count = m_count;
    sums.nonFiniteInputs = m_nonFiniteInputs;
    sums.nonFiniteOutputs = m_nonFiniteOutputs;
    sums.sumSquaredError = m_sumSquaredError;
    sums.sumAbsError = m_sumAbsError;
    sums.sumSquaredOriginal = m_sumSquaredOriginal;
    sums.sumSquaredReconstructed = m_sumSquaredReconstructed;
    sums.sumProduct = m_sumProduct;
    sums.maxAbsError = m_maxAbsError;
    return sums;
}

ErrorStats ErrorAccumulator::stats() const
{
    return errorStatsFromSums(sums(), m_errorHistogram);
}

} // namespace quantlens::core
