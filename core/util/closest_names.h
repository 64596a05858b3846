#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

// "Did you mean": the names closest to a mistyped one, for error messages.
namespace quantlens::core {

// Levenshtein distance: insertions, deletions and substitutions, each 1.
std::size_t editDistance(const std::string& a, const std::string& b);

// The `count` candidates closest to `query`, comparing `key(name)` by edit distance; a candidate
// whose key contains the query's, or is contained in it, comes first ("4090" -> rtx-4090). Ties keep
// the candidates' order.
std::vector<std::string> closestNames(const std::string& query, const std::vector<std::string>& candidates,
                                      std::size_t count, const std::function<std::string(const std::string&)>& key);

} // namespace quantlens::core
