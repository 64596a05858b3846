#include "core/metrics/error_accumulator.h"

#include "core/metrics/count_bins.h"
#include "core/simd/kernels.h"
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

// |error| counts of one add() call in four tables (count_bins.h). Zero between calls; only the bins
// touched are folded into the histogram and cleared.
struct SplitCounts {
    static constexpr std::size_t kWays = 4;
    std::uint32_t counts[kWays][MagnitudeHistogram::kBinCount] = {};
    std::size_t lo = MagnitudeHistogram::kBinCount;
    std::size_t hi = 0;
    std::uint64_t pending = 0;

    void add(const std::uint32_t* bins, std::size_t n, std::size_t first, std::size_t last)
    {
        static_assert(kWays == 4);
        countFourWays(bins, n, counts[0], counts[1], counts[2], counts[3]);
        if (n == 0)
            return;
        lo = std::min(lo, first);
        hi = std::max(hi, last);
        pending += n;
    }
    void flush(MagnitudeHistogram& histogram)
    {
        for (std::size_t b = lo; b <= hi && b < MagnitudeHistogram::kBinCount; ++b) {
            std::uint64_t c = 0;
            for (auto& table : counts) {
                c += table[b];
                table[b] = 0;
            }
            if (c != 0)
                histogram.addToBin(b, c);
        }
        lo = MagnitudeHistogram::kBinCount;
        hi = 0;
        pending = 0;
    }
};

} // namespace

void ErrorAccumulator::add(std::span<const float> original, std::span<const float> reconstructed)
{
    if (original.size() != reconstructed.size())
        throw Error(strCat("error statistics need pairs: ", original.size(), " original values but ",
                           reconstructed.size(), " reconstructed"));
    const kernels::Kernels& k = kernels::kernels();
    thread_local SplitCounts split;
    // The bins of a batch of sub-blocks are counted after the batch: reading a bin right after the
    // kernel's vector store of it waits for the store (no store-to-load forwarding from a wide store
    // to a narrow load on some CPUs).
    constexpr std::size_t kBatch = 16 * kSubBlock;
    std::array<std::uint32_t, kBatch> bins;
    for (std::size_t batch = 0; batch < original.size(); batch += kBatch) {
        const std::size_t batchSize = std::min(kBatch, original.size() - batch);
        std::size_t countable = 0; // bins[0, countable) belong to finite sub-blocks
        std::size_t lo = MagnitudeHistogram::kBinCount, hi = 0;
        for (std::size_t start = 0; start < batchSize; start += kSubBlock) {
            const std::size_t n = std::min(kSubBlock, batchSize - start);
            const float* x = original.data() + batch + start;
            const float* q = reconstructed.data() + batch + start;
            // Independent partial sums in 16 fixed lanes (kernels.h), so that additions do not wait on
            // each other and every instruction set adds in the same order.
            kernels::ErrorLanes lanes;
            k.errorSubBlock(x, q, n, lanes, bins.data() + countable);
            const auto total = [](const float* lane) {
                double s = 0.0;
                for (std::size_t i = 0; i < kernels::kLanes; ++i)
                    s += double(lane[i]);
                return s;
            };
            const double squaredError = total(lanes.squaredError);
            const double squaredOriginal = total(lanes.squaredOriginal);
            const double squaredReconstructed = total(lanes.squaredReconstructed);
            // An inf or NaN among the values makes the sums of squares inf or NaN, and so do finite
            // values whose squares overflow a float: either way the rare sub-block goes to the careful
            // path (and its bins are overwritten by the next sub-block's).
            if (!std::isfinite(squaredError + squaredOriginal + squaredReconstructed)) {
                addSlow({x, n}, {q, n});
                continue;
            }
            countable += n;
            float maxAbs = lanes.maxAbs[0], minAbs = lanes.minAbs[0];
            for (std::size_t i = 1; i < kernels::kLanes; ++i) {
                maxAbs = lanes.maxAbs[i] > maxAbs ? lanes.maxAbs[i] : maxAbs;
                minAbs = lanes.minAbs[i] < minAbs ? lanes.minAbs[i] : minAbs;
            }
            // Bins grow with the magnitude: the smallest and largest |error| bound the bins touched.
            lo = std::min(lo, MagnitudeHistogram::binOf(minAbs));
            hi = std::max(hi, MagnitudeHistogram::binOf(maxAbs));
            m_count += n;
            m_sumSquaredError += squaredError;
            m_sumAbsError += total(lanes.absError);
            m_sumSquaredOriginal += squaredOriginal;
            m_sumSquaredReconstructed += squaredReconstructed;
            m_sumProduct += total(lanes.product);
            m_maxAbsError = std::max(m_maxAbsError, double(maxAbs));
        }
        split.add(bins.data(), countable, lo, hi);
        if (split.pending >= (std::uint64_t(1) << 30)) // far below a table entry's 2^32
            split.flush(m_errorHistogram);
    }
    split.flush(m_errorHistogram);
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
