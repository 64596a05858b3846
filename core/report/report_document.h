#pragma once

#include "core/report/report_data.h"

#include <string>
#include <vector>

// The report as an ordered list of blocks (headings, paragraphs, tables, charts), built once from
// ReportData and rendered by the Markdown and HTML writers, so that both say the same thing in the
// same order. Text here is raw: each renderer escapes it for its own syntax.
namespace quantlens::core {

struct ReportBlock {
    enum class Kind { Heading, Paragraph, Table, List, Code, Chart };
    Kind kind = Kind::Paragraph;
    int level = 2; // Heading: 1..3
    std::string text; // Heading, Paragraph, Code; Chart: caption
    std::vector<std::string> header; // Table
    std::vector<std::vector<std::string>> rows; // Table
    std::vector<bool> numeric; // Table: right-aligned columns
    std::vector<std::string> items; // List
    std::string chartId; // Chart: "breakdown/0", "sweep/0" (plan index), "errors/0" (scheme index)
};

// How many tensors the worst-tensors table of each scheme lists in Markdown and HTML (the CSV and
// JSON hold all of them).
inline constexpr std::size_t kWorstTensorRows = 25;

std::vector<ReportBlock> buildReportDocument(const ReportData& data, const ReportSections& sections = {});

} // namespace quantlens::core
