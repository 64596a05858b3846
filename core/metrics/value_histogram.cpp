#include "core/metrics/value_histogram.h"

#include "core/metrics/count_bins.h"
#include "core/simd/kernels.h"
#include "core/util/str_cat.h"

#include "core/util/error.h"

#include <algorithm>

namespace quantlens::core {

ValueHistogram::ValueHistogram(double lo, double hi, std::size_t bins)
    : m_lo(lo)
    , m_hi(hi)
    , m_counts((bins == 0 ? 1 : bins) + 1, 0)
{
    // A constant tensor has lo == hi: every value then goes to bin 0.
    m_scale = hi > lo ? double(this->bins()) / (hi - lo) : 0.0;
}

void ValueHistogram::add(std::span<const float> values)
{
    if (m_counts.empty())
        return;
    const kernels::Kernels& k = kernels::kernels();
    const float lo = float(m_lo);
    const float scale = float(m_scale);
    const float last = float(bins() - 1);
    const auto spare = std::uint32_t(bins());
    // Bins are computed a block at a time and counted afterwards (a narrow load right after the
    // kernel's wide store of the same bytes waits for the store on some CPUs).
    constexpr std::size_t kBlock = 4096;
    std::uint32_t binOf[kBlock];
    // Four count tables (count_bins.h) for up to 1024 bins, folded every 2^30 values and at the end.
    constexpr std::size_t kWays = 4;
    constexpr std::size_t kMaxSplitBins = 1025;
    constexpr std::size_t kMaxPending = std::size_t(1) << 30;
    const std::size_t slots = m_counts.size();
    std::uint32_t split[kWays][kMaxSplitBins];
    const bool splitting = slots <= kMaxSplitBins;
    const auto fold = [&] {
        for (std::size_t b = 0; b < slots; ++b) {
            for (auto& table : split) {
                m_counts[b] += table[b];
                table[b] = 0;
            }
        }
    };
    if (splitting)
        for (auto& table : split)
            std::fill_n(table, slots, 0u);
    std::size_t pending = 0;
    for (std::size_t start = 0; start < values.size(); start += kBlock) {
        const std::size_t n = std::min(kBlock, values.size() - start);
        k.valueBins(values.data() + start, n, lo, scale, last, spare, binOf);
        if (!splitting) {
            for (std::size_t i = 0; i < n; ++i)
                ++m_counts[binOf[i]];
            continue;
        }
        static_assert(kWays == 4);
        countFourWays(binOf, n, split[0], split[1], split[2], split[3]);
        pending += n;
        if (pending >= kMaxPending) {
            fold();
            pending = 0;
        }
    }
    if (splitting)
        fold();
}

void ValueHistogram::merge(const ValueHistogram& other)
{
    if (other.m_counts.empty())
        return;
    if (m_counts.empty()) {
        *this = other;
        return;
    }
    if (other.m_lo != m_lo || other.m_hi != m_hi || other.bins() != bins())
        throw Error(strCat("cannot merge histograms over [", other.m_lo, ", ", other.m_hi, "] in ", other.bins(),
                           " bins into [", m_lo, ", ", m_hi, "] in ", bins(), " bins"));
    for (std::size_t i = 0; i < m_counts.size(); ++i)
        m_counts[i] += other.m_counts[i];
}

} // namespace quantlens::core
