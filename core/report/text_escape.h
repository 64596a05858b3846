#pragma once

#include <string>
#include <string_view>

// Names and metadata in a model file are untrusted text: a tensor named "<script>" must show as
// text in a report, never run. Every writer passes such text through these.
namespace quantlens::core {

// &, <, >, " and ' as entities (valid in HTML and XHTML, inside text and attribute values); control
// characters other than tab and newline, which XML forbids, become U+FFFD.
std::string escapeHtml(std::string_view text);

// Markdown inline text, for table cells too: HTML-escaped (GitHub renders raw HTML in Markdown),
// Markdown punctuation backslash-escaped, | escaped and newlines turned into spaces so that a
// name cannot break out of its table cell.
std::string escapeMarkdown(std::string_view text);

// One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, quotes doubled; text a
// spreadsheet would run as a formula (starting with = + - @ tab CR) gets a leading '.
std::string csvField(std::string_view text);

// One word of a POSIX shell command line: as it is when it holds only characters no shell treats
// specially, otherwise in single quotes (a ' inside becomes '\''). The reports' regenerating
// command lines quote every value with it.
std::string shellQuote(std::string_view word);

} // namespace quantlens::core
