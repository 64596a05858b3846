#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace quantlens::core {

// A fixed, log-spaced histogram of magnitudes (|error|), mergeable, in bounded memory: the
// streaming way to get percentiles of billions of values.
//
// Bins follow the float bit pattern: each power of two in [2^-64, 2^64) is split into 16 equal
// bins, so a bin is at most 1/16 = 6.25% of its lower edge wide. Bin 0 holds exact zeros and
// everything below 2^-64; the last bin everything from 2^64 up. A percentile is found by nearest
// rank, then interpolated linearly inside its bin: the true value lies in the same bin, so the
// reported one is off by less than 6.25% relative (bin 0 reports 0). Counting is one shift of the
// float's bits, no log().
class MagnitudeHistogram {
public:
    static constexpr int kSubBinsPerOctave = 16;
    static constexpr int kMinExponent = -64;
    static constexpr int kMaxExponent = 64;
    static constexpr std::size_t kBinCount
        = std::size_t(kMaxExponent - kMinExponent) * kSubBinsPerOctave + 2; // + zero bin + overflow bin

    // `magnitude` must be finite and >= 0 (callers count non-finite values apart).
    void add(float magnitude) { ++m_counts[binOf(magnitude)]; }
    // For callers that computed binOf() themselves, a vector at a time.
    void addToBin(std::size_t bin) { ++m_counts[bin]; }
    // Adds `count` values to `bin` at once (counts reduced elsewhere, e.g. on a GPU).
    void addToBin(std::size_t bin, std::uint64_t count) { m_counts[bin] += count; }
    void merge(const MagnitudeHistogram& other);

    std::uint64_t count() const;
    // The q-quantile (0 <= q <= 1) of what was added; 0 when empty.
    double quantile(double q) const;

    static std::size_t binOf(float magnitude)
    {
        const std::uint32_t bits = std::bit_cast<std::uint32_t>(magnitude);
        if (bits < kLowestBits)
            return 0;
        const std::size_t bin = ((bits - kLowestBits) >> kMantissaShift) + 1;
        return bin < kBinCount ? bin : kBinCount - 1;
    }
    static double binLower(std::size_t bin);
    static double binUpper(std::size_t bin);
    const std::array<std::uint64_t, kBinCount>& counts() const { return m_counts; }

private:
    // Bit pattern of 2^kMinExponent, and the shift that keeps the exponent plus 4 mantissa bits.
    static constexpr std::uint32_t kLowestBits = std::uint32_t(127 + kMinExponent) << 23;
    static constexpr int kMantissaShift = 23 - 4;
    static_assert(1 << 4 == kSubBinsPerOctave);

    std::array<std::uint64_t, kBinCount> m_counts {};
};

} // namespace quantlens::core
