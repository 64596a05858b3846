#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace quantlens::core {

// The token sequences an evaluation runs on, and where they came from (stated in every output).
struct TokenSet {
    std::vector<std::vector<std::int32_t>> sequences;
    std::string source; // "tokens.txt (3 sequences)", "8 sequences of 256 sampled from the model, seed 1"

    std::uint64_t tokenCount() const;
    // Positions with a next token to predict: the sum of (length - 1).
    std::uint64_t scoredCount() const;
};

// Parses a token-id file: whitespace-separated integers, one sequence per line; blank lines are
// skipped. Every id must be below `vocab`, every sequence hold at least 2 tokens and at most
// `context` (0: no limit). Errors name `fileName`, the line and, for a bad token, its column.
TokenSet parseTokenText(std::string_view text, const std::string& fileName, std::uint64_t vocab, std::uint64_t context);
TokenSet readTokenFile(const std::filesystem::path& path, std::uint64_t vocab, std::uint64_t context);

} // namespace quantlens::core
