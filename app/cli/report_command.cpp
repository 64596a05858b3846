// Built only with the UI: the report draws its charts with ui/charts (QUANTLENS_HAVE_UI).
#ifdef QUANTLENS_HAVE_UI

#include "command.h"
#include "plan_options.h"

#include "core/planner/catalogue.h"
#include "core/planner/model_spec.h"
#include "core/planner/planner.h"
#include "core/planner/teaching_table.h"
#include "core/report/report_data.h"
#include "core/report/report_format.h"
#include "core/scan/cpu_benchmark.h"
#include "core/scan/scan_schemes.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "gpu/benchmark.h"
#include "gpu/device.h"
#include "gpu/scan_acceleration.h"
#include "progress_bar.h"
#include "ui/report/report_exporter.h"

#include <QApplication>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <set>

// quantlens-cli report: the analyses of `info`, `inspect` and `plan` gathered into one shareable
// file (issue 8), written by ui::exportReport, the function the GUI's Export dialog calls.
namespace quantlens::cli {

namespace {

// The planner's model for a report: --preset or --params, else the config.json beside --model.
struct ReportPlanOptions {
    std::string preset;
    std::string params;
    PlanSettings settings;
};

struct ReportOptionsCli {
    std::string model;
    std::string schemes = "nf4";
    std::uint64_t scanBlocksize = 0;
    bool scanDoubleQuant = false;
    std::string filter;
    unsigned threads = 0;
    bool noPlan = false;
    bool noTeaching = false;
    bool noScan = false;
    std::string device = "cpu"; // where the 4-bit schemes are measured
    std::string bench; // "", "cpu" or "cuda"
    std::uint64_t benchSize = std::uint64_t(64) << 20;
    std::string title;
    std::string output;
    bool force = false;
    ReportPlanOptions plan;
};

// The planner's model: --preset or --params when given, else the config.json beside the model file,
// else --model itself when it names a preset rather than a file.
std::optional<core::ModelSpec> planModel(const ReportOptionsCli& o, bool modelIsFile)
{
    if (!o.plan.preset.empty() && !o.plan.params.empty())
        throw UsageError("give either --preset or --params, not both");
    if (!o.plan.preset.empty())
        return core::resolveModel(o.plan.preset);
    if (!o.plan.params.empty())
        return core::modelSpecFromParameterCount(core::parseParameterCount(o.plan.params));
    if (o.model.empty())
        return std::nullopt;
    if (!modelIsFile)
        return core::resolveModel(o.model);
    const std::filesystem::path file(o.model);
    const auto folder = std::filesystem::is_directory(file) ? file : file.parent_path();
    const auto config = folder / "config.json";
    if (std::filesystem::exists(config))
        return core::modelSpecFromConfigFile(config.string());
    return std::nullopt;
}

std::string shellQuote(const std::string& arg)
{
    if (!arg.empty()
        && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=,:+@%")
            == std::string::npos)
        return arg;
    std::string out = "'";
    for (const char c : arg)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// The options without a value, written without the "true" CLI11 records for them.
const std::set<std::string> kFlags {"--force",       "--scan-double-quant", "--no-scan",           "--no-plan",
                                    "--no-teaching", "--double-quant",      "--grad-checkpointing"};

// The options as given, in declaration order: a line that regenerates the report.
std::string commandLine(const CLI::App& sub)
{
    std::string out = "quantlens-cli report";
    for (const CLI::Option* opt : sub.get_options()) {
        if (opt->count() == 0 || opt->get_name() == "--help")
            continue;
        const std::string name = opt->get_name();
        if (kFlags.count(name) > 0) {
            out += " " + name;
            continue;
        }
        for (const auto& value : opt->results())
            out += " " + name + " " + shellQuote(value);
    }
    return out;
}

void fillEnvironmentGpu(core::ReportEnvironment& env)
{
    if (!gpu::available()) {
        env.gpuNote = gpu::unavailableReason();
        return;
    }
    const auto devices = gpu::devices();
    if (devices.empty())
        return;
    env.gpuName = devices.front().name;
    if (devices.size() > 1)
        env.gpuName += strCat(" (and ", devices.size() - 1, " more)");
    env.gpuDriver = devices.front().driverVersion;
}

// Charts need a QApplication; with no display (a server, CI) Qt's offscreen platform draws them.
void ensureApplication()
{
    if (QApplication::instance())
        return;
    if (!std::getenv("DISPLAY") && !std::getenv("WAYLAND_DISPLAY") && !std::getenv("QT_QPA_PLATFORM"))
        setenv("QT_QPA_PLATFORM", "offscreen", 1);
    static int argc = 1;
    static char name[] = "quantlens-cli";
    static char* argv[] = {name, nullptr};
    static QApplication app(argc, argv);
}

void runReport(const ReportOptionsCli& o, const std::string& regenerate)
{
    if (o.output.empty())
        throw UsageError("an output file is required: -o report.html (or .pdf, .md, .csv, .json)");
    const auto format = core::reportFormatFromPath(o.output);
    ui::ReportOptions options;
    options.force = o.force;
    if (!o.force && std::filesystem::exists(o.output))
        throw UsageError(strCat(o.output, " exists; use --force to replace it"));

    core::ReportData data;
    if (!o.title.empty())
        data.title = o.title;
    data.generatedAt = core::utcTimestamp();
    data.commandLine = regenerate;
    data.environment = core::collectEnvironment();
    fillEnvironmentGpu(data.environment);

    const bool modelIsFile = !o.model.empty() && std::filesystem::exists(o.model);
    if (!o.model.empty() && !modelIsFile) {
        // A preset id has neither a folder nor a model file's extension; anything else was meant as a file.
        const auto ext = std::filesystem::path(o.model).extension().string();
        if (o.model.find('/') != std::string::npos || ext == ".safetensors" || ext == ".gguf" || ext == ".json")
            throw UsageError(strCat("--model ", o.model, ": no such file"));
    }
    if (modelIsFile) {
        const auto model = core::openModel(o.model);
        data.model = core::summarizeModel(*model);
        if (!o.noScan) {
            core::ScanOptions scan;
            scan.schemes = core::makeScanSchemes(o.schemes, o.scanBlocksize, o.scanDoubleQuant);
            scan.filter = o.filter;
            scan.threads = o.threads;
            if (o.device == "cuda") {
                scan.schemes = gpu::accelerateScanSchemes(scan.schemes);
                scan.chunkElements = gpu::kGpuScanChunkElements;
            }
            ProgressBar bar;
            core::ProgressSink sink;
            scan.onProgress = [&bar](const core::ScanProgress& p) { bar.update(p.progress); };
            data.scan = core::scanModel(*model, scan, sink);
            bar.finish();
            if (data.scan->tensors.empty() && !o.filter.empty())
                throw UsageError("no tensor name matches --filter '" + o.filter + "'");
        }
    }
    if (!o.noPlan) {
        if (const auto spec = planModel(o, modelIsFile)) {
            data.plans.push_back(core::makePlanScenario("This plan", toPlanInput(o.plan.settings, *spec)));
            if (!o.noTeaching)
                data.teaching = core::teachingTable(data.plans.front().result.totalParameters);
        }
    }
    if (o.bench == "cpu") {
        core::CpuBenchmarkOptions bench;
        bench.parameters = o.benchSize;
        bench.threads = o.threads;
        core::ProgressSink sink;
        data.bench.push_back(core::cpuBenchmarkSection(
            core::runCpuBenchmark(bench, core::makeScanSchemes("nf4", 64, false).front(), sink)));
    } else if (o.bench == "cuda") {
        if (!gpu::available())
            throw UnsupportedError(strCat("--bench cuda: ", gpu::unavailableReason()));
        data.bench.push_back(gpu::toBenchSection(gpu::runGpuBenchmark(gpu::GpuBenchmarkOptions {})));
    }
    if (!data.model && data.plans.empty() && data.bench.empty())
        throw UsageError(
            "nothing to report: give --model FILE (model summary and quantization error) and/or a planner model "
            "(--preset ID or --params N, or a config.json beside the model file) and/or --bench cpu|cuda");
    if (format == core::ReportFormat::Html || format == core::ReportFormat::Pdf)
        ensureApplication();
    ui::exportReport(data, QString::fromStdString(o.output), options);
    std::cerr << "wrote " << o.output;
    for (const auto& extra : ui::reportOutputFiles(data, QString::fromStdString(o.output), options).mid(1))
        std::cerr << " and " << extra.toStdString();
    std::cerr << "\n";
}

} // namespace

void setupReportCommand(CLI::App& app)
{
    auto o = std::make_shared<ReportOptionsCli>();
    auto* sub = app.add_subcommand(
        "report", "Write a shareable report (HTML, PDF, Markdown, CSV or JSON, from the -o extension)");
    sub->add_option("-o,--output", o->output, "report.html | report.pdf | report.md | report.csv | report.json")
        ->required();
    sub->add_flag("--force", o->force, "Replace the output file if it exists");
    sub->add_option("--title", o->title, "Report title");
    sub->add_option("--model", o->model,
                    "Model file, sharded index or folder (summary + quantization error), or a planner preset id");
    sub->add_option("--scheme", o->schemes, "Schemes to measure, comma-separated (nf4,fp4,int8,...)")
        ->capture_default_str();
    sub->add_option("--scan-blocksize", o->scanBlocksize, "Block size of the measured block schemes");
    sub->add_flag("--scan-double-quant", o->scanDoubleQuant, "Measure 4-bit schemes with double quantization");
    sub->add_option("--filter", o->filter, "Only tensors whose name matches this regular expression");
    sub->add_option("--threads", o->threads, "Scan worker threads (default: all cores)");
    sub->add_flag("--no-scan", o->noScan, "Leave out the quantization error");
    sub->add_flag("--no-plan", o->noPlan, "Leave out the memory plan");
    sub->add_flag("--no-teaching", o->noTeaching, "Leave out the teaching table");
    sub->add_option("--device", o->device, "Measure the nf4/fp4 schemes on cpu or cuda")
        ->check(CLI::IsMember({"cpu", "cuda"}))
        ->capture_default_str();
    sub->add_option("--bench", o->bench,
                    "Add a benchmark section: cpu (the scan against the memory-read bound) or cuda (our kernels "
                    "against the copy bandwidth and cuBLAS)")
        ->check(CLI::IsMember({"cpu", "cuda"}));
    sub->add_option("--bench-size", o->benchSize, "Parameters the CPU benchmark scans, e.g. 64M (binary multiples)")
        ->transform(CLI::AsSizeValue(false))
        ->capture_default_str();
    auto& p = o->plan;
    sub->add_option("--preset", p.preset, "Planner model: preset id or config.json (default: beside --model)");
    sub->add_option("--params", p.params, "Planner model given by parameter count: 7e9, 7B, 350M");
    addPlanSettings(*sub, p.settings);
    sub->callback([o, sub] { runReport(*o, commandLine(*sub)); });
}

} // namespace quantlens::cli

#endif // QUANTLENS_HAVE_UI
