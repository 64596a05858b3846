#include "ui/report_builder.h"

#include "core/planner/planner.h"
#include "core/report/report_data.h"
#include "core/report/text_escape.h"
#include "core/util/text_list.h"
#include "gpu/device.h"
#include "ui/jobs/eval_job.h"
#include "ui/jobs/scan_job.h"
#include "ui/models/model_session.h"
#include "ui/views/advisor_view.h"
#include "ui/views/bench_view.h"
#include "ui/views/inspector_view.h"
#include "ui/views/planner_form.h"
#include "ui/views/planner_view.h"
#include "ui/views/quality_view.h"
#include "ui/views/teaching_table_view.h"

#include <QFileInfo>
#include <QStringList>

namespace quantlens::ui {

namespace {

QString quoted(const QString& arg)
{
    return QString::fromStdString(core::shellQuote(arg.toStdString()));
}

QString commandLine(const ModelSession& session, const core::PlanInput& p, const InspectorView& inspector, bool scanned,
                    const QStringList& benchArguments, const QStringList& qualityArguments)
{
    QStringList args {QStringLiteral("quantlens-cli"), QStringLiteral("report")};
    auto add
        = [&args](const char* option, const QString& value) { args << QString::fromLatin1(option) << quoted(value); };
    if (session.model()) {
        add("--model", session.path());
        if (scanned) {
            add("--scheme", inspector.selectedSchemes().join(QLatin1Char(',')));
            if (inspector.blockSize() > 0) // 0: each scheme's default, the CLI's default too
                add("--scan-blocksize", QString::number(inspector.blockSize()));
            if (inspector.doubleQuant())
                args << QStringLiteral("--scan-double-quant");
            if (!inspector.scannedNameFilter().isEmpty())
                add("--filter", inspector.scannedNameFilter());
            if (!inspector.scannedRoleFilter().isEmpty())
                add("--role", inspector.scannedRoleFilter());
            if (inspector.scannedTensorSelection() != core::TensorSelection::AsTool)
                add("--policy", QString::fromStdString(core::selectionName(inspector.scannedTensorSelection())));
            if (inspector.scansOnGpu())
                add("--device", QStringLiteral("cuda"));
        } else {
            args << QStringLiteral("--no-scan");
        }
    }
    if (p.model.hasArchitecture)
        add("--preset", QString::fromStdString(p.model.name));
    else
        add("--params", QString::number(p.model.parameters.total()));
    add("--method", QString::fromLatin1(core::toString(p.method)));
    add("--precision", QString::fromLatin1(core::toString(p.precision)));
    if (p.weights)
        add("--weights", QString::fromLatin1(core::toString(*p.weights)));
    if (p.doubleQuant)
        args << QStringLiteral("--double-quant");
    add("--blocksize", QString::number(p.quantBlockSize));
    add("--optimizer", QString::fromLatin1(core::toString(p.optimizer)));
    add("--seq", QString::number(p.seqLen));
    add("--batch", QString::number(p.microBatch));
    if (p.gradientCheckpointing)
        args << QStringLiteral("--grad-checkpointing");
    add("--lora-rank", QString::number(p.loraRank));
    add("--lora-alpha", QString::number(p.loraAlpha));
    add("--lora-targets", QString::fromStdString(core::loraTargetsToString(p.loraTargets)));
    add("--attention", QString::fromLatin1(core::toString(p.attention)));
    if (!p.gpu.empty())
        add("--gpu", QString::fromStdString(p.gpu));
    add("--gpus", QString::number(p.gpus));
    add("--zero", QString::number(p.zeroStage));
    const core::PlanOverheads defaults = core::defaultOverheads();
    if (p.overheads.cudaContextBytes != defaults.cudaContextBytes)
        add("--cuda-context-mib", QString::number(double(p.overheads.cudaContextBytes) / 1048576.0));
    if (p.overheads.allocatorFraction != defaults.allocatorFraction)
        add("--allocator-fraction", QString::number(p.overheads.allocatorFraction));
    for (const QString& arg : benchArguments)
        args << quoted(arg);
    for (const QString& arg : qualityArguments)
        args << quoted(arg);
    return args.join(QLatin1Char(' ')); // the export dialog adds -o with the file chosen
}

// Removes each " OPTION VALUE" (the value a word or one shell-quoted string) from a command line.
void removeOptions(std::string& line, std::initializer_list<const char*> options)
{
    for (const char* name : options) {
        const std::string option = std::string(" ") + name + " ";
        for (auto at = line.find(option); at != std::string::npos; at = line.find(option)) {
            auto end = at + option.size();
            if (end < line.size() && line[end] == '\'') {
                end = line.find('\'', end + 1);
                end = end == std::string::npos ? line.size() : end + 1;
            } else {
                end = std::min(line.find(' ', end), line.size());
            }
            line.erase(at, end - at);
        }
    }
}

} // namespace

core::ReportData buildGuiReport(const ModelSession& session, const PlannerView& planner, const InspectorView& inspector,
                                const BenchView& bench, const QualityView* quality, const AdvisorView* advisor)
{
    core::ReportData data;
    data.generatedAt = core::utcTimestamp();
    data.environment = core::collectEnvironment();
    if (gpu::available()) {
        const auto devices = gpu::devices();
        if (!devices.empty()) {
            data.environment.gpuName = devices.front().name;
            data.environment.gpuDriver = devices.front().driverVersion;
        }
    } else {
        data.environment.gpuNote = gpu::unavailableReason();
    }
    if (const auto model = session.model())
        data.model = core::summarizeModel(*model);
    const core::PlanInput& input = planner.form()->input();
    data.plans.push_back(core::makePlanScenario({}, input));
    data.teaching = planner.teachingTable();
    const bool scanned = !inspector.scanJob()->result().tensors.empty();
    if (scanned) {
        data.scan = inspector.scanJob()->result();
        // The GUI scans the rows its filters show; the report states them as the CLI's would.
        data.scan->filter = inspector.scannedNameFilter().toStdString();
        data.scan->role = inspector.scannedRoleFilter().toStdString();
    }
    data.bench = bench.reportSections();
    QStringList qualityArguments;
    if (quality && quality->job()->hasResult()) {
        data.quality = quality->job()->result();
        data.qualityCommandLine = quality->commandLine().toStdString();
        qualityArguments = quality->reportArguments();
    }
    if (advisor && advisor->result()) {
        const auto& a = *advisor->result();
        data.advice = a;
        qualityArguments << QStringLiteral("--advise-bits")
                         << QString::number(a.parameters ? double(a.budgetBytes) * 8.0 / double(a.parameters) : 0.0,
                                            'g', 10)
                         << QStringLiteral("--advise-family") << QString::fromStdString(a.family)
                         << QStringLiteral("--advise-schemes") << QString::fromStdString(joinCommaList(a.candidates));
        std::string command = "quantlens-cli advise "
            + core::shellQuote(QFileInfo(session.path()).absoluteFilePath().toStdString()) + " --size "
            + std::to_string(a.budgetBytes) + " --family " + a.family + " --schemes "
            + core::shellQuote(joinCommaList(a.candidates));
        data.adviceCommandLine = command;
    }
    data.commandLine
        = commandLine(session, input, inspector, scanned, bench.reportArguments(), qualityArguments).toStdString();
    return data;
}

core::ReportData withOutputPath(core::ReportData data, const QString& path, const core::ReportSections& sections)
{
    if (data.commandLine.empty())
        return data;
    // The sections left out that the CLI can leave out too (the model summary, benchmarks and
    // environment have no such flag).
    const auto add = [&data](const std::string& flag) {
        if ((data.commandLine + " ").find(" " + flag + " ") == std::string::npos) // a word of its own
            data.commandLine += " " + flag;
    };
    if (!sections.plans)
        add("--no-plan");
    else if (!sections.teaching)
        add("--no-teaching");
    if (!sections.errors)
        add("--no-scan");
    if (!sections.advice) // the advisor's options: --advise-bits and its companions
        removeOptions(data.commandLine, {"--advise-bits", "--advise-family", "--advise-schemes"});
    if (!sections.quality) // the quality run is what --eval-* asks for: without them there is none
        removeOptions(data.commandLine,
                      {"--eval-scheme", "--eval-compare", "--eval-sensitivity", "--eval-sensitivity-scheme",
                       "--eval-tokens", "--eval-text", "--eval-sample", "--eval-length", "--eval-seed"});
    if (!path.isEmpty())
        data.commandLine += " -o " + core::shellQuote(path.toStdString());
    return data;
}

} // namespace quantlens::ui
