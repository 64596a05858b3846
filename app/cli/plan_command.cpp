#include "command.h"
#include "plan_options.h"

#include "core/planner/plan_json.h"
#include "core/planner/planner.h"
#include "core/planner/teaching_table.h"
#include "core/report/report_text.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/units.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

// quantlens-cli plan: the memory planner on the command line (issue 3). Parsing fills a
// core::PlanInput; everything else is core's.
namespace quantlens::cli {

namespace {

struct PlanOptions {
    std::string model;
    std::string params;
    PlanSettings plan;
    bool simple = false;
    std::string bits = "4,4,8,4";
    std::string baselineBits = "16,16,32,16";
    int optimizerStates = 2;
    bool json = false;
};

core::TeachingSetup parseBits(const std::string& text, int states, const char* option)
{
    std::vector<double> values;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        try {
            std::size_t used = 0;
            values.push_back(std::stod(item, &used));
            if (used != item.size())
                throw std::invalid_argument(item);
        } catch (const std::exception&) {
            throw UsageError(strCat(option, " '", text, "': '", item, "' is not a number of bits"));
        }
    }
    if (values.size() != 4)
        throw UsageError(
            strCat(option, " '", text, "': give four bit widths: weights,gradients,optimizer,activations"));
    return {values[0], values[1], values[2], states, values[3]};
}

core::PlanInput toPlanInput(const PlanOptions& o)
{
    if (!o.model.empty() && !o.params.empty())
        throw UsageError("give either --model or --params, not both");
    if (!o.model.empty())
        return cli::toPlanInput(o.plan, core::resolveModel(o.model));
    if (!o.params.empty())
        return cli::toPlanInput(o.plan, core::modelSpecFromParameterCount(core::parseParameterCount(o.params)));
    throw UsageError("a model is required: --model PRESET|config.json or --params N");
}

std::string bar(double fraction, int width)
{
    const int cells = static_cast<int>(std::lround(std::clamp(fraction, 0.0, 1.0) * width));
    std::string out;
    for (int i = 0; i < cells; ++i)
        out += "\u2588";
    out += std::string(static_cast<std::size_t>(width - cells), ' ');
    return out;
}

std::string padRight(const std::string& s, std::size_t width)
{
    return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string padLeft(const std::string& s, std::size_t width)
{
    return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

void printSimple(const core::TeachingTable& t, const core::PlanResult* realistic)
{
    std::cout << "Teaching table for " << core::formatThousands(t.parameters)
              << " parameters (bytes = parameters x bits / 8; activations assumed = parameters)\n\n";
    const auto row = [](const char* name, double a, double b, const std::string& sa, const std::string& sb) {
        std::cout << padRight(name, 22) << padRight(sa, 10) << padLeft(core::formatGB(a), 12) << "    "
                  << padRight(sb, 10) << padLeft(core::formatGB(b), 12) << "\n";
    };
    const auto& b = t.baseline;
    const auto& q = t.quantized;
    const auto bits = [](double v) { return strCat(v, "-bit"); };
    std::cout << padRight("component", 22) << padRight("baseline", 22) << "    "
              << "quantized\n";
    row("parameters", b.weightsBytes, q.weightsBytes, bits(b.setup.weightBits), bits(q.setup.weightBits));
    row("gradients", b.gradientsBytes, q.gradientsBytes, bits(b.setup.gradientBits), bits(q.setup.gradientBits));
    row(strCat("optimizer states (", b.setup.optimizerStates, ")").c_str(), b.optimizerBytes, q.optimizerBytes,
        bits(b.setup.optimizerBits), bits(q.setup.optimizerBits));
    row("activations", b.activationsBytes, q.activationsBytes, bits(b.setup.activationBits),
        bits(q.setup.activationBits));
    row("total", b.totalBytes(), q.totalBytes(), "", "");
    std::printf("\nReduction: %.1f%%\n", t.reduction * 100.0);
    if (realistic)
        std::cout << "Realistic QLoRA estimate for the same model (seq 512, batch 1, checkpointing): "
                  << core::formatGBAndGiB(static_cast<double>(realistic->peakBytes)) << "\n";
    std::cout << t.whyRealDiffers << "\n";
}

void printPlan(const core::PlanInput& in, const core::PlanResult& r, std::optional<std::int64_t> maxBatch,
               std::optional<std::int64_t> maxSeq, const std::vector<core::Suggestion>& advice)
{
    std::cout << "Model      " << in.model.displayName << ": " << core::formatThousands(r.totalParameters)
              << " parameters, " << core::formatThousands(r.trainableParameters) << " trainable\n";
    std::cout << "Setup      " << core::planSetupText(in);
    std::cout << "\n\n";
    const double peak = static_cast<double>(r.peakBytes);
    std::cout << padRight("component", 18) << padLeft("GB", 10) << padLeft("GiB", 10) << "  share of peak\n";
    for (const auto& e : r.components) {
        if (e.bytes == 0 && e.bytesAtPeak == 0)
            continue;
        const double v = static_cast<double>(e.bytesAtPeak);
        char gb[32];
        char gib[32];
        std::snprintf(gb, sizeof gb, "%.2f", core::toGB(v));
        std::snprintf(gib, sizeof gib, "%.2f", core::toGiB(v));
        std::cout << padRight(core::componentLabel(e.component), 18) << padLeft(gb, 10) << padLeft(gib, 10) << "  "
                  << bar(peak > 0 ? v / peak : 0, 30);
        if (e.bytes != e.bytesAtPeak)
            std::cout << "  (" << core::formatGB(static_cast<double>(e.bytes)) << " in all, not at the peak)";
        std::cout << "\n";
    }
    std::cout << padRight("peak (nvidia-smi)", 18) << " " << core::formatGBAndGiB(peak) << ", at the " << r.peakPhase
              << "\n";
    std::cout << padRight("PyTorch", 18) << " allocated " << core::formatGB(double(r.allocatedBytes)) << ", reserved "
              << core::formatGB(double(r.reservedBytes))
              << (r.simulated ? " (the step simulated through the caching allocator)"
                              : " (allocator reserve as a fraction: not simulated for this setup)")
              << "; outside the allocator " << core::formatGB(double(r.outsideAllocatorBytes)) << "\n";
    if (r.pagedOptimizerBytes > 0)
        std::cout << "           of which paged optimizer states that may spill to CPU: "
                  << core::formatGB(static_cast<double>(r.pagedOptimizerBytes)) << "\n";
    std::cout << "\nHow each number is computed:\n";
    for (const auto& e : r.components) {
        if (e.bytes > 0)
            std::cout << "  " << padRight(core::componentLabel(e.component), 17) << e.formula << "\n";
    }
    if (r.gpu) {
        std::cout << "\nGPU        " << r.gpu->name << ": " << core::formatGBAndGiB(double(r.gpu->memoryBytesUsable))
                  << " usable (" << core::formatGB(double(r.gpu->memoryBytesSold), 0) << " as sold)\n";
        std::cout << "Fits       "
                  << (r.fits ? (core::fitsComfortably(r) ? "yes" : "only just (under 2% spare)") : "NO")
                  << ", headroom " << (r.headroomBytes < 0 ? "-" : "")
                  << core::formatGB(std::fabs(double(r.headroomBytes)))
                  << (r.cannotRun.empty() ? std::string() : " in memory, but it CANNOT RUN: " + r.cannotRun) << "\n";
        if (maxBatch)
            std::cout << "Largest micro-batch that fits at seq " << in.seqLen << ": "
                      << core::searchedLimitText(*maxBatch, core::kMaxMicroBatchSearched) << "\n";
        if (maxSeq)
            std::cout << "Longest sequence that fits at batch " << in.microBatch << ": "
                      << core::searchedLimitText(*maxSeq, core::kMaxSeqLenSearched) << "\n";
    }
    for (const auto& note : r.notes)
        std::cout << "Note       " << note << "\n";
    if (!advice.empty()) {
        std::cout << "\nTo lower the peak:\n";
        for (const auto& s : advice)
            std::cout << "  - " << s.text << ": " << core::formatGB(double(s.peakBytes))
                      << (r.gpu ? (s.fits ? " (fits)" : " (does not fit)") : "") << "\n";
    }
}

void runPlan(const PlanOptions& o)
{
    if (o.simple) {
        if (o.params.empty() && o.model.empty())
            throw UsageError("--simple needs --params N (or --model)");
        const std::uint64_t p
            = o.params.empty() ? core::resolveModel(o.model).parameters.total() : core::parseParameterCount(o.params);
        const auto table = core::teachingTable(p, parseBits(o.baselineBits, o.optimizerStates, "--baseline-bits"),
                                               parseBits(o.bits, o.optimizerStates, "--bits"));
        core::PlanInput real;
        real.model = o.params.empty() ? core::resolveModel(o.model) : core::modelSpecFromParameterCount(p);
        real.method = core::TrainingMethod::Qlora;
        real.doubleQuant = true;
        real.seqLen = 512;
        real.gradientCheckpointing = true;
        real.optimizer = core::OptimizerKind::PagedAdamW8bit;
        const auto realistic = core::evaluate(real);
        if (o.json) {
            nlohmann::json out;
            out["simple"] = core::toJson(table);
            out["realistic_qlora"] = core::toJson(real, realistic);
            std::cout << out.dump(2) << "\n";
        } else {
            printSimple(table, &realistic);
        }
        return;
    }
    const core::PlanInput in = toPlanInput(o);
    const core::PlanResult r = core::evaluate(in);
    std::optional<std::int64_t> maxBatch;
    std::optional<std::int64_t> maxSeq;
    if (!in.gpu.empty()) {
        maxBatch = core::maxMicroBatch(in);
        maxSeq = core::maxSeqLen(in);
    }
    const auto advice = core::suggestions(in);
    if (o.json) {
        nlohmann::json out = core::toJson(in, r);
        core::addPlanAnswers(out, in, maxBatch, maxSeq, advice);
        std::cout << out.dump(2) << "\n";
        return;
    }
    printPlan(in, r, maxBatch, maxSeq, advice);
}

} // namespace

void setupPlanCommand(CLI::App& app)
{
    auto o = std::make_shared<PlanOptions>();
    auto* sub = app.add_subcommand("plan", "Will this finetune fit on my GPU? Peak memory per component");
    sub->add_option("--model", o->model, "Preset id (e.g. llama-2-7b) or path to a Hugging Face config.json");
    sub->add_option("--params", o->params, "Bare parameter count instead of a model: 7e9, 7B, 350M");
    addPlanSettings(*sub, o->plan);
    sub->add_flag("--simple", o->simple, "The teaching table: parameters x bits per component");
    sub->add_option("--bits", o->bits, "--simple: quantized column bits weights,gradients,optimizer,activations")
        ->capture_default_str();
    sub->add_option("--baseline-bits", o->baselineBits, "--simple: baseline column bits")->capture_default_str();
    sub->add_option("--optimizer-states", o->optimizerStates, "--simple: optimizer states per parameter")
        ->capture_default_str();
    sub->add_flag("--json", o->json, "Machine-readable output");
    sub->callback([o] { runPlan(*o); });
}

} // namespace quantlens::cli
