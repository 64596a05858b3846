#pragma once

#include "core/model/model.h"

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <string>
#include <string_view>

namespace quantlens::core {

struct HfConfig {
    ModelArchitecture architecture;
    // Facts worth showing beside the architecture: torch_dtype, architectures[0], and the
    // quantization_config entries (quant_method, bnb_4bit_quant_type, ...), rendered as text.
    std::map<std::string, std::string> facts;
};

// Parses a Hugging Face config.json (Llama, Mistral, Mixtral, Qwen2, Gemma, Phi and their GPT-style
// spellings: n_embd, n_layer, n_head...). Multimodal configs are read from their text_config.
// Missing sizes stay 0; a size that is present but not a non-negative integer, or JSON that is
// not an object, is a FormatError naming `fileName`, the key and the byte offset.
HfConfig parseHfConfig(std::string_view json, const std::string& fileName);
// The same from JSON already parsed (the planner's presets and config files come through here too,
// so that the viewer and the planner read a config.json the same way).
HfConfig hfConfigFromJson(const nlohmann::json& root, const std::string& fileName);
// Parses config text to a JSON object: FormatError naming `fileName` and the byte offset otherwise.
nlohmann::json parseConfigJson(std::string_view json, const std::string& fileName);

} // namespace quantlens::core
