#include "core/report/markdown_report.h"

#include "core/report/report_document.h"
#include "core/report/text_escape.h"

namespace quantlens::core {

namespace {

// A fence longer than any run of backticks in the text, so that the command line cannot close it.
std::string fenceFor(const std::string& text)
{
    std::size_t longest = 0;
    std::size_t run = 0;
    for (const char c : text) {
        run = c == '`' ? run + 1 : 0;
        longest = std::max(longest, run);
    }
    return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

void appendTable(std::string& out, const ReportBlock& b)
{
    out += '|';
    for (const auto& h : b.header)
        out += ' ' + (h.empty() ? std::string(" ") : escapeMarkdown(h)) + " |";
    out += "\n|";
    for (std::size_t i = 0; i < b.header.size(); ++i)
        out += b.numeric[i] ? " ---: |" : " --- |";
    out += '\n';
    for (const auto& row : b.rows) {
        out += '|';
        for (const auto& cell : row)
            out += ' ' + escapeMarkdown(cell) + " |";
        out += '\n';
    }
    out += '\n';
}

} // namespace

std::string markdownReport(const ReportData& data, const ReportSections& sections)
{
    std::string out;
    for (const auto& b : buildReportDocument(data, sections)) {
        switch (b.kind) {
        case ReportBlock::Kind::Heading:
            out += std::string(static_cast<std::size_t>(b.level), '#') + ' ' + escapeMarkdown(b.text) + "\n\n";
            break;
        case ReportBlock::Kind::Paragraph:
            out += escapeMarkdown(b.text) + "\n\n";
            break;
        case ReportBlock::Kind::Code: {
            const auto fence = fenceFor(b.text);
            out += fence + "sh\n" + b.text + '\n' + fence + "\n\n";
            break;
        }
        case ReportBlock::Kind::List:
            for (const auto& item : b.items)
                out += "- " + escapeMarkdown(item) + '\n';
            out += '\n';
            break;
        case ReportBlock::Kind::Table:
            appendTable(out, b);
            break;
        case ReportBlock::Kind::Chart:
            break;
        }
    }
    return out;
}

} // namespace quantlens::core
