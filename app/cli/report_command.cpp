// Built only with the UI: the report draws its charts with ui/charts (QUANTLENS_HAVE_UI).
#ifdef QUANTLENS_HAVE_UI

#include "command.h"
#include "plan_options.h"

#include "core/advise/advisor.h"
#include "core/eval/eval.h"
#include "core/eval/llama_config.h"
#include "core/planner/catalogue.h"
#include "core/planner/model_spec.h"
#include "core/planner/planner.h"
#include "core/planner/teaching_table.h"
#include "core/report/atomic_write.h"
#include "core/report/report_data.h"
#include "core/report/report_format.h"
#include "core/report/text_escape.h"
#include "core/scan/cpu_benchmark.h"
#include "core/scan/scan_schemes.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/text_list.h"
#include "gpu/benchmark.h"
#include "gpu/device.h"
#include "gpu/scan_acceleration.h"
#include "progress_bar.h"
#include "ui/report/report_exporter.h"

#include <QApplication>

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
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
    std::string role;
    std::string policy = "as-tool";
    unsigned threads = 0;
    bool noPlan = false;
    bool noTeaching = false;
    bool noScan = false;
    std::string device = "cpu"; // where the 4-bit schemes are measured
    std::string bench; // "", "cpu" or "cuda"
    std::string benchFrom; // GPU results saved by `bench --device cuda --json`
    std::uint64_t benchSize = std::uint64_t(64) << 20;
    // Model quality (eval): on when --eval-scheme or --eval-compare is given.
    std::string evalSchemes;
    std::vector<std::string> evalCompare;
    std::string evalSensitivity;
    std::string evalSensitivityScheme;
    std::string evalTokens;
    std::string evalText;
    std::uint64_t evalSample = 8;
    std::uint64_t evalLength = 256;
    std::uint64_t evalSeed = 1;
    // The advisor: on when --advise-bits is given.
    double adviseBits = 0.0;
    std::string adviseFamily = "ggml";
    std::string adviseSchemes;
    std::string adviseCost = "weight";
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
            if (opt->as<bool>()) // --grad-checkpointing=false is given, but means the default
                out += " " + name;
            continue;
        }
        for (const auto& value : opt->results()) {
            // Paths absolute, so that the line runs from any folder (a preset id stays as it is).
            std::error_code ec;
            const bool path = name == "--output" || std::filesystem::exists(value, ec);
            out += " " + name + " "
                + core::shellQuote(path ? std::filesystem::absolute(value).lexically_normal().string() : value);
        }
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
    if (!std::getenv("XDG_RUNTIME_DIR")) {
        // Qt warns on stderr without one (a server, a container, sudo): a private folder of our own.
        const auto dir = std::filesystem::temp_directory_path() / strCat("quantlens-runtime-", ::getuid());
        std::error_code ec;
        std::filesystem::create_directory(dir, ec);
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
        if (!ec)
            setenv("XDG_RUNTIME_DIR", dir.c_str(), 1);
    }
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
    // Everything that can fail without measuring fails before the scan and the benchmark, which
    // take minutes on a large model: the output, the GPU, the options and the saved results.
    core::checkWriteTarget(o.output, o.force);
    if (o.bench == "cuda" && !gpu::available())
        throw UnsupportedError(strCat("--bench cuda: ", gpu::unavailableReason()));

    // Saved results are read before anything is measured, so that a bad file fails at once.
    std::optional<core::BenchSection> savedBench;
    if (!o.benchFrom.empty())
        savedBench = gpu::toBenchSection(gpu::loadGpuBenchmark(o.benchFrom), o.benchFrom);

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
        // (Preset ids such as "llama-3.1-8b" have a dot, but no extension of letters only.)
        const auto ext = std::filesystem::path(o.model).extension().string();
        const bool fileExtension = ext.size() > 1 && std::all_of(ext.begin() + 1, ext.end(), [](char c) {
                                       return std::isalpha(static_cast<unsigned char>(c));
                                   });
        if (o.model.find('/') != std::string::npos || fileExtension)
            throw UsageError(strCat("--model ", o.model, ": no such file"));
    }
    // The plan's model and settings are checked before the scan, which can take minutes.
    std::optional<core::PlanInput> planInput;
    if (!o.noPlan) {
        if (const auto spec = planModel(o, modelIsFile))
            planInput = toPlanInput(o.plan.settings, *spec);
        else if (modelIsFile)
            std::cerr << "note: no memory plan: there is no config.json beside " << o.model
                      << "; give --preset ID or --params N for one (or --no-plan to say so)\n";
    }
    if (modelIsFile) {
        const auto model = core::openModel(o.model);
        data.model = core::summarizeModel(*model);
        if (!o.noScan) {
            core::ScanOptions scan;
            scan.schemes = core::makeScanSchemes(o.schemes, o.scanBlocksize, o.scanDoubleQuant);
            scan.filter = o.filter;
            scan.role = o.role;
            scan.selection = core::parseSelection(o.policy);
            scan.threads = o.threads;
            if (o.device == "cuda") {
                scan.schemes = gpu::accelerateScanSchemes(scan.schemes);
                scan.chunkElements = gpu::kGpuScanChunkElements;
            }
            ProgressBar bar;
            core::ProgressSink sink([&bar](const core::Progress& p) { bar.update(p); });
            std::string whyNot;
            const std::optional<core::CalibrationData> calibration
                = core::calibrateScan(*model, scan.schemes, false, {}, o.threads, &sink, &whyNot);
            if (!whyNot.empty())
                std::cerr << "note: no calibration inputs, so the calibrated schemes keep every tensor: " << whyNot
                          << "\n";
            scan.calibration = calibration ? &*calibration : nullptr;
            scan.onProgress = [&bar](const core::ScanProgress& p) { bar.update(p.progress); };
            data.scan = core::scanModel(*model, scan, sink);
            bar.finish();
        }
    }
    if (!o.evalSchemes.empty() || !o.evalCompare.empty()) {
        if (!modelIsFile)
            throw UsageError("--eval-scheme and --eval-compare need --model FILE: the model that is run");
        const auto model = core::openModel(o.model);
        const auto config = core::llamaConfigFor(*model);
        core::EvalOptions eval;
        if (!o.evalSchemes.empty())
            eval.schemes = core::parseSchemeList(o.evalSchemes);
        for (const auto& path : o.evalCompare)
            eval.compare.emplace_back(path);
        if (!o.evalSensitivity.empty()) {
            if (eval.schemes.empty() && o.evalSensitivityScheme.empty())
                throw UsageError("--eval-sensitivity needs --eval-scheme or --eval-sensitivity-scheme");
            eval.sensitivity
                = o.evalSensitivity == "layer" ? core::SensitivityMode::Layer : core::SensitivityMode::Role;
            if (!o.evalSensitivityScheme.empty())
                eval.sensitivityScheme = core::makeScheme(o.evalSensitivityScheme);
        }
        eval.threads = o.threads;
        ProgressBar bar;
        core::ProgressSink sink([&bar](const core::Progress& p) { bar.update(p); });
        if (!o.evalTokens.empty() && !o.evalText.empty())
            throw UsageError("choose one of --eval-tokens and --eval-text");
        core::EvalInputSpec input;
        input.tokens = o.evalTokens;
        input.text = o.evalText;
        input.sequences = o.evalSample;
        input.length = o.evalLength;
        input.seed = o.evalSeed;
        const auto tokens = core::loadEvalTokens(*model, config, input, o.threads, &sink);
        data.quality = core::runEval(*model, tokens, eval, &sink);
        bar.finish();
        std::string command = "quantlens-cli eval " + core::shellQuote(std::filesystem::absolute(o.model).string());
        if (!o.evalSchemes.empty())
            command += " --scheme " + core::shellQuote(o.evalSchemes);
        for (const auto& path : o.evalCompare)
            command += " --compare " + core::shellQuote(std::filesystem::absolute(path).string());
        if (!o.evalSensitivity.empty())
            command += " --sensitivity " + o.evalSensitivity;
        if (!o.evalSensitivity.empty() && !o.evalSensitivityScheme.empty())
            command += " --sensitivity-scheme " + core::shellQuote(o.evalSensitivityScheme);
        if (!o.evalTokens.empty())
            command += " --tokens " + core::shellQuote(std::filesystem::absolute(o.evalTokens).string());
        else if (!o.evalText.empty())
            command += strCat(" --text ", core::shellQuote(std::filesystem::absolute(o.evalText).string()),
                              " --length ", o.evalLength, " --sample ", o.evalSample);
        else
            command += strCat(" --sample ", o.evalSample, " --length ", o.evalLength, " --seed ", o.evalSeed);
        data.qualityCommandLine = command;
    }
    if (o.adviseBits > 0) {
        if (!modelIsFile)
            throw UsageError("--advise-bits needs --model FILE: the model whose tensors are measured");
        const auto model = core::openModel(o.model);
        core::AdvisorOptions advise;
        advise.family
            = o.adviseFamily == "bitsandbytes" ? core::AdvisorFamily::Bitsandbytes : core::AdvisorFamily::Ggml;
        for (const auto& s : o.adviseSchemes.empty() ? std::vector<std::string> {} : splitCommaList(o.adviseSchemes))
            advise.schemes.push_back(s);
        advise.threads = o.threads;
        advise.cost = core::parseAdvisorCostKind(o.adviseCost);
        advise.budgetBytes = std::uint64_t(o.adviseBits * double(model->totalParameters()) / 8.0 + 0.5);
        ProgressBar bar;
        core::ProgressSink sink([&bar](const core::Progress& p) { bar.update(p); });
        data.advice = core::advise(*model, advise, sink);
        bar.finish();
        data.adviceCommandLine
            = strCat("quantlens-cli advise ", core::shellQuote(std::filesystem::absolute(o.model).string()),
                     " --bits-per-param ", o.adviseBits, " --family ", o.adviseFamily,
                     o.adviseSchemes.empty() ? std::string() : " --schemes " + core::shellQuote(o.adviseSchemes),
                     o.adviseCost == "weight" ? std::string() : " --cost " + o.adviseCost);
    }
    if (planInput) {
        data.plans.push_back(core::makePlanScenario({}, *planInput));
        if (!o.noTeaching)
            data.teaching = core::teachingTable(data.plans.front().result.totalParameters);
    }
    if (o.bench == "cpu") {
        core::CpuBenchmarkOptions bench;
        bench.parameters = o.benchSize;
        bench.threads = o.threads;
        core::ProgressSink sink;
        data.bench.push_back(core::cpuBenchmarkSection(
            core::runCpuBenchmark(bench, core::makeScanSchemes("nf4", 64, false).front(), sink)));
    } else if (o.bench == "cuda") {
        data.bench.push_back(gpu::toBenchSection(gpu::runGpuBenchmark(gpu::GpuBenchmarkOptions {})));
    }
    if (savedBench)
        data.bench.push_back(std::move(*savedBench));
    if (!data.model && data.plans.empty() && data.bench.empty() && !data.quality && !data.advice)
        throw UsageError(
            "nothing to report: give --model FILE (model summary and quantization error) and/or a planner model "
            "(--preset ID or --params N, or a config.json beside the model file) and/or --bench cpu|cuda or "
            "--bench-from FILE");
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
    sub->add_option("--filter", o->filter, "Only tensors whose name matches this regular expression (ignoring case)");
    sub->add_option("--role", o->role,
                    "Only tensors of these roles, comma-separated: attn_q, attn_k, ..., mlp_down, norm, ...");
    sub->add_option("--policy", o->policy,
                    "Which tensors each scheme quantizes: as-tool (as bitsandbytes / llama-quantize do) or every")
        ->check(CLI::IsMember({"as-tool", "every"}))
        ->capture_default_str();
    sub->add_option("--threads", o->threads, "Scan worker threads (default: all cores)")->check(CLI::Range(0u, 1024u));
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
    sub->add_option("--bench-from", o->benchFrom,
                    "Add a GPU benchmark section from results saved with `bench --device cuda --json` (measured "
                    "on another machine, say)");
    sub->add_option("--bench-size", o->benchSize, "Parameters the CPU benchmark scans, e.g. 64M (binary multiples)")
        ->transform(CLI::AsSizeValue(false))
        ->capture_default_str();
    auto& p = o->plan;
    sub->add_option("--eval-scheme", o->evalSchemes,
                    "Model quality: run the model and measure these schemes' perplexity, KL and top-1 agreement "
                    "(as quantlens-cli eval --scheme)");
    sub->add_option("--eval-compare", o->evalCompare, "Model quality: another file of the same model to measure")
        ->check(CLI::ExistingPath);
    sub->add_option("--eval-sensitivity", o->evalSensitivity, "Model quality: KL with one layer or role at a time")
        ->check(CLI::IsMember({"layer", "role"}));
    sub->add_option("--eval-sensitivity-scheme", o->evalSensitivityScheme,
                    "Model quality: the sensitivity run's scheme (default: the first --eval-scheme)");
    sub->add_option("--eval-tokens", o->evalTokens, "Model quality: token-id file (default: sampled from the model)")
        ->check(CLI::ExistingFile);
    sub->add_option("--eval-text", o->evalText,
                    "Model quality: plain text through the model's tokenizer, in --eval-length token sequences (at "
                    "most --eval-sample)")
        ->check(CLI::ExistingFile);
    sub->add_option("--eval-sample", o->evalSample,
                    "Model quality: sequences sampled from the model (with --eval-text: the most kept)")
        ->check(CLI::Range(std::uint64_t(1), std::uint64_t(4096)))
        ->capture_default_str();
    sub->add_option("--eval-length", o->evalLength, "Model quality: tokens per sampled sequence")
        ->check(CLI::Range(std::uint64_t(2), std::uint64_t(1) << 20))
        ->capture_default_str();
    sub->add_option("--eval-seed", o->evalSeed, "Model quality: sampling seed")->capture_default_str();
    sub->add_option("--advise-bits", o->adviseBits,
                    "Mixed precision advisor: a per-tensor mix for this many bits per parameter (as advise)")
        ->check(CLI::Range(0.5, 64.0));
    sub->add_option("--advise-family", o->adviseFamily, "Advisor: ggml or bitsandbytes")
        ->check(CLI::IsMember({"ggml", "bitsandbytes"}))
        ->capture_default_str();
    sub->add_option("--advise-schemes", o->adviseSchemes, "Advisor: candidate types, comma-separated");
    sub->add_option("--advise-cost", o->adviseCost, "Advisor: what is minimised, weight, activation or kl (as advise)")
        ->check(CLI::IsMember({"weight", "activation", "kl"}))
        ->capture_default_str();
    sub->add_option("--preset", p.preset, "Planner model: preset id or config.json (default: beside --model)");
    sub->add_option("--params", p.params, "Planner model given by parameter count: 7e9, 7B, 350M");
    addPlanSettings(*sub, p.settings);
    sub->callback([o, sub] {
        if (sub->get_option("--bench-size")->count() > 0 && o->bench != "cpu")
            throw UsageError("--bench-size sizes the CPU benchmark: give it with --bench cpu");
        runReport(*o, commandLine(*sub));
    });
}

} // namespace quantlens::cli

#endif // QUANTLENS_HAVE_UI
