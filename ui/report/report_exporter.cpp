#include "ui/report/report_exporter.h"

#include "core/report/atomic_write.h"
#include "core/report/csv_report.h"
#include "core/report/html_report.h"
#include "core/report/markdown_report.h"
#include "core/report/report_format.h"
#include "core/report/report_json.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "ui/report/pdf_report.h"
#include "ui/report/report_charts.h"

#include <QStringList>

#include <filesystem>
#include <utility>
#include <vector>

namespace quantlens::ui {

namespace {

using Output = std::pair<std::filesystem::path, std::string>;

std::filesystem::path toPath(const QString& path)
{
    return std::filesystem::path(path.toStdString());
}

bool hasScan(const core::ReportData& data, const ReportOptions& o)
{
    return o.sections.errors && data.scan.has_value();
}

bool hasPlans(const core::ReportData& data, const ReportOptions& o)
{
    return o.sections.plans && !data.plans.empty();
}

bool hasQuality(const core::ReportData& data, const ReportOptions& o)
{
    return o.sections.quality && data.quality.has_value();
}

bool hasAdvice(const core::ReportData& data, const ReportOptions& o)
{
    return o.sections.advice && data.advice.has_value();
}

// The files of a CSV report, in the order scan, plans, quality, advice: the first table present goes to
// the file asked for, the others to its siblings.
std::vector<std::filesystem::path> csvFiles(const core::ReportData& data, const std::filesystem::path& path,
                                            const ReportOptions& o)
{
    if (!hasScan(data, o) && !hasPlans(data, o) && !hasQuality(data, o) && !hasAdvice(data, o))
        throw UsageError(strCat("nothing to write to ", path.string(),
                                ": a CSV report holds the per-tensor errors (--model with --scheme), the planner "
                                "breakdown (plan options), the model quality (--eval-scheme) or the advisor's mix "
                                "(--advise-bits), and none is included"));
    std::vector<std::filesystem::path> files;
    if (hasScan(data, o))
        files.push_back(path);
    if (hasPlans(data, o))
        files.push_back(files.empty() ? path : core::plannerCsvPath(path));
    if (hasQuality(data, o))
        files.push_back(files.empty() ? path : core::qualityCsvPath(path));
    if (hasAdvice(data, o))
        files.push_back(files.empty() ? path : core::adviceCsvPath(path));
    return files;
}

} // namespace

QStringList reportOutputFiles(const core::ReportData& data, const QString& path, const ReportOptions& options)
{
    const auto file = toPath(path);
    if (core::reportFormatFromPath(file) != core::ReportFormat::Csv)
        return {path};
    QStringList out;
    for (const auto& f : csvFiles(data, file, options))
        out << QString::fromStdString(f.string());
    return out;
}

void exportReport(const core::ReportData& data, const QString& path, const ReportOptions& options)
{
    const auto file = toPath(path);
    std::vector<Output> outputs;
    switch (core::reportFormatFromPath(file)) {
    case core::ReportFormat::Html:
        outputs.emplace_back(file,
                             core::htmlReport(data, renderReportCharts(data, options.sections), options.sections));
        break;
    case core::ReportFormat::Pdf: {
        const QByteArray pdf = pdfReport(data, renderReportCharts(data, options.sections), options.sections);
        outputs.emplace_back(file, pdf.toStdString());
        break;
    }
    case core::ReportFormat::Markdown:
        outputs.emplace_back(file, core::markdownReport(data, options.sections));
        break;
    case core::ReportFormat::Json:
        outputs.emplace_back(file, core::reportToJson(data, options.sections).dump(2) + "\n");
        break;
    case core::ReportFormat::Csv: {
        const auto files = csvFiles(data, file, options);
        std::size_t next = 0;
        if (hasScan(data, options))
            outputs.emplace_back(files[next++], core::tensorErrorsCsv(*data.scan));
        if (hasPlans(data, options))
            outputs.emplace_back(files[next++], core::plannerBreakdownCsv(data.plans));
        if (hasQuality(data, options))
            outputs.emplace_back(files[next++], core::qualityCsv(*data.quality));
        if (hasAdvice(data, options))
            outputs.emplace_back(files[next++], core::adviceCsv(*data.advice));
        break;
    }
    }
    // Every refusal before anything is written: a CSV report never leaves one of its files behind.
    core::writeFilesAtomically(outputs, options.force);
}

} // namespace quantlens::ui
