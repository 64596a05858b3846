#include "core/util/closest_names.h"

#include <algorithm>
#include <utility>

namespace quantlens::core {

std::size_t editDistance(const std::string& a, const std::string& b)
{
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::vector<std::string> closestNames(const std::string& query, const std::vector<std::string>& candidates,
                                      std::size_t count, const std::function<std::string(const std::string&)>& key)
{
    const std::string q = key(query);
    std::vector<std::pair<std::size_t, std::string>> scored;
    for (const auto& c : candidates) {
        const std::string n = key(c);
        const bool contains = !q.empty() && (n.find(q) != std::string::npos || q.find(n) != std::string::npos);
        scored.emplace_back(contains ? 0 : editDistance(q, n), c);
    }
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<std::string> out;
    for (std::size_t i = 0; i < scored.size() && i < count; ++i)
        out.push_back(scored[i].second);
    return out;
}

} // namespace quantlens::core
