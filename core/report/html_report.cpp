#include "core/report/html_report.h"

#include "core/report/report_document.h"
#include "core/report/text_escape.h"
#include "core/util/str_cat.h"

namespace quantlens::core {

namespace {

// Print and phone friendly: fluid width, system fonts, tables scroll sideways in a narrow window and
// rows never split across printed pages.
constexpr const char* kStyle = R"css(
body { font-family: -apple-system, "Segoe UI", "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1d1d1f;
       background: #ffffff; margin: 0 auto; padding: 1em; max-width: 60em; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #0072b2; padding-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 1.6em; border-bottom: 1px solid #d0d0d0; }
h3 { font-size: 1.1em; margin-top: 1.2em; }
.scroll { overflow-x: auto; margin: 0.6em 0 1em 0; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #d0d0d0; padding: 0.25em 0.6em; vertical-align: top; }
th { background: #f0f4f8; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr { page-break-inside: avoid; break-inside: avoid; }
pre { background: #f5f5f5; padding: 0.6em; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
figure { margin: 0.8em 0; page-break-inside: avoid; break-inside: avoid; }
figure svg { width: 100%; height: auto; max-width: 48em; }
figcaption { font-size: 0.85em; color: #555555; }
@media print { body { max-width: none; } .scroll { overflow: visible; } }
)css";

// QTextDocument (the PDF) reads table borders and alignment from attributes, not from CSS classes.
void appendTable(std::string& out, const ReportBlock& b, const HtmlReportOptions& o)
{
    // QTextDocument repeats <thead> rows at the top of each page a table continues on.
    out += o.inlineCharts ? "<div class=\"scroll\"><table>\n<thead><tr>"
                          : "<table border=\"1\" cellspacing=\"0\" cellpadding=\"3\">\n<thead><tr>";
    const char* numericCell = o.inlineCharts ? " class=\"n\"" : " class=\"n\" align=\"right\"";
    for (std::size_t i = 0; i < b.header.size(); ++i)
        out += strCat("<th", b.numeric[i] ? numericCell : "", ">", escapeHtml(b.header[i]), "</th>");
    out += "</tr></thead>\n<tbody>\n";
    for (const auto& row : b.rows) {
        out += "<tr>";
        for (std::size_t i = 0; i < row.size(); ++i)
            out += strCat("<td", i < b.numeric.size() && b.numeric[i] ? numericCell : "", ">", escapeHtml(row[i]),
                          "</td>");
        out += "</tr>\n";
    }
    out += o.inlineCharts ? "</tbody></table></div>\n" : "</tbody></table>\n";
}

void appendChart(std::string& out, const ReportBlock& b, const ReportCharts& charts, const HtmlReportOptions& o)
{
    const auto it = charts.svg.find(b.chartId);
    if (it == charts.svg.end())
        return;
    // QTextDocument knows neither <figure> nor inline SVG: a centred paragraph holds the placeholder.
    if (o.inlineCharts)
        out += strCat("<figure>", svgElement(it->second), "<figcaption>", escapeHtml(b.text),
                      "</figcaption></figure>\n");
    else
        out += strCat("<p align=\"center\"><img src=\"chart:", escapeHtml(b.chartId), "\" width=\"", o.chartWidth,
                      "\" height=\"", o.chartHeight, "\" alt=\"", escapeHtml(b.text), "\"/></p>\n<p class=\"caption\">",
                      escapeHtml(b.text), "</p>\n");
}

} // namespace

std::string svgElement(const std::string& svgDocument)
{
    const auto start = svgDocument.find("<svg");
    if (start == std::string::npos)
        return {};
    return svgDocument.substr(start);
}

std::string htmlReport(const ReportData& data, const ReportCharts& charts, const ReportSections& sections,
                       const HtmlReportOptions& options)
{
    std::string out = "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n"
                      "<meta charset=\"utf-8\"/>\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
                      "<meta name=\"generator\" content=\"QuantLens\"/>\n";
    out += strCat("<title>", escapeHtml(data.title), "</title>\n");
    if (options.inlineCharts)
        out += strCat("<style>", kStyle, "</style>\n");
    out += "</head>\n<body>\n";
    for (const auto& b : buildReportDocument(data, sections)) {
        switch (b.kind) {
        case ReportBlock::Kind::Heading:
            out += strCat("<h", b.level, ">", escapeHtml(b.text), "</h", b.level, ">\n");
            break;
        case ReportBlock::Kind::Paragraph:
            out += strCat("<p>", escapeHtml(b.text), "</p>\n");
            break;
        case ReportBlock::Kind::Code:
            // QTextDocument never wraps <pre>: the command line comes broken into short lines
            // (wrapCommandLine), which both HTML and the PDF keep as they are.
            out += strCat("<pre>", escapeHtml(b.text), "</pre>\n");
            break;
        case ReportBlock::Kind::List:
            out += "<ul>\n";
            for (const auto& item : b.items)
                out += strCat("<li>", escapeHtml(item), "</li>\n");
            out += "</ul>\n";
            break;
        case ReportBlock::Kind::Table:
            appendTable(out, b, options);
            break;
        case ReportBlock::Kind::Chart:
            appendChart(out, b, charts, options);
            break;
        }
    }
    out += "</body>\n</html>\n";
    return out;
}

} // namespace quantlens::core
