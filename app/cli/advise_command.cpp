#include "command.h"
#include "interrupt.h"
#include "plan_options.h"
#include "progress_bar.h"
#include "text_columns.h"
#include "token_options.h"

#include "core/advise/advisor.h"
#include "core/advise/gpu_budget.h"
#include "core/advise/recipe.h"
#include "core/model/model.h"
#include "core/report/atomic_write.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/text_list.h"
#include "core/util/units.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <string>

namespace quantlens::cli {

namespace {

struct AdviseOptions {
    std::string file;
    double bitsPerParam = 0.0;
    std::uint64_t size = 0;
    std::string family = "ggml";
    std::string schemes;
    std::string cost = "weight";
    unsigned threads = 0;
    bool json = false;
    std::string output;
    bool force = false;
    PlanSettings plan; // --gpu and the rest of the plan
    TokenOptions input; // for the activation and KL costs
};

void printText(const core::AdvisorResult& r)
{
    const auto bits = [&](std::uint64_t bytes) { return double(bytes) * 8.0 / double(r.parameters); };
    std::cout << "Model: " << r.model << " (" << core::formatThousands(r.parameters) << " parameters)\n"
              << "Family: " << r.family << "; " << r.policy << "\n"
              << "Candidates: " << joinCommaList(r.candidates) << "\n"
              << "Cost minimised: " << r.costKind << "\n\n"
              << "Budget " << core::formatBinaryBytes(double(r.budgetBytes)) << " ("
              << formatNumber("%.3f", bits(r.budgetBytes)) << " bits/param)"
              << (r.budgetSource.empty() ? "" : ", " + r.budgetSource) << "; mixes of these candidates run from "
              << core::formatBinaryBytes(double(r.smallestBytes)) << " to "
              << core::formatBinaryBytes(double(r.largestBytes)) << ".\n"
              << "Mix: " << core::formatBinaryBytes(double(r.totalBytes)) << " ("
              << formatNumber("%.3f", bits(r.totalBytes)) << " bits/param), predicted cost "
              << formatNumber("%.6g", r.predictedCost)
              << (r.exact ? " (optimal)"
                          : strCat(" (at most ", formatNumber("%.3g", r.predictedCost - r.lowerBound),
                                   " above the optimum)"))
              << (r.fourBitType.empty() ? "" : ", 4-bit type " + r.fourBitType) << "\n";
    std::map<std::string, std::pair<int, std::uint64_t>> byScheme;
    for (const auto& a : r.assignment) {
        ++byScheme[a.scheme].first;
        byScheme[a.scheme].second += a.bytes;
    }
    std::cout << "  ";
    for (const auto& [scheme, count] : byScheme)
        std::cout << scheme << ": " << count.first << " tensors (" << core::formatBinaryBytes(double(count.second))
                  << ")  ";
    std::cout << "\n\n"
              << padColumn("tensor", 44, true) << padColumn("layer", 6) << "  " << padColumn("role", 10, true)
              << padColumn("scheme", 8, true) << padColumn("bytes", 12) << padColumn("cost", 12) << "\n";
    for (const auto& a : r.assignment)
        std::cout << padColumn(a.tensor, 44, true) << padColumn(a.layer < 0 ? "-" : std::to_string(a.layer), 6) << "  "
                  << padColumn(a.role, 10, true) << padColumn(a.scheme, 8, true)
                  << padColumn(core::formatThousands(a.bytes), 12) << padColumn(formatNumber("%.4g", a.cost), 12)
                  << "\n";
    std::cout << "\nEach candidate alone (as its tool applies it):\n";
    for (const auto& u : r.uniform)
        std::cout << "  " << padColumn(u.scheme, 14, true) << padColumn(core::formatBinaryBytes(double(u.bytes)), 12)
                  << "  " << formatNumber("%6.3f", bits(u.bytes)) << " bits/param  cost "
                  << formatNumber("%.6g", u.cost) << (u.note.empty() ? "" : "  (" + u.note + ")") << "\n";
    if (!r.llamaCppMixes.empty()) {
        std::cout << "\nllama.cpp's own mixes (llama-quantize file types, its per-tensor rules), and the advisor at "
                     "the same size:\n";
        for (const auto& m : r.llamaCppMixes) {
            // The frontier's least cost at or below this size.
            double best = std::numeric_limits<double>::infinity();
            for (const auto& p : r.frontier)
                if (p.bytes <= m.bytes)
                    best = std::min(best, p.cost);
            std::cout << "  " << padColumn(m.scheme, 16, true)
                      << padColumn(core::formatBinaryBytes(double(m.bytes)), 12) << "  "
                      << formatNumber("%6.3f", bits(m.bytes)) << " bits/param  cost " << formatNumber("%.6g", m.cost)
                      << "   advisor (frontier) " << formatNumber("%.6g", best) << "\n";
        }
    }
    std::cout << "\nFrontier (the least cost at each size): " << r.frontier.size() << " points from "
              << core::formatBinaryBytes(double(r.frontier.front().bytes)) << " to "
              << core::formatBinaryBytes(double(r.frontier.back().bytes)) << " (--json lists them)\n"
              << "Solved in " << formatNumber("%.2f", r.seconds) << " s (measuring included).\n";
}

void runAdvise(const AdviseOptions& o, bool bitsGiven, bool sizeGiven)
{
    if (!o.output.empty())
        core::checkWriteTarget(o.output, o.force); // before minutes of measuring
    const bool gpuGiven = !o.plan.gpu.empty();
    if (int(bitsGiven) + int(sizeGiven) + int(gpuGiven) != 1)
        throw UsageError("give the budget: --bits-per-param B, --size BYTES or --gpu ID [plan options] (one of them)");
    const auto cost = core::parseAdvisorCostKind(o.cost);
    const core::EvalInputSpec tokens = toInputSpec(o.input);
    const auto model = core::openModel(o.file);
    core::AdvisorOptions options;
    options.family = o.family == "bitsandbytes" ? core::AdvisorFamily::Bitsandbytes : core::AdvisorFamily::Ggml;
    if (!o.schemes.empty()) {
        for (const auto& s : splitCommaList(o.schemes))
            options.schemes.push_back(s);
    }
    options.threads = o.threads;
    options.cost = cost;
    options.tokens = tokens;
    options.budgetBytes
        = sizeGiven ? o.size : std::uint64_t(std::llround(o.bitsPerParam * double(model->totalParameters()) / 8.0));
    std::string budgetSource = sizeGiven ? "given as --size" : strCat("given as --bits-per-param ", o.bitsPerParam);
    if (gpuGiven) {
        PlanSettings settings = o.plan;
        if (settings.weights.empty() && options.family == core::AdvisorFamily::Bitsandbytes)
            settings.weights = "nf4"; // bitsandbytes dequantizes each 4-bit weight for its matmul
        const auto budget = core::weightBudgetForGpu(toPlanInput(settings, core::modelSpecFor(*model)));
        options.budgetBytes = budget.bytes;
        budgetSource
            = strCat("what fits ", budget.plan.gpu->name, " (", core::formatBinaryBytes(double(budget.usableBytes)),
                     " usable) beside the rest of the plan (", settings.method, ", seq ", settings.seq, ", batch ",
                     settings.batch, "), which peaks at ", core::formatBinaryBytes(double(budget.restBytes)),
                     " without weights");
    }
    ProgressBar bar;
    core::ProgressSink sink([&bar](const core::Progress& p) { bar.update(p); });
    InterruptCancels interrupt(sink);
    const auto measured = core::measureForAdvice(*model, options, sink);
    bar.finish();
    if (gpuGiven) {
        const auto [least, most] = core::adviceSpan(measured);
        if (options.budgetBytes > most) {
            budgetSource
                += strCat("; more than the largest mix, ", most, " bytes, so every tensor takes its largest type");
            options.budgetBytes = most;
        }
    }
    auto result = core::solveAdvice(measured, options.budgetBytes, options.frontierPoints);
    result.budgetSource = budgetSource;
    if (o.json)
        std::cout << core::adviceToJson(result).dump(2) << "\n";
    else
        printText(result);
    if (!o.output.empty()) {
        const std::filesystem::path out(o.output);
        std::string text;
        if (out.extension() == ".sh")
            text = core::llamaQuantizeScript(result, "model-f16.gguf", "model-mix.gguf");
        else if (out.extension() == ".json")
            text = core::bitsandbytesConfig(result).dump(2) + "\n";
        else if (out.extension() == ".py")
            text = core::bitsandbytesPython(result, std::filesystem::absolute(o.file).parent_path().string());
        else
            throw UsageError(strCat("-o ", o.output,
                                    ": write the recipe as .sh (llama-quantize), .json "
                                    "(BitsAndBytesConfig) or .py (transformers)"));
        core::writeFileAtomically(out, text, o.force);
        std::cerr << "wrote " << o.output << "\n";
    }
}

} // namespace

void setupAdviseCommand(CLI::App& app)
{
    auto o = std::make_shared<AdviseOptions>();
    auto* sub = app.add_subcommand("advise",
                                   "Which tensors to keep at more bits for a size budget: a per-tensor mix of types "
                                   "with the least total error, against each type alone");
    sub->add_option("file", o->file, "safetensors file, sharded index, folder or GGUF file")->required();
    auto* bits = sub->add_option("--bits-per-param", o->bitsPerParam,
                                 "Budget as bits per parameter over the whole model (fixed tensors included)")
                     ->check(CLI::Range(0.5, 64.0));
    auto* size = sub->add_option("--size", o->size, "Budget as total weight bytes, e.g. 4.5GiB or 120000")
                     ->transform(CLI::AsSizeValue(false));
    sub->add_option("--family", o->family,
                    "ggml: any GGUF type per 2-D weight (llama-quantize --tensor-type); bitsandbytes: one 4-bit type "
                    "and modules kept in 16-bit (llm_int8_skip_modules)")
        ->check(CLI::IsMember({"ggml", "bitsandbytes"}))
        ->capture_default_str();
    sub->add_option("--schemes", o->schemes,
                    "Candidate types, comma-separated (default ggml: q2_k,q3_k,q4_0,q4_1,q4_k,q5_0,q5_1,q5_k,q6_k,"
                    "q8_0,fp16; bitsandbytes: nf4,nf4-dq,fp4)");
    sub->add_option("--cost", o->cost,
                    "What is minimised per tensor: weight (squared error), activation (error weighted by each input "
                    "channel's mean square over the tokens: llama.cpp's importance matrix) or kl (output KL with "
                    "that tensor alone quantized: a model run per tensor and type)")
        ->check(CLI::IsMember({"weight", "activation", "kl"}))
        ->capture_default_str();
    o->input.seed = core::defaultAdvisorTokens().seed; // not eval's: verify on tokens the mix was not fitted to
    addTokenOptions(*sub, o->input, "the activation and kl costs");
    sub->add_option("--threads", o->threads, "Worker threads (default: all cores)")->check(CLI::Range(0u, 1024u));
    sub->add_flag("--json", o->json, "Machine-readable output");
    sub->add_option("-o,--output", o->output,
                    "Write the mix as a recipe: mix.sh (llama-quantize --tensor-type command), config.json "
                    "(BitsAndBytesConfig) or load.py (transformers)");
    sub->add_flag("--force", o->force, "Replace the recipe file if it exists");
    // --gpu ID and the plan around it: the budget is what the planner leaves for the weights.
    o->plan.method = "inference";
    addPlanSettings(*sub, o->plan, false);
    sub->callback([o, bits, size] { runAdvise(*o, bits->count() > 0, size->count() > 0); });
}

} // namespace quantlens::cli
