#pragma once

#include <filesystem>
#include <string>

namespace quantlens::core {

enum class ReportFormat { Html, Pdf, Markdown, Csv, Json };

// From the output file's extension (case-insensitive): .html/.htm, .pdf, .md/.markdown, .csv,
// .json. UsageError naming the extension and listing the accepted ones otherwise.
ReportFormat reportFormatFromPath(const std::filesystem::path& path);
const char* toString(ReportFormat format); // "html", "pdf", "markdown", "csv", "json"

// A CSV report is two tables: the per-tensor errors go to the file asked for and the planner
// breakdown to a sibling named "<stem>-planner.csv" (report.csv + report-planner.csv). Without a
// scan, the planner breakdown alone goes to the file asked for.
std::filesystem::path plannerCsvPath(const std::filesystem::path& path);
// The model-quality table of a CSV report: "<stem>-quality.csv", or the file asked for when it is
// the only table.
std::filesystem::path qualityCsvPath(const std::filesystem::path& path);
// report.csv -> report-advice.csv
std::filesystem::path adviceCsvPath(const std::filesystem::path& path);

} // namespace quantlens::core
