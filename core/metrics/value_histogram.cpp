#include "core/metrics/value_histogram.h"

#include "core/util/str_cat.h"

#include "core/util/error.h"

namespace quantlens::core {

ValueHistogram::ValueHistogram(double lo, double hi, std::size_t bins)
    : m_lo(lo)
    , m_hi(hi)
    , m_counts(bins == 0 ? 1 : bins, 0)
{
    // A constant tensor has lo == hi: every value then goes to bin 0.
    m_scale = hi > lo ? double(m_counts.size()) / (hi - lo) : 0.0;
}

void ValueHistogram::merge(const ValueHistogram& other)
{
    if (other.m_counts.empty())
        return;
    if (m_counts.empty()) {
        *this = other;
        return;
    }
    if (other.m_lo != m_lo || other.m_hi != m_hi || other.m_counts.size() != m_counts.size())
        throw Error(strCat("cannot merge histograms over [", other.m_lo, ", ", other.m_hi, "] in ",
                           other.m_counts.size(), " bins into [", m_lo, ", ", m_hi, "] in ", m_counts.size(), " bins"));
    for (std::size_t i = 0; i < m_counts.size(); ++i)
        m_counts[i] += other.m_counts[i];
}

} // namespace quantlens::core
