#include "core/eval/llama_config.h"

#include "core/io/hf_config.h"
#include "core/io/mapped_file.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <numbers>
#include <optional>

namespace quantlens::core {

namespace {

bool isSupported(const std::string& name)
{
    return name == "llama" || name == "mistral" || name == "qwen2";
}

std::string fileLabel(const Model& model)
{
    return model.path().filename().string();
}

std::optional<double> numberIn(const nlohmann::json& object, const char* key, const std::string& file)
{
    const auto it = object.find(key);
    if (it == object.end() || it->is_null())
        return std::nullopt;
    if (!it->is_number())
        throw FormatError({file, std::nullopt, key, "a number", it->dump()}, strCat("'", key, "' is not a number"));
    return it->get<double>();
}

// Transformers' _compute_llama3_parameters (modeling_rope_utils.py): long wavelengths divided by
// `factor`, short ones kept, the band between blended smoothly.
void applyLlama3Scaling(std::vector<double>& frequencies, double factor, double lowFreqFactor, double highFreqFactor,
                        double originalContext)
{
    const double lowFreqWavelen = originalContext / lowFreqFactor;
    const double highFreqWavelen = originalContext / highFreqFactor;
    for (double& f : frequencies) {
        const double wavelen = 2.0 * std::numbers::pi / f;
        if (wavelen > lowFreqWavelen) {
            f /= factor;
        } else if (wavelen >= highFreqWavelen) {
            const double smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            f = (1.0 - smooth) * f / factor + smooth * f;
        }
    }
}

std::vector<double> baseFrequencies(std::uint64_t headDim, double theta)
{
    std::vector<double> f(headDim / 2);
    for (std::size_t i = 0; i < f.size(); ++i) // as transformers: float32 of base ** (2i / dim)
        f[i] = 1.0 / static_cast<double>(static_cast<float>(std::pow(theta, double(2 * i) / double(headDim))));
    return f;
}

// The rope_scaling entry of a config.json.
void readRopeScaling(const nlohmann::json& root, LlamaConfig& c, const std::string& file)
{
    c.ropeScaling = "none";
    const auto it = root.find("rope_scaling");
    if (it == root.end() || it->is_null())
        return;
    if (!it->is_object())
        throw FormatError({file, std::nullopt, "rope_scaling", "an object or null", it->dump()},
                          "'rope_scaling' is not an object");
    std::string type;
    for (const char* key : {"rope_type", "type"}) {
        if (const auto t = it->find(key); t != it->end() && t->is_string()) {
            type = t->get<std::string>();
            break;
        }
    }
    const auto number = [&](const char* key) {
        const auto value = numberIn(*it, key, file);
        if (!value || !(*value > 0))
            throw FormatError({file, std::nullopt, strCat("rope_scaling.", key), "a positive number",
                               value ? strCat(*value) : "nothing"},
                              strCat("rope_scaling of type '", type, "' needs '", key, "'"));
        return *value;
    };
    if (type == "default" || type.empty()) {
        return;
    } else if (type == "llama3") {
        applyLlama3Scaling(c.ropeFrequencies, number("factor"), number("low_freq_factor"), number("high_freq_factor"),
                           number("original_max_position_embeddings"));
    } else if (type == "linear") {
        const double factor = number("factor");
        for (double& f : c.ropeFrequencies)
            f /= factor;
    } else {
        throw UnsupportedError(strCat(file, ": rope_scaling of type '", type,
                                      "' is not supported by the forward pass (it knows llama3 and linear)"));
    }
    c.ropeScaling = type;
}

void readSafetensorsConfig(const Model& model, LlamaConfig& c)
{
    const auto folder = model.files().front().parent_path();
    const auto path = folder / "config.json";
    if (!std::filesystem::is_regular_file(path))
        throw UnsupportedError(strCat(fileLabel(model), ": running the model needs its config.json beside it (",
                                      path.string(), " is missing): the heads, norm epsilon and RoPE base are not in "
                                      "the safetensors file"));
    const MappedFile file(path);
    const auto bytes = file.bytes(0, file.size(), "config");
    const auto root = parseConfigJson({reinterpret_cast<const char*>(bytes.data()), bytes.size()}, path.string());
    const auto& a = model.architecture();
    c.architecture = a.name;
    if (!isSupported(c.architecture)) {
        throw UnsupportedError(strCat(path.string(), ": model_type '", c.architecture.empty() ? "(none)" : c.architecture,
                                      "' is not supported by the forward pass (it runs llama, mistral and qwen2)"));
    }
    if (const auto eps = numberIn(root, "rms_norm_eps", path.string()))
        c.rmsEps = *eps;
    if (const auto theta = numberIn(root, "rope_theta", path.string()))
        c.ropeTheta = *theta;
    c.ropeLayout = RopeLayout::RotateHalf;
    c.ropeFrequencies = baseFrequencies(c.headDim, c.ropeTheta);
    readRopeScaling(root, c, path.string());
    const bool slidingUsed = c.architecture == "mistral"
        || (c.architecture == "qwen2" && root.value("use_sliding_window", false) == true);
    if (slidingUsed) {
        if (const auto window = numberIn(root, "sliding_window", path.string()); window && *window > 0)
            c.slidingWindow = static_cast<std::uint64_t>(*window);
    }
    if (c.architecture == "qwen2" && c.slidingWindow != 0)
        throw UnsupportedError(strCat(path.string(), ": Qwen2 with use_sliding_window is not supported"));
    if (const auto bos = numberIn(root, "bos_token_id", path.string()))
        c.bosId = static_cast<std::int64_t>(*bos);
}

void readGgufConfig(const Model& model, LlamaConfig& c)
{
    const auto& meta = model.metadata();
    const auto text = [&](const std::string& key) -> std::optional<std::string> {
        const auto it = meta.find(key);
        return it == meta.end() ? std::nullopt : std::optional(it->second);
    };
    const auto number = [&](const std::string& key) -> std::optional<double> {
        const auto value = text(key);
        if (!value)
            return std::nullopt;
        try {
            std::size_t used = 0;
            const double d = std::stod(*value, &used);
            if (used == value->size())
                return d;
        } catch (const std::exception&) {
        }
        throw FormatError({fileLabel(model), std::nullopt, key, "a number", *value}, strCat("'", key, "' is not a number"));
    };
    c.architecture = model.architecture().name;
    if (!isSupported(c.architecture)) {
        throw UnsupportedError(strCat(fileLabel(model), ": general.architecture '",
                                      c.architecture.empty() ? "(none)" : c.architecture,
                                      "' is not supported by the forward pass (it runs llama, mistral and qwen2)"));
    }
    const std::string& arch = c.architecture;
    if (const auto eps = number(arch + ".attention.layer_norm_rms_epsilon"))
        c.rmsEps = *eps;
    if (const auto theta = number(arch + ".rope.freq_base"))
        c.ropeTheta = *theta;
    if (const auto dims = number(arch + ".rope.dimension_count"); dims && std::uint64_t(*dims) != c.headDim)
        throw UnsupportedError(strCat(fileLabel(model), ": partial rotary embeddings (", *dims, " of ", c.headDim,
                                      " dimensions) are not supported"));
    // llama.cpp's rope modes: NORM (adjacent pairs) for llama and mistral, NEOX (halves) for qwen2.
    c.ropeLayout = arch == "qwen2" ? RopeLayout::RotateHalf : RopeLayout::Interleaved;
    c.ropeFrequencies = baseFrequencies(c.headDim, c.ropeTheta);
    c.ropeScaling = "none";
    if (const auto type = text(arch + ".rope.scaling.type"); type && *type != "none") {
        if (*type != "linear")
            throw UnsupportedError(strCat(fileLabel(model), ": rope scaling '", *type, "' is not supported"));
        const auto factor = number(arch + ".rope.scaling.factor").value_or(1.0);
        if (!(factor > 0))
            throw FormatError({fileLabel(model), std::nullopt, arch + ".rope.scaling.factor", "a positive number",
                               strCat(factor)},
                              "bad rope scaling factor");
        for (double& f : c.ropeFrequencies)
            f /= factor;
        c.ropeScaling = "linear";
    }
    if (const auto window = number(arch + ".attention.sliding_window"); window && *window > 0)
        c.slidingWindow = static_cast<std::uint64_t>(*window);
    if (const auto bos = number("tokenizer.ggml.bos_token_id"))
        c.bosId = static_cast<std::int64_t>(*bos);
}

std::ptrdiff_t required(const Model& model, const std::string& name, const std::string& what)
{
    const auto index = model.find(name);
    if (index < 0)
        throw FormatError({fileLabel(model), std::nullopt, name, what, "no such tensor"},
                          strCat("the forward pass needs tensor '", name, "'"));
    return index;
}

void checkShape(const Model& model, std::ptrdiff_t index, std::vector<std::uint64_t> expected)
{
    if (index < 0)
        return;
    const auto& t = model.tensors()[std::size_t(index)];
    if (t.shape != expected) {
        const auto text = [](const std::vector<std::uint64_t>& s) {
            std::string out = "[";
            for (std::size_t i = 0; i < s.size(); ++i)
                out += (i ? "x" : "") + std::to_string(s[i]);
            return out + "]";
        };
        throw FormatError({fileLabel(model), std::nullopt, t.name, text(expected), text(t.shape)},
                          "a weight's shape does not match the configuration");
    }
}

} // namespace

std::string LlamaConfig::summary() const
{
    return strCat(architecture, ", ", layers, " layers, hidden ", hidden, ", MLP ", intermediate, ", ", heads,
                  " heads (", kvHeads, " KV) of ", headDim, ", vocabulary ", vocab, ", context ", context,
                  ", RoPE theta ", ropeTheta, " (", ropeLayout == RopeLayout::Interleaved ? "interleaved pairs" : "rotate-half",
                  ropeScaling == "none" ? "" : ", scaling " + ropeScaling, ")",
                  slidingWindow ? strCat(", sliding window ", slidingWindow) : std::string(),
                  tiedEmbeddings ? ", tied embeddings" : "");
}

LlamaConfig llamaConfigFor(const Model& model)
{
    const auto& a = model.architecture();
    LlamaConfig c;
    c.hidden = a.hiddenSize;
    c.intermediate = a.intermediateSize;
    c.layers = a.layers;
    c.heads = a.attentionHeads;
    c.kvHeads = a.kvHeads;
    c.headDim = a.headDim;
    c.vocab = a.vocabSize;
    c.context = a.contextLength;
    if (a.experts > 0)
        throw UnsupportedError(strCat(fileLabel(model), ": mixture-of-experts models (", a.experts,
                                      " experts) are not supported by the forward pass"));
    const bool gguf = model.format() == "gguf";
    if (gguf)
        readGgufConfig(model, c);
    else
        readSafetensorsConfig(model, c);
    if (c.hidden == 0 || c.layers == 0 || c.heads == 0 || c.kvHeads == 0 || c.headDim == 0 || c.vocab == 0
        || c.intermediate == 0)
        throw FormatError({fileLabel(model), std::nullopt, "architecture", "hidden size, layers, heads, vocabulary",
                           "a size of 0"},
                          "the model's configuration is incomplete");
    if (c.heads % c.kvHeads != 0)
        throw FormatError({fileLabel(model), std::nullopt, "num_key_value_heads", strCat("a divisor of ", c.heads),
                           strCat(c.kvHeads)},
                          "query heads are not a whole number of groups");
    if (c.headDim % 2 != 0)
        throw UnsupportedError(strCat(fileLabel(model), ": odd head dimension ", c.headDim));

    const auto name = [&](const char* hf, const char* ggml, std::uint64_t layer) {
        return gguf ? strCat("blk.", layer, ".", ggml) : strCat("model.layers.", layer, ".", hf);
    };
    c.embedding = required(model, gguf ? "token_embd.weight" : "model.embed_tokens.weight", "the token embedding");
    c.finalNorm = required(model, gguf ? "output_norm.weight" : "model.norm.weight", "the final norm");
    c.head = model.find(gguf ? "output.weight" : "lm_head.weight");
    c.tiedEmbeddings = c.head < 0;
    if (c.tiedEmbeddings)
        c.head = c.embedding;
    if (gguf && model.find("rope_freqs.weight") >= 0) { // Llama 3.1's scaled frequencies, as llama.cpp stores them
        const auto index = std::size_t(model.find("rope_freqs.weight"));
        checkShape(model, std::ptrdiff_t(index), {c.headDim / 2});
        std::vector<float> factors(c.headDim / 2);
        model.readFloat(index, 0, factors);
        for (std::size_t i = 0; i < factors.size(); ++i) {
            if (!(factors[i] > 0))
                throw FormatError({fileLabel(model), std::nullopt, "rope_freqs.weight", "positive factors",
                                   strCat(factors[i])},
                                  "bad rotary frequency factor");
            c.ropeFrequencies[i] /= factors[i];
        }
        c.ropeScaling = "rope_freqs tensor";
    }
    const std::uint64_t q = c.heads * c.headDim;
    const std::uint64_t kv = c.kvHeads * c.headDim;
    checkShape(model, c.embedding, {c.vocab, c.hidden});
    checkShape(model, c.head, {c.vocab, c.hidden});
    checkShape(model, c.finalNorm, {c.hidden});
    for (std::uint64_t l = 0; l < c.layers; ++l) {
        if (model.find(name("self_attn.qkv_proj.weight", "attn_qkv.weight", l)) >= 0)
            throw UnsupportedError(strCat(fileLabel(model), ": fused QKV projections are not supported"));
        LlamaLayerTensors b;
        b.attnNorm = required(model, name("input_layernorm.weight", "attn_norm.weight", l), "the attention norm");
        b.q = required(model, name("self_attn.q_proj.weight", "attn_q.weight", l), "the query projection");
        b.k = required(model, name("self_attn.k_proj.weight", "attn_k.weight", l), "the key projection");
        b.v = required(model, name("self_attn.v_proj.weight", "attn_v.weight", l), "the value projection");
        b.o = required(model, name("self_attn.o_proj.weight", "attn_output.weight", l), "the output projection");
        b.qBias = model.find(name("self_attn.q_proj.bias", "attn_q.bias", l));
        b.kBias = model.find(name("self_attn.k_proj.bias", "attn_k.bias", l));
        b.vBias = model.find(name("self_attn.v_proj.bias", "attn_v.bias", l));
        b.ffnNorm = required(model, name("post_attention_layernorm.weight", "ffn_norm.weight", l), "the MLP norm");
        b.gate = required(model, name("mlp.gate_proj.weight", "ffn_gate.weight", l), "the gate projection");
        b.up = required(model, name("mlp.up_proj.weight", "ffn_up.weight", l), "the up projection");
        b.down = required(model, name("mlp.down_proj.weight", "ffn_down.weight", l), "the down projection");
        checkShape(model, b.attnNorm, {c.hidden});
        checkShape(model, b.ffnNorm, {c.hidden});
        checkShape(model, b.q, {q, c.hidden});
        checkShape(model, b.k, {kv, c.hidden});
        checkShape(model, b.v, {kv, c.hidden});
        checkShape(model, b.o, {c.hidden, q});
        checkShape(model, b.qBias, {q});
        checkShape(model, b.kBias, {kv});
        checkShape(model, b.vBias, {kv});
        checkShape(model, b.gate, {c.intermediate, c.hidden});
        checkShape(model, b.up, {c.intermediate, c.hidden});
        checkShape(model, b.down, {c.hidden, c.intermediate});
        c.blocks.push_back(b);
    }
    // Every weight must decode: say so now, not after minutes of work.
    std::vector<std::ptrdiff_t> all {c.embedding, c.head, c.finalNorm};
    for (const auto& b : c.blocks)
        all.insert(all.end(), {b.attnNorm, b.q, b.k, b.v, b.o, b.qBias, b.kBias, b.vBias, b.ffnNorm, b.gate, b.up, b.down});
    for (auto index : all) {
        std::string why;
        if (index >= 0 && !model.canDequantize(std::size_t(index), &why))
            throw UnsupportedError(strCat(fileLabel(model), ": tensor '", model.tensors()[std::size_t(index)].name,
                                          "' cannot be decoded: ", why));
    }
    return c;
}

void checkSameShape(const LlamaConfig& base, const Model& baseModel, const LlamaConfig& other,
                    const std::string& otherName)
{
    const auto differ = [&](const std::string& what, auto a, auto b) {
        throw UsageError(strCat(otherName, " is not the same model as ", fileLabel(baseModel), ": its ", what, " is ",
                                b, ", the baseline's ", a));
    };
    if (base.architecture != other.architecture)
        differ("architecture", base.architecture, other.architecture);
    if (base.vocab != other.vocab)
        differ("vocabulary", base.vocab, other.vocab);
    if (base.hidden != other.hidden)
        differ("hidden size", base.hidden, other.hidden);
    if (base.layers != other.layers)
        differ("number of layers", base.layers, other.layers);
    if (base.heads != other.heads || base.kvHeads != other.kvHeads || base.headDim != other.headDim)
        differ("attention heads (query/KV/dimension)", strCat(base.heads, "/", base.kvHeads, "/", base.headDim),
               strCat(other.heads, "/", other.kvHeads, "/", other.headDim));
    if (base.intermediate != other.intermediate)
        differ("MLP width", base.intermediate, other.intermediate);
    if (base.tiedEmbeddings != other.tiedEmbeddings)
        differ("output head", base.tiedEmbeddings ? "tied" : "separate", other.tiedEmbeddings ? "tied" : "separate");
    for (std::uint64_t l = 0; l < base.layers; ++l) {
        const auto& a = base.blocks[l];
        const auto& b = other.blocks[l];
        if ((a.qBias >= 0) != (b.qBias >= 0))
            differ(strCat("layer ", l, " query bias"), a.qBias >= 0 ? "present" : "absent",
                   b.qBias >= 0 ? "present" : "absent");
    }
}

} // namespace quantlens::core
