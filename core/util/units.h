#pragma once

#include <cstdint>
#include <string>

namespace quantlens::core {

inline constexpr double kBytesPerGB = 1e9; // decimal gigabyte, as GPUs are sold
inline constexpr double kBytesPerGiB = 1073741824.0; // 2^30, as nvidia-smi and allocators count

inline double toGB(double bytes)
{
    return bytes / kBytesPerGB;
}
inline double toGiB(double bytes)
{
    return bytes / kBytesPerGiB;
}

// "14.00 GB" / "13.04 GiB": always labelled, never a bare number.
std::string formatGB(double bytes, int decimals = 2);
std::string formatGiB(double bytes, int decimals = 2);
// "14.00 GB (13.04 GiB)"
std::string formatGBAndGiB(double bytes, int decimals = 2);
// Picks B, KiB, MiB, GiB, TiB for file sizes and buffers: "1.50 MiB".
std::string formatBinaryBytes(double bytes, int decimals = 2);
// 6738415616 -> "6,738,415,616"
std::string formatThousands(std::uint64_t value);
// 6.74e9 -> "6.74 B", 260032 -> "260.0 K": parameter counts for people.
std::string formatCount(double value, int decimals = 2);

} // namespace quantlens::core
