#pragma once

#include "core/eval/llama_config.h"
#include "core/eval/token_input.h"
#include "core/model/model.h"
#include "core/quant/calibration.h"
#include "core/quant/scheme.h"
#include "core/scan/scan_scheme.h"
#include "core/util/progress.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// What quantization does to a model's outputs: run the baseline and each quantized variant on the
// same tokens and compare their next-token distributions (perplexity, KL divergence, top-1
// agreement), and per layer or role which parts hurt most.
namespace quantlens::core {

enum class SensitivityMode { None, Layer, Role };

// A per-tensor mix of schemes (the advisor's): tensor name -> scheme id; tensors not named stay as
// stored.
struct EvalRecipe {
    std::string name; // "advisor mix at 247 KiB"
    std::map<std::string, std::string> schemes;
};

struct EvalOptions {
    // Simulated on the baseline's weights, each with its format's policy (core/quant/quant_policy.h).
    std::vector<std::shared_ptr<const Scheme>> schemes;
    // Other files of the same model (a GGUF q4_0, a bitsandbytes checkpoint, ...).
    std::vector<std::filesystem::path> compare;
    // Mixes of schemes simulated on the baseline's weights, tensor by tensor.
    std::vector<EvalRecipe> recipes;
    SensitivityMode sensitivity = SensitivityMode::None;
    // The scheme sensitivity quantizes one group at a time with; default: the first of `schemes`.
    std::shared_ptr<const Scheme> sensitivityScheme;
    unsigned threads = 0; // 0: one per hardware thread
    // For schemes that need calibration inputs (GPTQ): these tokens, else 16 sequences of up to 256
    // sampled from the model with kCalibrationSeed. Sequential (as the GPTQ reference runs) by default.
    std::optional<TokenSet> calibration;
    bool sequentialCalibration = true;
};

// KL(baseline || model) per scored position, in nats.
struct KlSummary {
    double mean = 0.0;
    double median = 0.0;
    double p99 = 0.0;
    double max = 0.0;
};

struct EvalComparison {
    std::string name; // the scheme id or the file name
    std::string kind; // "scheme", "file" or "recipe"
    std::string policy; // which tensors the scheme was applied to, as the real tool does
    double bitsPerParameter = 0.0; // the weights as this variant stores them, kept tensors included
    std::uint64_t quantizedTensors = 0; // tensors the scheme replaced (for a file: tensors not in F32/F16/BF16)
    std::uint64_t totalTensors = 0;
    std::vector<std::string> notes; // tensors that took another type, and why
    double perplexity = 0.0;
    KlSummary kl;
    double top1Agreement = 0.0; // share of positions where both rank the same token first
    double meanDeltaLogProb = 0.0; // mean of log p_model(next) - log p_baseline(next)
};

struct SensitivityRow {
    std::string group; // "layer 3", "embedding", "attn_q", ...
    std::string scheme;
    std::uint64_t tensors = 0;
    std::uint64_t parameters = 0;
    double klMean = 0.0;
    double top1Agreement = 0.0;
};

struct EvalResult {
    std::string model; // the baseline file
    std::string config; // LlamaConfig::summary()
    std::string input; // TokenSet::source
    std::uint64_t sequences = 0;
    std::uint64_t tokens = 0;
    std::uint64_t tokensScored = 0;
    double baselinePerplexity = 0.0;
    double baselineBitsPerParameter = 0.0;
    std::vector<EvalComparison> results;
    std::string sensitivityMode; // "", "layer" or "role"
    std::vector<SensitivityRow> sensitivity;
    // The calibration set and mode of the calibrated schemes ("16 sequences of 256 sampled from the
    // model, seed 1234; sequential: ..."); empty when no scheme needed one.
    std::string calibration;
    double seconds = 0.0;
    unsigned threads = 0;
};

// `count` sequences of `length` tokens sampled from the model itself at temperature 1, each
// starting with its BOS token; sequence i draws from its own generator seeded from (seed, i), so a
// run is reproducible on any machine and thread count. Throws UsageError when the file names no
// BOS token or `length` exceeds the context.
TokenSet sampleSequences(const Model& model, const LlamaConfig& config, std::uint64_t count, std::uint64_t length,
                         std::uint64_t seed, unsigned threads, const ProgressSink* progress = nullptr);

// Where an evaluation's tokens come from: a token-id file, else a text file through the model's
// own tokenizer, else sequences sampled from the model.
struct EvalInputSpec {
    std::filesystem::path tokens;
    std::filesystem::path text;
    std::uint64_t sequences = 8; // sampled; for text, the most kept (0: all)
    std::uint64_t length = 256; // tokens per sampled or text sequence
    std::uint64_t seed = 1; // of the sampling
};

// The tokens `input` names (readTokenFile, tokenizeTextFile or sampleSequences). Throws UsageError
// for text sequences longer than the context, and what those throw.
TokenSet loadEvalTokens(const Model& model, const LlamaConfig& config, const EvalInputSpec& input, unsigned threads,
                        const ProgressSink* progress = nullptr);

// Runs the evaluation. Throws UsageError for a compare file of another model (saying what differs)
// and CancelledError when `progress` is cancelled.
EvalResult runEval(const Model& baseline, const TokenSet& tokens, const EvalOptions& options,
                   const ProgressSink* progress = nullptr);

// What enters each weight over `tokens`: per input channel j, the mean of x_j^2 over every position
// (the diagonal of E[x x^T] that llama.cpp's importance matrix accumulates, tools/imatrix), from
// which the output error of a weight's quantization is estimated as
// E ||(W - Q(W)) x||^2 ~ sum_ij d_j (W_ij - Q(W)_ij)^2, cross terms between channels left out.
struct ActivationStatistics {
    // tensor index -> mean x_j^2 per input channel (the tensor's last dimension): q, k, v, o, gate,
    // up, down of every block, and the output head (the final norm's output)
    std::map<std::size_t, std::vector<double>> columns;
    // the token embedding's index -> the share of positions that read each of its rows (a lookup is
    // a product with a one-hot input, whose channel j has mean square "share of tokens j")
    std::map<std::size_t, std::vector<double>> rows;
    std::uint64_t positions = 0;
    std::string input; // TokenSet::source
};

// Runs the baseline over `tokens` once, one block at a time. Throws what runEval throws for bad
// tokens, and CancelledError.
ActivationStatistics collectActivationStatistics(const Model& model, const TokenSet& tokens, unsigned threads,
                                                 const ProgressSink* progress = nullptr);

// The Hessian of every Linear weight's layer-wise loss, H = 2/N sum x x^T over the calibration
// positions (core/quant/calibration.h), for GPTQ. Without `sequential`, each layer's inputs come from
// the original model. With it, as the GPTQ reference runs (llama.py, not --true-sequential): layer by
// layer, the layer's Hessians from its original weights on the states the already-quantized layers
// before it produced, then the layer quantized with `sequential` (its tensors' Hessians) to produce
// the next layer's states. Throws what runEval throws for bad tokens, and CancelledError.
// For each AWQ scheme among `schemes` (those with awqOptions(); the others need nothing more, null
// entries are skipped), AWQ's search (core/eval/awq_search.h) runs on each layer's inputs from the
// original model, as llm-awq's run_awq, into CalibrationData::awq.
CalibrationData collectCalibration(const Model& model, const TokenSet& tokens, unsigned threads,
                                   const ProgressSink* progress = nullptr,
                                   const std::shared_ptr<const Scheme>& sequential = nullptr,
                                   const std::vector<std::shared_ptr<const Scheme>>& schemes = {});

// The calibration tokens when none are given: 16 sequences of up to 256 tokens sampled from the model
// itself with a seed of their own (kCalibrationSeed), never the evaluation's: calibrating on what is
// then measured flatters a method.
inline constexpr std::uint64_t kCalibrationSeed = 1234;
TokenSet sampleCalibrationTokens(const Model& model, const LlamaConfig& config, unsigned threads,
                                 const ProgressSink* progress = nullptr);

// Whether any of `schemes` needs calibration inputs (GPTQ, AWQ).
bool anyNeedsCalibration(const std::vector<std::shared_ptr<const ScanScheme>>& schemes);

// Calibration inputs for a scan (inspect, report, the Inspector): when asked for (`asked`, or a
// token-id file `tokens`) or when one of `schemes` needs them (GPTQ, AWQ: its search runs there too);
// sampleCalibrationTokens unless
// a file is given; each layer's inputs from the original model, since a scan measures each tensor on
// its own. Empty when not wanted. When only a scheme wanted them and the model cannot be run, empty
// too, with the reason in `whyNot` (those schemes then keep every tensor); when asked for, that
// UsageError is thrown instead.
std::optional<CalibrationData> calibrateScan(const Model& model,
                                             const std::vector<std::shared_ptr<const ScanScheme>>& schemes, bool asked,
                                             const std::filesystem::path& tokens, unsigned threads,
                                             const ProgressSink* progress, std::string* whyNot = nullptr);

// One tensor in one scheme, every other weight as stored.
struct TensorProbe {
    std::size_t tensorIndex = 0;
    std::shared_ptr<const Scheme> scheme;
};
// Mean KL(baseline || probe), in nats, for each probe: the model with only that tensor replaced by
// its quantize-dequantize round trip, run from the tensor's block on (the baseline's states before
// it). Throws what runEval throws, and UsageError for a scheme that cannot store the tensor.
std::vector<double> probeTensorKl(const Model& model, const TokenSet& tokens, const std::vector<TensorProbe>& probes,
                                  unsigned threads, const ProgressSink* progress = nullptr);

// The JSON form: tokens_scored, baseline.perplexity, results[] (name, kind, policy, perplexity,
// kl_mean, kl_median, kl_p99, kl_max, top1_agreement, mean_delta_logprob, bits_per_parameter),
// sensitivity[] (group, scheme, kl_mean, top1_agreement).
nlohmann::json evalToJson(const EvalResult& result);

} // namespace quantlens::core
