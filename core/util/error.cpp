#include "core/util/error.h"

#include "core/util/str_cat.h"

#include <cctype>

namespace quantlens {

namespace {

bool isNameCharacter(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.';
}

// Whether `text` holds `word` not as a part of a longer name ("w" is not in "weight").
bool containsWord(const std::string& text, const std::string& word)
{
    for (auto at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
        const auto end = at + word.size();
        if ((at == 0 || !isNameCharacter(text[at - 1])) && (end == text.size() || !isNameCharacter(text[end])))
            return true;
    }
    return false;
}

std::string formatMessage(const ErrorLocation& where, const std::string& what)
{
    std::string message = where.file.empty() ? what : strCat(where.file, ": ", what);
    // The field stays in the structured location; the text repeats it only when the sentence does
    // not already name it ("tensor 'x' appears in more than one shard [tensor 'x']" said it twice).
    if (!where.field.empty() && !containsWord(what, where.field))
        message += strCat(" [", where.field, "]");
    if (where.offset)
        message += strCat(" [at byte ", *where.offset, "]");
    if (!where.expected.empty() || !where.found.empty()) {
        message += " (";
        if (!where.expected.empty())
            message += "expected " + where.expected;
        if (!where.expected.empty() && !where.found.empty())
            message += ", ";
        if (!where.found.empty())
            message += "found " + where.found;
        message += ")";
    }
    return message;
}

} // namespace

FormatError::FormatError(ErrorLocation where, const std::string& what)
    : Error(formatMessage(where, what))
    , m_where(std::move(where))
{
}

IoError::IoError(const std::string& file, const std::string& what)
    : Error(strCat(file, ": ", what))
    , m_file(file)
{
}

} // namespace quantlens
