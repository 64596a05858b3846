#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

// Comma-separated lists as users type them ("nf4,fp4", "q,k,v", "attn_q, mlp_down"): the scheme,
// LoRA target and role options all split and join them here.
namespace quantlens {

// Every item between commas, as typed (not trimmed; empty items kept): "a,,b" is {"a", "", "b"},
// "" is {""}. Callers decide what an empty or spaced item means.
inline std::vector<std::string> splitCommaList(std::string_view list)
{
    std::vector<std::string> items;
    std::size_t begin = 0;
    while (begin <= list.size()) {
        const std::size_t comma = std::min(list.find(',', begin), list.size());
        items.emplace_back(list.substr(begin, comma - begin));
        begin = comma + 1;
    }
    return items;
}

// The items joined with `separator`, for sentences: joinList({"a", "b"}, ", ") is "a, b".
template <typename Range> std::string joinList(const Range& items, std::string_view separator)
{
    std::string out;
    bool first = true;
    for (const auto& item : items) {
        if (!first)
            out += separator;
        out += std::string(item);
        first = false;
    }
    return out;
}

// The items joined with commas, no spaces: {"attn_k", "attn_q"} is "attn_k,attn_q".
template <typename Range> std::string joinCommaList(const Range& items)
{
    return joinList(items, ",");
}

} // namespace quantlens
