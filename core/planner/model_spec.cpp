#include "core/planner/model_spec.h"

#include "core/io/hf_config.h"
#include "core/util/error.h"
#include "core/util/file_text.h"
#include "core/util/str_cat.h"
#include "core/util/units.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>

namespace quantlens::core {

namespace {

using Json = nlohmann::json;

// A size the planner cannot do without: present (hf_config reads the spellings) and at most 2^30.
int requiredCount(std::uint64_t value, const char* key, const std::string& source)
{
    if (value == 0)
        throw FormatError({source, std::nullopt, key, "a positive integer", "nothing or 0"},
                          strCat("config is missing the field '", key, "'"));
    if (value > (1u << 30))
        throw FormatError({source, std::nullopt, key, "at most 2^30", std::to_string(value)},
                          strCat("config field '", key, "' is not a valid count"));
    return static_cast<int>(value);
}

bool optionalBool(const Json& config, const char* key, bool fallback)
{
    const auto it = config.find(key);
    return it != config.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

} // namespace

ParameterCounts countParameters(const ModelSpec& spec)
{
    ParameterCounts counts;
    if (!spec.hasArchitecture) {
        counts.mlp = spec.parameters.total();
        return counts;
    }
    const std::uint64_t h = static_cast<std::uint64_t>(spec.hidden);
    const std::uint64_t layers = static_cast<std::uint64_t>(spec.layers);
    const std::uint64_t q = static_cast<std::uint64_t>(spec.qDim());
    const std::uint64_t kv = static_cast<std::uint64_t>(spec.kvDim());
    const std::uint64_t f = static_cast<std::uint64_t>(spec.intermediate);
    const std::uint64_t v = static_cast<std::uint64_t>(spec.vocab);
    const std::uint64_t experts = static_cast<std::uint64_t>(spec.experts);

    counts.embeddings = v * h;
    // q and o are h x (heads·d); k and v shrink with grouped-query attention.
    counts.attention = layers * (h * q + 2 * h * kv + q * h);
    counts.mlp = layers * experts * 3 * h * f;
    counts.router = experts > 1 ? layers * h * experts : 0;
    counts.norms = layers * static_cast<std::uint64_t>(spec.normsPerLayer) * h + h;
    counts.biases = spec.qkvBias ? layers * (q + 2 * kv) : 0;
    counts.lmHead = spec.tiedEmbeddings ? 0 : v * h;
    return counts;
}

ModelSpec modelSpecFromConfig(const Json& config, const std::string& source)
{
    // One reading of config.json for the whole app: the architecture as the model viewer shows it.
    const auto a = hfConfigFromJson(config, source).architecture;
    // The language model's own object: text_config in multimodal configs, as hf_config reads it.
    const auto textIt = config.find("text_config");
    const Json& text = textIt != config.end() && textIt->is_object() ? *textIt : config;
    // We count num_experts MLPs of intermediate_size each (Mixtral, OLMoE). Qwen-MoE and DeepSeek
    // give experts their own smaller size and add shared experts: counting them our way would be
    // several times too large, so say so rather than print a wrong number.
    for (const char* key : {"moe_intermediate_size", "shared_expert_intermediate_size", "n_shared_experts"}) {
        if (text.contains(key))
            throw UnsupportedError(
                strCat(source, ": '", key,
                       "': mixtures of experts with their own expert size or shared experts are not "
                       "modelled by the planner (only num_experts x intermediate_size, as Mixtral)"));
    }
    ModelSpec spec;
    spec.architecture = a.name.empty() ? "llama" : a.name;
    spec.name = source;
    spec.displayName = source;
    spec.hidden = requiredCount(a.hiddenSize, "hidden_size", source);
    spec.layers = requiredCount(a.layers, "num_hidden_layers", source);
    spec.heads = requiredCount(a.attentionHeads, "num_attention_heads", source);
    spec.intermediate = requiredCount(a.intermediateSize, "intermediate_size", source);
    spec.vocab = requiredCount(a.vocabSize, "vocab_size", source);
    spec.kvHeads = requiredCount(a.kvHeads, "num_key_value_heads", source);
    spec.headDim = requiredCount(a.headDim, "head_dim", source);
    spec.experts = a.experts == 0 ? 1 : requiredCount(a.experts, "num_local_experts", source);
    spec.expertsPerToken = a.expertsPerToken == 0 ? 1 : requiredCount(a.expertsPerToken, "num_experts_per_tok", source);
    if (spec.heads % spec.kvHeads != 0)
        throw FormatError({source, std::nullopt, "num_key_value_heads", strCat("a divisor of ", spec.heads),
                           std::to_string(spec.kvHeads)},
                          "config has key/value heads that do not divide the attention heads");
    spec.tiedEmbeddings = a.tiedEmbeddings;
    spec.contextLength = std::int64_t(std::min<std::uint64_t>(a.contextLength, std::uint64_t(INT64_MAX)));
    spec.qkvBias = spec.architecture == "qwen2" || optionalBool(text, "attention_bias", false)
        || optionalBool(config, "attention_bias", false);
    // Gemma-2 and -3 normalise before and after both attention and MLP (modeling_gemma2.py); a
    // Gemma-3 text_config says "gemma3_text".
    spec.normsPerLayer = spec.architecture.rfind("gemma2", 0) == 0 || spec.architecture.rfind("gemma3", 0) == 0 ? 4 : 2;
    // Sliding windows (transformers: sliding_window, use_sliding_window for Qwen2, layer_types in
    // recent configs, the Gemma-2/-3 patterns otherwise).
    if (const auto w = text.find("sliding_window"); w != text.end() && w->is_number_integer()
        && w->get<std::int64_t>() > 0 && optionalBool(text, "use_sliding_window", true)) {
        spec.slidingWindow = int(std::min<std::int64_t>(w->get<std::int64_t>(), 1 << 30));
        spec.slidingLayers = spec.layers;
        if (const auto types = text.find("layer_types"); types != text.end() && types->is_array()) {
            spec.slidingLayers = 0;
            for (const auto& t : *types)
                spec.slidingLayers += t.is_string() && t.get<std::string>() == "sliding_attention" ? 1 : 0;
        } else if (spec.architecture.rfind("gemma2", 0) == 0) {
            spec.slidingLayers = (spec.layers + 1) / 2; // even layers (modeling_gemma2.py)
        } else if (spec.architecture.rfind("gemma3", 0) == 0) {
            const auto pattern = text.find("sliding_window_pattern");
            const int every = pattern != text.end() && pattern->is_number_integer() ? pattern->get<int>() : 6;
            spec.slidingLayers = every > 0 ? spec.layers - spec.layers / every : spec.layers;
        }
    }
    if (const auto meta = config.find("quantlens"); meta != config.end() && meta->is_object()) {
        spec.name = meta->value("id", spec.name);
        spec.displayName = meta->value("name", spec.name);
        spec.publishedParameters = meta->value("published_parameters", std::uint64_t {0});
    }
    spec.parameters = countParameters(spec);
    return spec;
}

ModelSpec modelSpecFromConfigFile(const std::string& path)
{
    return modelSpecFromConfig(parseConfigJson(readFileText(path, "cannot open the config file"), path), path);
}

std::uint64_t parseParameterCount(const std::string& text)
{
    const auto bad = [&text](const std::string& why) {
        return UsageError(strCat("--params '", text, "': ", why,
                                 " (write a count such as 7e9, 7B, 1.5b, 350M or 6738415616; range 1M to 10T)"));
    };
    if (text.empty())
        throw bad("empty");
    std::size_t used = 0;
    double value = 0;
    try {
        value = std::stod(text, &used);
    } catch (const std::exception&) {
        throw bad("not a number");
    }
    std::string suffix = text.substr(used);
    for (auto& c : suffix)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (suffix == "k")
        value *= 1e3;
    else if (suffix == "m")
        value *= 1e6;
    else if (suffix == "b" || suffix == "g")
        value *= 1e9;
    else if (suffix == "t")
        value *= 1e12;
    else if (!suffix.empty())
        throw bad(strCat("unknown suffix '", suffix, "'"));
    if (!std::isfinite(value) || value < 1e6 || value > 1e13)
        throw bad("out of range");
    return static_cast<std::uint64_t>(std::llround(value));
}

ModelSpec modelSpecFromParameterCount(std::uint64_t parameters)
{
    ModelSpec spec;
    spec.hasArchitecture = false;
    spec.architecture = "unknown";
    spec.name = strCat(formatCount(static_cast<double>(parameters)), " parameters");
    spec.displayName = spec.name;
    // Without an architecture every parameter is treated as a Linear weight of the decoder: the
    // planner sizes activations from a Llama-shaped stand-in of the same size (see planner.cpp).
    spec.parameters.mlp = parameters;
    return spec;
}

} // namespace quantlens::core
