#include "core/util/units.h"

#include <array>
#include <cmath>
#include <cstdio>

namespace quantlens::core {

namespace {

std::string fixed(double value, int decimals, const char* unit)
{
    std::array<char, 64> buffer {};
    std::snprintf(buffer.data(), buffer.size(), "%.*f %s", decimals, value, unit);
    return buffer.data();
}

} // namespace

std::string formatGB(double bytes, int decimals)
{
    return fixed(toGB(bytes), decimals, "GB");
}

std::string formatGiB(double bytes, int decimals)
{
    return fixed(toGiB(bytes), decimals, "GiB");
}

std::string formatGBAndGiB(double bytes, int decimals)
{
    return formatGB(bytes, decimals) + " (" + formatGiB(bytes, decimals) + ")";
}

std::string formatBinaryBytes(double bytes, int decimals)
{
    static constexpr std::array<const char*, 6> units {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    std::size_t unit = 0;
    double value = bytes;
    while (std::fabs(value) >= 1024.0 && unit + 1 < units.size()) {
        value /= 1024.0;
        ++unit;
    }
    return fixed(value, unit == 0 ? 0 : decimals, units[unit]);
}

std::string formatThousands(std::uint64_t value)
{
    std::string digits = std::to_string(value);
    std::string out;
    out.reserve(digits.size() + digits.size() / 3);
    const std::size_t lead = digits.size() % 3;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (i + 3 - lead) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

std::string formatCount(double value, int decimals)
{
    const double magnitude = std::fabs(value);
    if (magnitude >= 1e12)
        return fixed(value / 1e12, decimals, "T");
    if (magnitude >= 1e9)
        return fixed(value / 1e9, decimals, "B");
    if (magnitude >= 1e6)
        return fixed(value / 1e6, decimals, "M");
    if (magnitude >= 1e3)
        return fixed(value / 1e3, 1, "K");
    std::array<char, 64> buffer {};
    std::snprintf(buffer.data(), buffer.size(), "%.0f", value);
    return buffer.data();
}

} // namespace quantlens::core
