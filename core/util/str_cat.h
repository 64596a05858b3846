#pragma once

#include <sstream>
#include <string>
#include <utility>

namespace quantlens {

// GCC 12 in C++20 mode has no <format>: a small concatenation helper for messages.
template <typename... Args> std::string strCat(Args&&... args)
{
    std::ostringstream out;
    (out << ... << std::forward<Args>(args));
    return out.str();
}

} // namespace quantlens
