#include "core/advise/recipe.h"

#include "core/report/text_escape.h"
#include "core/util/error.h"
#include "core/util/file_text.h"
#include "core/util/str_cat.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

namespace quantlens::core {

std::string ggufTensorName(const std::string& name)
{
    static const std::map<std::string, std::string> blocks {
        {"self_attn.q_proj.weight", "attn_q.weight"},
        {"self_attn.k_proj.weight", "attn_k.weight"},
        {"self_attn.v_proj.weight", "attn_v.weight"},
        {"self_attn.o_proj.weight", "attn_output.weight"},
        {"mlp.gate_proj.weight", "ffn_gate.weight"},
        {"mlp.up_proj.weight", "ffn_up.weight"},
        {"mlp.down_proj.weight", "ffn_down.weight"},
        {"input_layernorm.weight", "attn_norm.weight"},
        {"post_attention_layernorm.weight", "ffn_norm.weight"},
    };
    if (name == "model.embed_tokens.weight")
        return "token_embd.weight";
    if (name == "lm_head.weight")
        return "output.weight";
    if (name == "model.norm.weight")
        return "output_norm.weight";
    static const std::regex layer(R"(^model\.layers\.(\d+)\.(.+)$)");
    std::smatch m;
    if (std::regex_match(name, m, layer)) {
        const auto it = blocks.find(m[2].str());
        return it == blocks.end() ? std::string() : strCat("blk.", m[1].str(), ".", it->second);
    }
    if (name.rfind("blk.", 0) == 0 || name == "token_embd.weight" || name == "output.weight")
        return name; // already llama.cpp's
    return {};
}

namespace {

// llama.cpp's name of a ggml type as llama-quantize parses it (case-insensitive there).
std::string ggmlTypeName(const std::string& scheme)
{
    return scheme == "fp16" ? "f16" : scheme == "bf16" ? "bf16" : scheme;
}

std::string ftypeName(const std::string& scheme)
{
    std::string upper = ggmlTypeName(scheme);
    std::transform(upper.begin(), upper.end(), upper.begin(), [](unsigned char c) { return char(std::toupper(c)); });
    return upper;
}

} // namespace

std::string llamaQuantizeScript(const AdvisorResult& r, const std::string& input, const std::string& output)
{
    if (r.family != "ggml")
        throw UsageError("a llama-quantize recipe is for a GGUF (ggml) mix; this one is for bitsandbytes");
    // The base file type must be a quantized one, or llama-quantize ignores every --tensor-type
    // (llama_tensor_get_type runs them only when ggml_is_quantized(default_type)).
    std::map<std::string, int> counts;
    for (const auto& a : r.assignment)
        if (a.scheme != "fp16" && a.scheme != "bf16")
            ++counts[a.scheme];
    const std::string base
        = counts.empty() ? "q8_0" : std::max_element(counts.begin(), counts.end(), [](const auto& a, const auto& b) {
                                        return a.second < b.second;
                                    })->first;
    std::string embedding, head;
    // (llama.cpp role, type) -> layers
    std::map<std::pair<std::string, std::string>, std::vector<int>> groups;
    for (const auto& a : r.assignment) {
        const std::string gguf = ggufTensorName(a.tensor);
        if (gguf.empty())
            throw UsageError(strCat("'", a.tensor, "' has no llama.cpp name this recipe knows"));
        if (gguf == "token_embd.weight") {
            embedding = a.scheme;
        } else if (gguf == "output.weight") {
            head = a.scheme;
        } else {
            const auto dot = gguf.find('.', 4);
            groups[{gguf.substr(dot + 1), a.scheme}].push_back(std::stoi(gguf.substr(4, dot - 4)));
        }
    }
    std::string script = strCat(
        "#!/bin/sh\n"
        "# A per-tensor mix by quantlens-cli advise: ",
        r.totalBytes, " bytes (", r.parameters ? double(r.totalBytes) * 8.0 / double(r.parameters) : 0.0,
        " bits/param) for a budget of ", r.budgetBytes, " bytes,\n# ", r.costKind,
        ".\n# Needs a llama.cpp whose llama-quantize honours --tensor-type under --pure (PR #25716, July 2026).\n"
        "# The first --tensor-type pattern that matches a tensor's name wins; each here names whole tensors.\n"
        "set -e\nllama-quantize --pure");
    if (!embedding.empty())
        script += " \\\n  --token-embedding-type " + ggmlTypeName(embedding);
    if (!head.empty())
        script += " \\\n  --output-tensor-type " + ggmlTypeName(head);
    for (const auto& [key, layers] : groups) {
        std::string alternation;
        for (int l : layers)
            alternation += (alternation.empty() ? "" : "|") + std::to_string(l);
        // llama-quantize lowercases patterns: this one has no upper-case escape to lose.
        std::string role = key.first;
        std::string escaped;
        for (char c : role)
            escaped += c == '.' ? std::string("\\.") : std::string(1, c);
        script += strCat(" \\\n  --tensor-type ",
                         shellQuote(strCat("^blk\\.(", alternation, ")\\.", escaped, "$=", ggmlTypeName(key.second))));
    }
    script += strCat(" \\\n  ", shellQuote(input), " ", shellQuote(output), " ", ftypeName(base), "\n");
    return script;
}

nlohmann::json bitsandbytesConfig(const AdvisorResult& r)
{
    if (r.family != "bitsandbytes")
        throw UsageError("a BitsAndBytesConfig is for a bitsandbytes mix; this one is for GGUF");
    nlohmann::json j;
    const bool fp4 = r.fourBitType.rfind("fp4", 0) == 0;
    j["load_in_4bit"] = true;
    j["bnb_4bit_quant_type"] = fp4 ? "fp4" : "nf4";
    j["bnb_4bit_use_double_quant"] = r.fourBitType.ends_with("-dq");
    j["bnb_4bit_compute_dtype"] = "bfloat16";
    nlohmann::json skip = nlohmann::json::array();
    for (const auto& a : r.assignment) {
        if (a.scheme != "keep")
            continue;
        std::string module = a.tensor;
        if (module.ends_with(".weight"))
            module.resize(module.size() - 7);
        skip.push_back(module);
    }
    skip.push_back("lm_head"); // a given list replaces transformers' default, which keeps lm_head
    j["llm_int8_skip_modules"] = skip;
    return j;
}

BitsandbytesRecipe readBitsandbytesRecipe(const std::filesystem::path& path)
{
    const std::string text = readFileText(path);
    const auto bad = [&](const std::string& field, const std::string& expected, const std::string& what) {
        return FormatError(ErrorLocation {path.string(), std::nullopt, field, expected, ""}, what);
    };
    nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object())
        throw bad("", "a BitsAndBytesConfig, or a config.json with a quantization_config", "not a JSON object");
    if (j.contains("quantization_config"))
        j = j["quantization_config"];
    if (!j.is_object())
        throw bad("quantization_config", "an object", "not an object");
    const auto flag = [&](const char* key) {
        if (!j.contains(key) || j[key].is_null())
            return false;
        if (!j[key].is_boolean())
            throw bad(key, "true or false", "not a boolean");
        return j[key].get<bool>();
    };
    const auto word = [&](const char* key, const std::string& fallback) {
        if (!j.contains(key) || j[key].is_null())
            return fallback;
        if (!j[key].is_string())
            throw bad(key, "a string", "not a string");
        return j[key].get<std::string>();
    };
    if (const auto method = word("quant_method", "bitsandbytes"); method != "bitsandbytes")
        throw bad("quant_method", "bitsandbytes", strCat("'", method, "' is not what quantize writes"));
    const bool four = flag("load_in_4bit"), eight = flag("load_in_8bit");
    if (four == eight)
        throw bad("load_in_4bit", "one of load_in_4bit and load_in_8bit true",
                  four ? "sets both load_in_4bit and load_in_8bit" : "sets neither load_in_4bit nor load_in_8bit");
    BitsandbytesRecipe r;
    if (four) {
        r.scheme = word("bnb_4bit_quant_type", "fp4"); // BitsAndBytesConfig's default
        if (r.scheme != "nf4" && r.scheme != "fp4")
            throw bad("bnb_4bit_quant_type", "nf4 or fp4", strCat("'", r.scheme, "' is not a bitsandbytes 4-bit type"));
        r.doubleQuant = flag("bnb_4bit_use_double_quant");
        if (const auto storage = word("bnb_4bit_quant_storage", "uint8"); storage != "uint8")
            throw bad("bnb_4bit_quant_storage", "uint8", strCat("'", storage, "': quantize packs into uint8"));
        r.computeDtype = word("bnb_4bit_compute_dtype", "float32");
    } else {
        r.scheme = "int8";
    }
    if (j.contains("llm_int8_skip_modules") && !j["llm_int8_skip_modules"].is_null()) {
        const auto& skip = j["llm_int8_skip_modules"];
        if (!skip.is_array())
            throw bad("llm_int8_skip_modules", "a list of module names", "not a list");
        for (std::size_t i = 0; i < skip.size(); ++i) {
            if (!skip[i].is_string() || skip[i].get<std::string>().empty())
                throw bad(strCat("llm_int8_skip_modules[", i, "]"), "a module name", "not a module name");
            r.skipModules.push_back(skip[i].get<std::string>());
        }
    }
    return r;
}

bool skipsModule(const BitsandbytesRecipe& recipe, const std::string& module)
{
    return std::any_of(recipe.skipModules.begin(), recipe.skipModules.end(),
                       [&](const std::string& key) { return module.find(key) != std::string::npos; });
}

nlohmann::json quantizationConfig(const BitsandbytesRecipe& r)
{
    const bool four = r.scheme != "int8";
    nlohmann::json j;
    j["quant_method"] = "bitsandbytes";
    j["load_in_4bit"] = four;
    j["load_in_8bit"] = !four;
    if (four) {
        j["bnb_4bit_quant_type"] = r.scheme;
        j["bnb_4bit_use_double_quant"] = r.doubleQuant;
        j["bnb_4bit_compute_dtype"] = r.computeDtype;
        j["bnb_4bit_quant_storage"] = "uint8";
    }
    j["llm_int8_skip_modules"] = r.skipModules.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.skipModules);
    return j;
}

std::string bitsandbytesPython(const AdvisorResult& r, const std::string& modelPath)
{
    const auto j = bitsandbytesConfig(r);
    std::string modules;
    for (const auto& m : j["llm_int8_skip_modules"])
        modules += strCat("        \"", m.get<std::string>(), "\",\n");
    return strCat("# A mix by quantlens-cli advise: ", r.totalBytes, " bytes for a budget of ", r.budgetBytes,
                  " bytes; ", r.costKind,
                  ".\n"
                  "# Modules are named by full path, which transformers 4.x and 5.x both match.\n"
                  "import torch\n"
                  "from transformers import AutoModelForCausalLM, BitsAndBytesConfig\n\n"
                  "config = BitsAndBytesConfig(\n"
                  "    load_in_4bit=True,\n"
                  "    bnb_4bit_quant_type=\"",
                  j["bnb_4bit_quant_type"].get<std::string>(),
                  "\",\n    bnb_4bit_use_double_quant=", j["bnb_4bit_use_double_quant"].get<bool>() ? "True" : "False",
                  ",\n    bnb_4bit_compute_dtype=torch.bfloat16,\n    llm_int8_skip_modules=[\n", modules,
                  "    ],\n)\nmodel = AutoModelForCausalLM.from_pretrained(\"", modelPath,
                  "\", quantization_config=config)\n");
}

} // namespace quantlens::core
