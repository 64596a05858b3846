#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

namespace quantlens::core {

// Equal-width bins over [lo, hi]: the weight histogram the GUI draws. The range is fixed up front
// (the scan takes it from a tensor's min and max in its first pass) so that chunks counted on
// different threads merge by adding counts. Values outside the range land in the end bins;
// non-finite values are not counted here (the error statistics count them).
class ValueHistogram {
public:
    ValueHistogram() = default;
    ValueHistogram(double lo, double hi, std::size_t bins);

    void add(float value)
    {
        if (!std::isfinite(value))
            return;
        double position = (double(value) - m_lo) * m_scale;
        if (position < 0.0)
            position = 0.0;
        auto bin = static_cast<std::size_t>(position);
        if (bin >= m_counts.size())
            bin = m_counts.size() - 1;
        ++m_counts[bin];
    }
    // Throws quantlens::Error when the ranges or bin counts differ.
    void merge(const ValueHistogram& other);

    double lo() const { return m_lo; }
    double hi() const { return m_hi; }
    bool empty() const { return m_counts.empty(); }
    const std::vector<std::uint64_t>& counts() const { return m_counts; }

private:
    double m_lo = 0.0;
    double m_hi = 0.0;
    double m_scale = 0.0;
    std::vector<std::uint64_t> m_counts;
};

} // namespace quantlens::core
