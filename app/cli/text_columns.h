#pragma once

#include <cmath>
#include <cstdio>
#include <string>

// Number formatting and column padding for the commands' plain-text tables.
namespace quantlens::cli {

// printf-style, "n/a" for NaN (nothing measured).
inline std::string formatNumber(const char* format, double value)
{
    if (std::isnan(value))
        return "n/a";
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, format, value);
    return buffer;
}

// `text` padded with spaces to `width` (left-aligned when `left`); longer text is kept whole.
inline std::string padColumn(const std::string& text, std::size_t width, bool left = false)
{
    const std::string space(text.size() < width ? width - text.size() : 0, ' ');
    return left ? text + space : space + text;
}

} // namespace quantlens::cli
