#include "core/metrics/magnitude_histogram.h"

#include <algorithm>
#include <cmath>

namespace quantlens::core {

void MagnitudeHistogram::merge(const MagnitudeHistogram& other)
{
    for (std::size_t i = 0; i < kBinCount; ++i)
        m_counts[i] += other.m_counts[i];
}

std::uint64_t MagnitudeHistogram::count() const
{
    std::uint64_t n = 0;
    for (auto c : m_counts)
        n += c;
    return n;
}

double MagnitudeHistogram::binLower(std::size_t bin)
{
    if (bin == 0)
        return 0.0;
    const std::size_t k = bin - 1;
    const int exponent = kMinExponent + int(k / kSubBinsPerOctave);
    const double step = double(k % kSubBinsPerOctave) / kSubBinsPerOctave;
    return std::ldexp(1.0 + step, exponent);
}

double MagnitudeHistogram::binUpper(std::size_t bin)
{
    if (bin + 1 >= kBinCount)
        return std::ldexp(1.0, kMaxExponent);
    return binLower(bin + 1);
}

double MagnitudeHistogram::quantile(double q) const
{
    const std::uint64_t n = count();
    if (n == 0)
        return 0.0;
    q = std::clamp(q, 0.0, 1.0);
    // Nearest rank, 1-based: the smallest value with at least q·n values at or below it.
    const auto rank = std::max<std::uint64_t>(1, std::uint64_t(std::ceil(q * double(n))));
    std::uint64_t below = 0;
    for (std::size_t bin = 0; bin < kBinCount; ++bin) {
        const std::uint64_t c = m_counts[bin];
        if (below + c >= rank) {
            if (bin == 0)
                return 0.0;
            // Interpolate the rank's position among the c values assumed evenly spread in the bin.
            const double within = (double(rank - below) - 0.5) / double(c);
            return binLower(bin) + within * (binUpper(bin) - binLower(bin));
        }
        below += c;
    }
    return binUpper(kBinCount - 1);
}

} // namespace quantlens::core
