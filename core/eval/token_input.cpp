#include "core/eval/token_input.h"

#include "core/io/mapped_file.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <cctype>
#include <charconv>

namespace quantlens::core {

std::uint64_t TokenSet::tokenCount() const
{
    std::uint64_t n = 0;
    for (const auto& s : sequences)
        n += s.size();
    return n;
}

std::uint64_t TokenSet::scoredCount() const
{
    std::uint64_t n = 0;
    for (const auto& s : sequences)
        n += s.empty() ? 0 : s.size() - 1;
    return n;
}

TokenSet parseTokenText(std::string_view text, const std::string& fileName, std::uint64_t vocab, std::uint64_t context)
{
    TokenSet set;
    std::uint64_t lineNumber = 0;
    std::size_t lineStart = 0;
    while (lineStart < text.size()) {
        ++lineNumber;
        std::size_t lineEnd = text.find('\n', lineStart);
        if (lineEnd == std::string_view::npos)
            lineEnd = text.size();
        const std::string_view line = text.substr(lineStart, lineEnd - lineStart);
        const std::uint64_t lineOffset = lineStart;
        lineStart = lineEnd + 1;
        std::vector<std::int32_t> sequence;
        std::size_t i = 0;
        while (i < line.size()) {
            if (std::isspace(static_cast<unsigned char>(line[i]))) {
                ++i;
                continue;
            }
            std::size_t end = i;
            while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end])))
                ++end;
            const std::string_view word = line.substr(i, end - i);
            std::int64_t value = 0;
            const auto [ptr, ec] = std::from_chars(word.data(), word.data() + word.size(), value);
            const std::string where = strCat("line ", lineNumber, ", column ", i + 1);
            if (ec != std::errc() || ptr != word.data() + word.size() || value < 0)
                throw FormatError({fileName, lineOffset + i, where, "a token id (a non-negative integer)",
                                   strCat("'", word, "'")},
                                  "not a token id");
            if (std::uint64_t(value) >= vocab)
                throw FormatError({fileName, lineOffset + i, where, strCat("a token id below the vocabulary size ", vocab),
                                   strCat(value)},
                                  "token id outside the model's vocabulary");
            sequence.push_back(static_cast<std::int32_t>(value));
            i = end;
        }
        if (sequence.empty())
            continue;
        if (sequence.size() < 2)
            throw FormatError({fileName, lineOffset, strCat("line ", lineNumber), "at least 2 tokens (one to predict)",
                               "1 token"},
                              "sequence too short to score");
        if (context != 0 && sequence.size() > context)
            throw FormatError({fileName, lineOffset, strCat("line ", lineNumber),
                               strCat("at most ", context, " tokens (the model's context)"),
                               strCat(sequence.size(), " tokens")},
                              "sequence longer than the model's context");
        set.sequences.push_back(std::move(sequence));
    }
    if (set.sequences.empty())
        throw FormatError({fileName, 0, "", "one sequence of token ids per line", "no tokens"}, "no token sequences");
    set.source = strCat(fileName, " (", set.sequences.size(), set.sequences.size() == 1 ? " sequence, " : " sequences, ",
                        set.tokenCount(), " tokens)");
    return set;
}

TokenSet readTokenFile(const std::filesystem::path& path, std::uint64_t vocab, std::uint64_t context)
{
    if (!std::filesystem::exists(path))
        throw IoError(path.string(), "no such file");
    if (std::filesystem::file_size(path) == 0)
        throw FormatError({path.string(), 0, "", "one sequence of token ids per line", "an empty file"},
                          "no token sequences");
    const MappedFile file(path);
    const auto bytes = file.bytes(0, file.size(), "tokens");
    return parseTokenText({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, path.string(), vocab, context);
}

} // namespace quantlens::core
