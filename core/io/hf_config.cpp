#include "core/io/hf_config.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <nlohmann/json.hpp>

#include <initializer_list>

namespace quantlens::core {

namespace {

// The first of `keys` present in `object`, as a size; 0 when none is present.
std::uint64_t sizeOf(const nlohmann::json& object, std::initializer_list<const char*> keys, const std::string& fileName,
                     const std::string& prefix)
{
    for (const char* key : keys) {
        const auto it = object.find(key);
        if (it == object.end() || it->is_null())
            continue;
        if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<std::int64_t>() >= 0)) {
            throw FormatError({fileName, std::nullopt, prefix + key, "a non-negative integer", it->dump()},
                              strCat("'", prefix, key, "' is not a size"));
        }
        return it->get<std::uint64_t>();
    }
    return 0;
}

std::string render(const nlohmann::json& value)
{
    return value.is_string() ? value.get<std::string>() : value.dump();
}

} // namespace

nlohmann::json parseConfigJson(std::string_view json, const std::string& fileName)
{
    nlohmann::json root;
    try {
        root = nlohmann::json::parse(json.begin(), json.end());
    } catch (const nlohmann::json::parse_error& e) {
        throw FormatError({fileName, e.byte > 0 ? e.byte - 1 : 0, "config", "valid JSON", e.what()},
                          "config is not valid JSON");
    } catch (const nlohmann::json::exception& e) { // out_of_range: a number beyond double's range
        throw FormatError({fileName, 0, "config", "valid JSON", e.what()}, "config is not valid JSON");
    }
    if (!root.is_object())
        throw FormatError({fileName, 0, "config", "a JSON object", root.type_name()}, "config is not a JSON object");
    return root;
}

HfConfig parseHfConfig(std::string_view json, const std::string& fileName)
{
    return hfConfigFromJson(parseConfigJson(json, fileName), fileName);
}

HfConfig hfConfigFromJson(const nlohmann::json& root, const std::string& fileName)
{
    if (!root.is_object())
        throw FormatError({fileName, 0, "config", "a JSON object", root.type_name()}, "config is not a JSON object");
    HfConfig config;
    std::string prefix;
    const nlohmann::json* text = &root;
    if (const auto it = root.find("text_config"); it != root.end() && it->is_object()) {
        text = &*it;
        prefix = "text_config.";
    }
    auto& a = config.architecture;
    for (const nlohmann::json* source : std::initializer_list<const nlohmann::json*> {text, &root}) {
        if (const auto it = source->find("model_type"); a.name.empty() && it != source->end() && it->is_string())
            a.name = it->get<std::string>();
    }
    a.hiddenSize = sizeOf(*text, {"hidden_size", "n_embd", "d_model", "dim"}, fileName, prefix);
    a.intermediateSize = sizeOf(*text, {"intermediate_size", "n_inner", "ffn_dim", "hidden_dim"}, fileName, prefix);
    a.layers = sizeOf(*text, {"num_hidden_layers", "n_layer", "num_layers", "n_layers"}, fileName, prefix);
    a.attentionHeads = sizeOf(*text, {"num_attention_heads", "n_head", "n_heads"}, fileName, prefix);
    a.kvHeads = sizeOf(*text, {"num_key_value_heads", "n_kv_heads", "num_kv_heads"}, fileName, prefix);
    if (a.kvHeads == 0)
        a.kvHeads = a.attentionHeads;
    a.headDim = sizeOf(*text, {"head_dim"}, fileName, prefix);
    if (a.headDim == 0 && a.attentionHeads > 0)
        a.headDim = a.hiddenSize / a.attentionHeads;
    a.vocabSize = sizeOf(*text, {"vocab_size"}, fileName, prefix);
    if (a.vocabSize == 0)
        a.vocabSize = sizeOf(root, {"vocab_size"}, fileName, "");
    a.contextLength
        = sizeOf(*text, {"max_position_embeddings", "n_positions", "seq_length", "max_seq_len"}, fileName, prefix);
    a.experts = sizeOf(*text, {"num_local_experts", "num_experts", "n_routed_experts"}, fileName, prefix);
    a.expertsPerToken = sizeOf(*text, {"num_experts_per_tok", "num_experts_per_token"}, fileName, prefix);
    // When the config does not say, the transformers config classes' default: Gemma ties its
    // embeddings, the others do not.
    a.tiedEmbeddings = a.name.rfind("gemma", 0) == 0;
    for (const nlohmann::json* source : std::initializer_list<const nlohmann::json*> {text, &root}) {
        if (const auto it = source->find("tie_word_embeddings"); it != source->end() && it->is_boolean()) {
            a.tiedEmbeddings = it->get<bool>();
            break;
        }
    }

    if (const auto it = root.find("architectures"); it != root.end() && it->is_array() && !it->empty())
        config.facts["architectures"] = render((*it)[0]);
    if (const auto it = text->find("torch_dtype"); it != text->end())
        config.facts["torch_dtype"] = render(*it);
    if (const auto it = root.find("quantization_config"); it != root.end() && it->is_object()) {
        for (const auto& [key, value] : it->items())
            config.facts["quantization_config." + key] = render(value);
    }
    return config;
}

} // namespace quantlens::core
