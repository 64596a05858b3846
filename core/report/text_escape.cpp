#include "core/report/text_escape.h"

#include <cctype>
#include <string>

namespace quantlens::core {

namespace {

constexpr const char* kReplacement = "\xEF\xBF\xBD"; // U+FFFD in UTF-8

bool isForbiddenControl(unsigned char c)
{
    return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f;
}

} // namespace

std::string escapeHtml(std::string_view text)
{
    std::string out;
    out.reserve(text.size() + 16);
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (ch) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            if (isForbiddenControl(c))
                out += kReplacement;
            else
                out += ch;
        }
    }
    return out;
}

std::string escapeMarkdown(std::string_view text)
{
    std::string out;
    out.reserve(text.size() + 16);
    for (const char ch : text) {
        switch (ch) {
        case '\\':
        case '`':
        case '*':
        case '_':
        case '[':
        case ']':
        case '#':
        case '|':
        case '!':
        case '~':
            out += '\\';
            out += ch;
            break;
        case '\n':
        case '\r':
        case '\t':
            out += ' ';
            break;
        default: {
            const char one[2] = {ch, '\0'};
            out += escapeHtml(one);
        }
        }
    }
    return out;
}

std::string csvField(std::string_view text)
{
    // A spreadsheet runs a cell that starts with = + - @ (or tab/CR) as a formula: a tensor named
    // =HYPERLINK(...) in a downloaded model must stay text. A leading ' makes it so (OWASP's advice);
    // negative numbers and a lone "-" are left as they are.
    const bool formula = !text.empty()
        && (text[0] == '=' || text[0] == '+' || text[0] == '@' || text[0] == '\t' || text[0] == '\r'
            || (text[0] == '-' && text.size() > 1 && !std::isdigit(static_cast<unsigned char>(text[1]))
                && text[1] != '.'));
    const std::string safe = formula ? "'" + std::string(text) : std::string(text);
    text = safe;
    if (text.find_first_of(",\"\r\n") == std::string_view::npos)
        return std::string(text);
    std::string out = "\"";
    for (const char ch : text) {
        if (ch == '"')
            out += '"';
        out += ch;
    }
    out += '"';
    return out;
}

std::string shellQuote(std::string_view word)
{
    if (!word.empty()
        && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=,:+@%")
            == std::string_view::npos)
        return std::string(word);
    std::string out = "'";
    for (const char c : word)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

} // namespace quantlens::core
