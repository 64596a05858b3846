#include "core/metrics/value_histogram.h"

#include "core/metrics/simd.h"
#include "core/util/str_cat.h"

#include "core/util/error.h"

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
    const float lo = float(m_lo);
    const float scale = float(m_scale);
    const float last = float(bins() - 1);
    const auto spare = std::int32_t(bins());
    const auto binOf = [&](simd::Float4 v) {
        simd::Float4 position = (v - lo) * scale;
        position = simd::max(position, simd::Float4 {});
        position = simd::min(position, simd::broadcast(last));
        const simd::Int4 bin = __builtin_convertvector(position, simd::Int4);
        const simd::Int4 finite = (simd::bits(v) & 0x7f800000u) != 0x7f800000u;
        return finite ? bin : simd::Int4 {} + spare;
    };
    std::size_t i = 0;
    for (; i + simd::kWidth <= values.size(); i += simd::kWidth) {
        const simd::Int4 bin = binOf(simd::load(values.data() + i));
        for (std::size_t j = 0; j < simd::kWidth; ++j)
            ++m_counts[std::size_t(bin[j])];
    }
    for (; i < values.size(); ++i)
        ++m_counts[std::size_t(binOf(simd::broadcast(values[i]))[0])];
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
