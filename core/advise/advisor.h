#pragma once

#include "core/advise/allocation.h"
#include "core/eval/eval.h"
#include "core/model/model.h"
#include "core/util/progress.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

// The bit-allocation advisor: which tensors to keep at more bits for a size budget. Measures every
// candidate tensor under every candidate scheme (the scan), then solves the multiple-choice knapsack
// of core/advise/allocation.h, within the rules of the format the mix is for.
namespace quantlens::core {

enum class AdvisorFamily {
    Ggml, // a GGUF file: any ggml type per 2-D weight (llama-quantize --tensor-type)
    Bitsandbytes, // transformers + bitsandbytes: one 4-bit type, and modules skipped in 16-bit
};

// What the advisor minimises for each tensor and type.
enum class AdvisorCostKind {
    Weight, // sum (W - Q(W))^2 over the tensor
    Activation, // sum_ij d_j (W - Q(W))_ij^2, d_j the mean square of input channel j (collectActivationStatistics)
    Kl, // mean KL(baseline || model with that tensor alone quantized), summed over tensors (probeTensorKl)
};
const char* toString(AdvisorCostKind kind); // "weight", "activation", "kl"
AdvisorCostKind parseAdvisorCostKind(const std::string& text); // UsageError naming the three
// For column heads and axes, by AdvisorResult::costId: "weight error", "activation-weighted error",
// "predicted KL"; and the sum it is: "Σ (W − Q(W))²", "Σ d_j (W − Q(W))²", "Σ KL (nats)".
std::string costLabel(const std::string& costId);
std::string costFormula(const std::string& costId);

// The tokens the activation and KL costs run the model on, by default 8 x 256 tokens sampled with
// seed 2: not eval's default seed 1, so that a mix is verified on tokens it was not fitted to.
EvalInputSpec defaultAdvisorTokens();

struct AdvisorOptions {
    AdvisorFamily family = AdvisorFamily::Ggml;
    // Candidate scheme ids; empty: the family's default (ggml: q2_k q3_k q4_0 q4_1 q4_k q5_0 q5_1
    // q5_k q6_k q8_0 fp16; bitsandbytes: nf4 nf4-dq fp4, each against 16-bit).
    std::vector<std::string> schemes;
    std::uint64_t budgetBytes = 0; // the whole model's weight bytes, fixed tensors included
    unsigned threads = 0;
    std::size_t frontierPoints = 100;
    AdvisorCostKind cost = AdvisorCostKind::Weight;
    EvalInputSpec tokens = defaultAdvisorTokens(); // for the activation and KL costs
};

struct TensorAssignment {
    std::size_t tensorIndex = 0;
    std::string tensor;
    int layer = -1;
    std::string role;
    std::string scheme; // "keep" for a module skipped in 16-bit (bitsandbytes)
    std::uint64_t bytes = 0;
    double cost = 0.0;
};

struct UniformPoint {
    std::string scheme;
    std::uint64_t bytes = 0;
    double cost = 0.0;
    std::string note; // tensors that took a fallback type
};

struct AdvisorResult {
    std::string model;
    std::string family; // "ggml" or "bitsandbytes"
    std::string costKind; // which cost was minimised, in words
    std::string costId; // "weight", "activation" or "kl"
    std::string costInput; // the tokens the activation and KL costs ran on; empty for the weight cost
    std::string policy; // which tensors take part, and what the others cost
    std::vector<std::string> candidates;
    std::string fourBitType; // bitsandbytes: the one 4-bit type of the mix
    std::uint64_t budgetBytes = 0;
    std::string budgetSource; // how the budget was given: "--size", "what fits NVIDIA H100 ..."
    std::uint64_t totalBytes = 0; // of the mix, fixed tensors included
    std::uint64_t fixedBytes = 0; // tensors that take no part (norms, ...)
    std::uint64_t smallestBytes = 0; // the smallest mix
    std::uint64_t largestBytes = 0; // the largest mix
    std::uint64_t parameters = 0;
    double predictedCost = 0.0;
    double lowerBound = 0.0; // no mix within the budget costs less
    bool exact = false;
    std::vector<TensorAssignment> assignment; // the candidate tensors, model order
    std::vector<FrontierPoint> frontier; // fixed bytes included
    std::vector<UniformPoint> uniform; // fixed bytes included
    // llama.cpp's own mixes (Q2_K ... Q6_K file types: llama_tensor_get_type's rules, reproduced in
    // llamaCppFileTypeMix) as points beside the frontier; ggml family only.
    std::vector<UniformPoint> llamaCppMixes;
    double seconds = 0.0;
};

// The type llama-quantize gives each tensor of a llama model for a file type ("Q4_K_M", "Q2_K",
// "Q3_K_S" ... "Q6_K"), as llama_tensor_get_type (src/llama-quant.cpp at 007dbbf3; the table and its
// sources in docs/llama-quant-rules.md) chooses it, row-length fallbacks included: scheme ids by
// tensor index, for the 2-D weights only. Throws UsageError for an unknown file type.
std::vector<std::pair<std::size_t, std::string>> llamaCppFileTypeMix(const Model& model, const std::string& fileType);
extern const std::vector<std::string> kLlamaCppFileTypes; // "Q2_K", "Q3_K_S", ..., "Q6_K"

// What the advisor measured, from which a mix for any budget is solved at once (the GUI's budget
// slider): each candidate tensor's bytes and cost under each candidate scheme.
struct AdvisorCost {
    std::uint64_t bytes = 0;
    double cost = 0.0;
};
struct AdvisorMeasurements {
    AdvisorResult base; // model, family, cost kind, policy, candidates, fixed bytes, parameters
    std::vector<TensorInfo> tensors; // the model's
    std::vector<std::size_t> candidates; // indices of the tensors that take part
    std::map<std::pair<std::size_t, std::string>, AdvisorCost> table; // (tensor, scheme) it can store
    std::uint64_t modelBytes = 0;
    std::vector<std::pair<std::string, std::vector<std::pair<std::size_t, std::string>>>> llamaCppMixes;
    double seconds = 0.0;
};

// Measures (the slow part: every candidate tensor under every scheme). Throws UsageError for an
// unknown scheme or one of the other family, UnsupportedError for a tensor that cannot be decoded,
// CancelledError when cancelled.
AdvisorMeasurements measureForAdvice(const Model& model, const AdvisorOptions& options, ProgressSink& sink);
// Solves for one budget (instant). Throws UsageError for a budget below the smallest mix or above
// the largest (saying both sizes), or candidates that cannot store some tensor.
AdvisorResult solveAdvice(const AdvisorMeasurements& measurements, std::uint64_t budgetBytes,
                          std::size_t frontierPoints = 100);
// The smallest and the largest mix the measurements allow (fixed tensors included): the budgets
// solveAdvice accepts.
std::pair<std::uint64_t, std::uint64_t> adviceSpan(const AdvisorMeasurements& measurements);
// Both.
AdvisorResult advise(const Model& model, const AdvisorOptions& options, ProgressSink& sink);

// budget_bytes, cost_kind, assignment[] (tensor, scheme, bytes, cost), total_bytes,
// predicted_cost, frontier[] (bytes, cost), uniform[] (scheme, bytes, cost), and the rest.
nlohmann::json adviceToJson(const AdvisorResult& result);

} // namespace quantlens::core
