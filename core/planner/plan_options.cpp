#include "core/planner/planner.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/text_list.h"

#include <array>
#include <utility>

// Names of the planner's choices as the command line and JSON spell them, and their inverses.
namespace quantlens::core {

namespace {

template <typename Enum, std::size_t N>
Enum parseName(const std::string& text, const std::array<std::pair<const char*, Enum>, N>& names, const char* what)
{
    std::string accepted;
    for (const auto& [name, value] : names) {
        if (text == name)
            return value;
        accepted += (accepted.empty() ? "" : ", ") + std::string(name);
    }
    throw UsageError(strCat("unknown ", what, " '", text, "'; accepted: ", accepted));
}

template <typename Enum, std::size_t N>
const char* nameOf(Enum value, const std::array<std::pair<const char*, Enum>, N>& names)
{
    for (const auto& [name, v] : names) {
        if (v == value)
            return name;
    }
    return "?";
}

constexpr std::array<std::pair<const char*, TrainingMethod>, 4> kMethods {{
    {"full", TrainingMethod::Full},
    {"lora", TrainingMethod::Lora},
    {"qlora", TrainingMethod::Qlora},
    {"inference", TrainingMethod::Inference},
}};
constexpr std::array<std::pair<const char*, Precision>, 4> kPrecisions {{
    {"fp32", Precision::Fp32},
    {"bf16", Precision::Bf16},
    {"fp16", Precision::Fp16},
    {"mixed", Precision::Mixed},
}};
constexpr std::array<std::pair<const char*, WeightFormat>, 6> kWeightFormats {{
    {"fp32", WeightFormat::Fp32},
    {"bf16", WeightFormat::Bf16},
    {"fp16", WeightFormat::Fp16},
    {"int8", WeightFormat::Int8},
    {"nf4", WeightFormat::Nf4},
    {"fp4", WeightFormat::Fp4},
}};
constexpr std::array<std::pair<const char*, OptimizerKind>, 7> kOptimizers {{
    {"adamw", OptimizerKind::AdamW},
    {"adamw-8bit", OptimizerKind::AdamW8bit},
    {"paged-adamw-8bit", OptimizerKind::PagedAdamW8bit},
    {"paged-adamw", OptimizerKind::PagedAdamW},
    {"sgd", OptimizerKind::Sgd},
    {"adafactor", OptimizerKind::Adafactor},
    {"lion", OptimizerKind::Lion},
}};
constexpr std::array<std::pair<const char*, AttentionKind>, 2> kAttention {{
    {"sdpa", AttentionKind::Sdpa},
    {"eager", AttentionKind::Eager},
}};
constexpr std::array<std::pair<const char*, AdamWImplementation>, 3> kAdamW {{
    {"foreach", AdamWImplementation::Foreach},
    {"for-loop", AdamWImplementation::ForLoop},
    {"fused", AdamWImplementation::Fused},
}};
constexpr std::array<std::pair<const char*, unsigned>, 7> kTargets {{
    {"q", kLoraQ},
    {"k", kLoraK},
    {"v", kLoraV},
    {"o", kLoraO},
    {"gate", kLoraGate},
    {"up", kLoraUp},
    {"down", kLoraDown},
}};

} // namespace

const char* toString(TrainingMethod v)
{
    return nameOf(v, kMethods);
}
const char* toString(Precision v)
{
    return nameOf(v, kPrecisions);
}
const char* toString(WeightFormat v)
{
    return nameOf(v, kWeightFormats);
}
const char* toString(OptimizerKind v)
{
    return nameOf(v, kOptimizers);
}
const char* toString(AttentionKind v)
{
    return nameOf(v, kAttention);
}
const char* toString(AdamWImplementation v)
{
    return nameOf(v, kAdamW);
}

TrainingMethod parseTrainingMethod(const std::string& s)
{
    return parseName(s, kMethods, "method");
}
Precision parsePrecision(const std::string& s)
{
    return parseName(s, kPrecisions, "precision");
}
WeightFormat parseWeightFormat(const std::string& s)
{
    return parseName(s, kWeightFormats, "weight format");
}
OptimizerKind parseOptimizer(const std::string& s)
{
    return parseName(s, kOptimizers, "optimizer");
}
AttentionKind parseAttention(const std::string& s)
{
    return parseName(s, kAttention, "attention");
}
AdamWImplementation parseAdamWImplementation(const std::string& s)
{
    return parseName(s, kAdamW, "AdamW implementation");
}

unsigned parseLoraTargets(const std::string& s)
{
    if (s == "all")
        return kLoraAll;
    if (s == "attention")
        return kLoraAttention;
    unsigned targets = 0;
    for (std::string module : splitCommaList(s)) {
        if (module.size() > 5 && module.substr(module.size() - 5) == "_proj")
            module.resize(module.size() - 5); // accept peft's names too: q_proj, gate_proj
        targets |= parseName(module, kTargets, "LoRA target module");
    }
    return targets;
}

std::string loraTargetsToString(unsigned targets)
{
    if (targets == kLoraAll)
        return "all";
    std::string out;
    for (const auto& [name, bit] : kTargets) {
        if (targets & bit)
            out += (out.empty() ? "" : ",") + std::string(name);
    }
    return out;
}

} // namespace quantlens::core
