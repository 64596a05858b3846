#include "core/report/report_format.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <cctype>

namespace quantlens::core {

ReportFormat reportFormatFromPath(const std::filesystem::path& path)
{
    std::string ext = path.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".html" || ext == ".htm")
        return ReportFormat::Html;
    if (ext == ".pdf")
        return ReportFormat::Pdf;
    if (ext == ".md" || ext == ".markdown")
        return ReportFormat::Markdown;
    if (ext == ".csv")
        return ReportFormat::Csv;
    if (ext == ".json")
        return ReportFormat::Json;
    throw UsageError(strCat("cannot tell the report format of '", path.string(), "' from its extension '", ext,
                            "': use .html, .pdf, .md, .csv or .json"));
}

const char* toString(ReportFormat format)
{
    switch (format) {
    case ReportFormat::Html:
        return "html";
    case ReportFormat::Pdf:
        return "pdf";
    case ReportFormat::Markdown:
        return "markdown";
    case ReportFormat::Csv:
        return "csv";
    case ReportFormat::Json:
        return "json";
    }
    return "unknown";
}

std::filesystem::path plannerCsvPath(const std::filesystem::path& path)
{
    auto out = path;
    out.replace_filename(path.stem().string() + "-planner" + path.extension().string());
    return out;
}

std::filesystem::path qualityCsvPath(const std::filesystem::path& path)
{
    auto out = path;
    out.replace_filename(path.stem().string() + "-quality" + path.extension().string());
    return out;
}

std::filesystem::path adviceCsvPath(const std::filesystem::path& path)
{
    auto out = path;
    out.replace_filename(path.stem().string() + "-advice" + path.extension().string());
    return out;
}

} // namespace quantlens::core
