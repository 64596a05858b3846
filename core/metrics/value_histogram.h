#pragma once

#include <cstdint>
#include <span>
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

    void add(float value) { add(std::span<const float>(&value, 1)); }
    void add(std::span<const float> values);
    // Throws quantlens::Error when the ranges or bin counts differ.
    void merge(const ValueHistogram& other);

    double lo() const { return m_lo; }
    double hi() const { return m_hi; }
    std::size_t bins() const { return m_counts.empty() ? 0 : m_counts.size() - 1; }
    std::span<const std::uint64_t> counts() const { return {m_counts.data(), bins()}; }

private:
    double m_lo = 0.0;
    double m_hi = 0.0;
    double m_scale = 0.0;
    // One more than bins(): the last slot takes the non-finite values, and is never shown.
    std::vector<std::uint64_t> m_counts;
};

} // namespace quantlens::core
