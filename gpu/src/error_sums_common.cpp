#include "gpu/error_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace quantlens::gpu {

namespace {

// core::MagnitudeHistogram::quantile over counts that came from the device (nearest rank,
// interpolated inside the bin), without adding billions of values one at a time.
double histogramQuantile(const std::vector<std::uint64_t>& counts, double q)
{
    using core::MagnitudeHistogram;
    std::uint64_t n = 0;
    for (std::uint64_t c : counts)
        n += c;
    if (n == 0)
        return 0.0;
    q = std::clamp(q, 0.0, 1.0);
    const auto rank = std::max<std::uint64_t>(1, std::uint64_t(std::ceil(q * double(n))));
    std::uint64_t below = 0;
    for (std::size_t bin = 0; bin < counts.size(); ++bin) {
        const std::uint64_t c = counts[bin];
        if (below + c >= rank) {
            if (bin == 0)
                return 0.0;
            const double within = (double(rank - below) - 0.5) / double(c);
            return MagnitudeHistogram::binLower(bin)
                + within * (MagnitudeHistogram::binUpper(bin) - MagnitudeHistogram::binLower(bin));
        }
        below += c;
    }
    return MagnitudeHistogram::binUpper(counts.size() - 1);
}

} // namespace

core::ErrorStats DeviceErrorSums::stats() const
{
    constexpr double kInfinity = std::numeric_limits<double>::infinity();
    core::ErrorStats s;
    s.count = count;
    s.nonFiniteInputs = nonFiniteInputs;
    s.nonFiniteOutputs = nonFiniteOutputs;
    if (count == 0)
        return s;
    const double n = double(count);
    s.mse = sumSquaredError / n;
    s.rmse = std::sqrt(s.mse);
    s.maxAbsError = maxAbsError;
    s.meanAbsError = sumAbsError / n;
    if (sumSquaredOriginal > 0.0)
        s.relError = std::sqrt(sumSquaredError / sumSquaredOriginal);
    else
        s.relError = sumSquaredError > 0.0 ? kInfinity : 0.0;
    if (sumSquaredError > 0.0)
        s.sqnrDb = sumSquaredOriginal > 0.0 ? 10.0 * std::log10(sumSquaredOriginal / sumSquaredError) : -kInfinity;
    else
        s.sqnrDb = kInfinity;
    const double norms = std::sqrt(sumSquaredOriginal) * std::sqrt(sumSquaredReconstructed);
    if (norms > 0.0)
        s.cosine = sumProduct / norms;
    else
        s.cosine = (sumSquaredOriginal == 0.0 && sumSquaredReconstructed == 0.0) ? 1.0 : 0.0;
    s.p50AbsError = histogramQuantile(errorHistogram, 0.50);
    s.p95AbsError = histogramQuantile(errorHistogram, 0.95);
    s.p99AbsError = histogramQuantile(errorHistogram, 0.99);
    return s;
}

} // namespace quantlens::gpu
