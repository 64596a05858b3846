#pragma once

#include "core/report/report_data.h"

#include <map>
#include <string>

namespace quantlens::core {

// Charts rendered elsewhere (ui/report renders the app's Qt Charts to SVG), keyed by the chart ids
// of report_document.h: "breakdown/0", "sweep/0", "errors/0". A missing chart is left out.
struct ReportCharts {
    std::map<std::string, std::string> svg;
};

struct HtmlReportOptions {
    // true: charts inline as <svg> (the self-contained HTML file). false: <img src="chart:ID">
    // placeholders with the chart's size, for QTextDocument, which lays out the PDF and draws the
    // charts itself as vectors.
    bool inlineCharts = true;
    int chartWidth = 720; // CSS pixels
    int chartHeight = 340;
};

// One self-contained page: styles inline, charts inline SVG, no script, no external resource, so
// it opens offline, reads on a phone (fluid width, tables scroll sideways) and prints. Written as
// well-formed XHTML (every element closed, only XML entities) so that it also parses as XML. Every
// text from a model file is escaped (escapeHtml): a tensor named "<script>" shows as text.
std::string htmlReport(const ReportData& data, const ReportCharts& charts, const ReportSections& sections = {},
                       const HtmlReportOptions& options = {});

// The <svg> element of an SVG document: drops the XML declaration, DOCTYPE and comments before it,
// so it can sit inside an HTML page. Empty when there is no <svg element.
std::string svgElement(const std::string& svgDocument);

} // namespace quantlens::core
