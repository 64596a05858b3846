#include "command.h"
#include "interrupt.h"
#include "progress_bar.h"
#include "text_columns.h"
#include "token_options.h"

#include "core/eval/eval.h"
#include "core/eval/llama_config.h"
#include "core/eval/token_input.h"
#include "core/model/model.h"
#include "core/quant/scheme.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/units.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace quantlens::cli {

namespace {

struct EvalCommandOptions {
    std::string file;
    TokenOptions input;
    std::string schemes;
    std::uint32_t blocksize = 0;
    std::vector<std::string> compare;
    std::string sensitivity;
    std::string sensitivityScheme;
    std::string calibration; // token-id file for the calibrated schemes
    bool notSequential = false;
    unsigned threads = 0;
    bool json = false;
};

void printText(const core::EvalResult& r)
{
    std::cout << "Model: " << r.model << "\n  " << r.config << "\n"
              << "Input: " << r.input << "; " << core::formatThousands(r.tokensScored)
              << " next-token predictions scored\n"
              << "Baseline: perplexity " << formatNumber("%.4f", r.baselinePerplexity) << " ("
              << formatNumber("%.2f", r.baselineBitsPerParameter) << " bits/param as stored)\n";
    if (!r.calibration.empty())
        std::cout << "Calibration (gptq, awq): " << r.calibration << "\n";
    if (!r.results.empty()) {
        std::size_t nameWidth = 24;
        for (const auto& c : r.results)
            nameWidth = std::max(nameWidth, c.name.size() + 2);
        std::cout << "\n"
                  << padColumn("model", nameWidth, true) << padColumn("bits/param", 11) << padColumn("perplexity", 11)
                  << padColumn("KL mean", 11) << padColumn("KL median", 11) << padColumn("KL p99", 11)
                  << padColumn("KL max", 11) << padColumn("top-1", 8) << padColumn("mean dlogp", 11) << "\n";
        for (const auto& c : r.results) {
            std::cout << padColumn(c.name, nameWidth, true) << padColumn(formatNumber("%.3f", c.bitsPerParameter), 11)
                      << padColumn(formatNumber("%.4f", c.perplexity), 11)
                      << padColumn(formatNumber("%.3e", c.kl.mean), 11)
                      << padColumn(formatNumber("%.3e", c.kl.median), 11)
                      << padColumn(formatNumber("%.3e", c.kl.p99), 11) << padColumn(formatNumber("%.3e", c.kl.max), 11)
                      << padColumn(formatNumber("%.2f%%", 100.0 * c.top1Agreement), 8)
                      << padColumn(formatNumber("%+.4f", c.meanDeltaLogProb), 11) << "\n";
        }
        std::cout
            << "\nKL is KL(baseline || model) per position in nats; top-1: positions where both rank the same "
               "token first; dlogp: change in log-probability of the actual next token.\nWhat each row quantized:\n";
        for (const auto& c : r.results) {
            std::cout << "  " << c.name << ": " << c.policy << " (" << c.quantizedTensors << " of " << c.totalTensors
                      << " tensors)\n";
            for (const auto& note : c.notes)
                std::cout << "    " << note << "\n";
        }
    }
    if (!r.sensitivity.empty()) {
        std::cout << "\nSensitivity: one " << r.sensitivityMode << " at a time under " << r.sensitivity.front().scheme
                  << ", the rest as the baseline\n"
                  << padColumn("group", 16, true) << padColumn("tensors", 8) << padColumn("params", 14)
                  << padColumn("KL mean", 11) << padColumn("top-1", 8) << "\n";
        for (const auto& s : r.sensitivity) {
            std::cout << padColumn(s.group, 16, true) << padColumn(std::to_string(s.tensors), 8)
                      << padColumn(core::formatThousands(s.parameters), 14)
                      << padColumn(formatNumber("%.3e", s.klMean), 11)
                      << padColumn(formatNumber("%.2f%%", 100.0 * s.top1Agreement), 8) << "\n";
        }
    }
    std::cout << "\nRan in " << formatNumber("%.2f", r.seconds) << " s on " << r.threads << " threads.\n";
}

void runEvalCommand(const EvalCommandOptions& options)
{
    const core::EvalInputSpec input = toInputSpec(options.input);
    core::EvalOptions eval;
    core::SchemeOptions schemeOptions;
    if (options.blocksize)
        schemeOptions.blocksize = options.blocksize;
    if (!options.schemes.empty())
        eval.schemes = core::parseSchemeList(options.schemes, schemeOptions);
    for (const auto& path : options.compare)
        eval.compare.emplace_back(path);
    if (options.sensitivity == "layer")
        eval.sensitivity = core::SensitivityMode::Layer;
    else if (options.sensitivity == "role")
        eval.sensitivity = core::SensitivityMode::Role;
    if (!options.sensitivityScheme.empty())
        eval.sensitivityScheme = core::parseSchemeList(options.sensitivityScheme, schemeOptions).front();
    if (eval.sensitivity != core::SensitivityMode::None && eval.schemes.empty() && !eval.sensitivityScheme)
        throw UsageError("--sensitivity needs a scheme: --scheme or --sensitivity-scheme");
    eval.threads = options.threads;
    eval.sequentialCalibration = !options.notSequential;

    const auto model = core::openModel(options.file);
    const auto config = core::llamaConfigFor(*model);
    if (!options.calibration.empty())
        eval.calibration = core::readTokenFile(options.calibration, config.vocab, config.context);

    ProgressBar bar;
    core::ProgressSink sink([&bar](const core::Progress& p) { bar.update(p); });
    InterruptCancels interrupt(sink);
    const auto tokens = core::loadEvalTokens(*model, config, input, options.threads, &sink);
    const auto result = core::runEval(*model, tokens, eval, &sink);
    bar.finish();

    if (const auto stored = core::storedQuantizationNote(*model); !stored.empty() && !options.json)
        std::cout << "Note: the baseline itself is quantized. " << stored << "\n\n";
    if (options.json)
        std::cout << core::evalToJson(result).dump(2) << "\n";
    else
        printText(result);
}

} // namespace

void setupEvalCommand(CLI::App& app)
{
    auto options = std::make_shared<EvalCommandOptions>();
    auto* sub = app.add_subcommand(
        "eval",
        "Run the model (CPU forward pass) and measure what quantization does to its outputs: perplexity, KL "
        "divergence and top-1 agreement against the original, per layer or role too");
    sub->add_option("file", options->file,
                    "the baseline: safetensors (with config.json), sharded index, folder or GGUF")
        ->required();
    addTokenOptions(*sub, options->input, "the evaluation");
    sub->add_option("--scheme", options->schemes,
                    "Comma-separated schemes to simulate on the baseline's weights, each with its format's policy "
                    "(bitsandbytes: Linear weights; GGUF: every 2-D weight), e.g. nf4,q4_0,q8_0");
    sub->add_option("--blocksize", options->blocksize, "Block size of the block schemes (default: each scheme's own)");
    sub->add_option(
           "--calibration", options->calibration,
           "Token-id file of calibration inputs for gptq2/3/4 and awq2/3/4 (default: 16 sequences of up to 256 tokens "
           "sampled from the model with seed 1234, never the evaluation's tokens)")
        ->check(CLI::ExistingFile);
    sub->add_flag("--no-sequential", options->notSequential,
                  "Calibrate GPTQ's layers on the original model's inputs, not (as GPTQ's reference) on those the "
                  "already-quantized layers before them give (AWQ always uses the original model's, as llm-awq)");
    sub->add_option("--compare", options->compare,
                    "Another file of the same model to measure against the baseline (repeatable)")
        ->check(CLI::ExistingPath);
    sub->add_option("--sensitivity", options->sensitivity,
                    "Quantize one layer (or one role across all layers) at a time and measure KL")
        ->check(CLI::IsMember({"layer", "role"}));
    sub->add_option("--sensitivity-scheme", options->sensitivityScheme,
                    "The scheme of the sensitivity run (default: the first --scheme)");
    sub->add_option("--threads", options->threads, "Worker threads (default: all cores)")->check(CLI::Range(0u, 1024u));
    sub->add_flag("--json", options->json, "Machine-readable output");
    sub->footer("Progress is drawn on stderr; Ctrl+C stops cleanly.\nExamples:\n"
                "  quantlens-cli eval model.safetensors --scheme nf4,q4_0,q8_0\n"
                "  quantlens-cli eval model.gguf --tokens tokens.txt --compare model-q4_0.gguf\n"
                "  quantlens-cli eval model.gguf --text wiki.test.raw --length 512 --scheme q4_k\n"
                "  quantlens-cli eval model.safetensors --scheme nf4 --sensitivity layer --json");
    sub->callback([options] { runEvalCommand(*options); });
}

} // namespace quantlens::cli
