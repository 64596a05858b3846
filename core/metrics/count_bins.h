#pragma once

#include <cstddef>
#include <cstdint>

namespace quantlens::core {

// Counts bins[0, n) into four tables taken in turn (bin i into table i % 4). An increment waits
// for the previous increment of the same counter to be stored; with one table, runs of equal bins
// (every |error| of an exact round trip, the middle of a bell-shaped weight histogram) make every
// increment wait. The caller adds the tables up.
inline void countFourWays(const std::uint32_t* bins, std::size_t n, std::uint32_t* c0, std::uint32_t* c1,
                          std::uint32_t* c2, std::uint32_t* c3)
{
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        ++c0[bins[i]];
        ++c1[bins[i + 1]];
        ++c2[bins[i + 2]];
        ++c3[bins[i + 3]];
    }
    for (; i < n; ++i)
        ++c0[bins[i]];
}

} // namespace quantlens::core
