#pragma once

#include "core/advise/advisor.h"

#include <nlohmann/json_fwd.hpp>

#include <filesystem>
#include <string>
#include <vector>

// An advisor's mix in the syntax of the tools that make the quantized file (docs/llama-quant-rules.md
// says where each rule comes from).
namespace quantlens::core {

// llama.cpp's name of a tensor (blk.3.attn_q.weight, token_embd.weight, output.weight), from either
// Hugging Face or GGUF naming; empty for a tensor llama.cpp's llama converter does not write.
std::string ggufTensorName(const std::string& name);

// A shell script running llama-quantize on `input` (the F16/BF16/F32 GGUF of this model) to write
// `output` with exactly the mix's types: --token-embedding-type and --output-tensor-type for those
// two, one anchored --tensor-type pattern per role and type (layers as an alternation), --pure so
// that llama.cpp's own per-file-type rules change nothing, and the most common type as the base.
// Needs llama.cpp with --tensor-type honoured under --pure (PR #25716, July 2026; --tensor-type
// itself since PR #12511, April 2025). Throws UsageError for a bitsandbytes mix.
std::string llamaQuantizeScript(const AdvisorResult& result, const std::string& input, const std::string& output);

// transformers' BitsAndBytesConfig of a bitsandbytes mix: load_in_4bit, bnb_4bit_quant_type,
// bnb_4bit_use_double_quant, bnb_4bit_compute_dtype and llm_int8_skip_modules (the kept modules by
// full path, and lm_head, which transformers leaves out of a list it is given). Throws UsageError
// for a GGUF mix.
nlohmann::json bitsandbytesConfig(const AdvisorResult& result);
// A bitsandbytes quantization as transformers configures it: what `quantize --recipe` reads and
// what the quantization_config of a checkpoint's config.json says.
struct BitsandbytesRecipe {
    std::string scheme = "nf4"; // "nf4", "fp4" or "int8" (load_in_8bit)
    bool doubleQuant = false;
    std::string computeDtype = "bfloat16";
    std::vector<std::string> skipModules; // llm_int8_skip_modules
};

// Reads a BitsAndBytesConfig as JSON (advise -o config.json), or a config.json holding one as
// quantization_config. Throws IoError, or FormatError naming the file and field for anything
// transformers would not load as a bitsandbytes checkpoint with one 4-bit or 8-bit type.
BitsandbytesRecipe readBitsandbytesRecipe(const std::filesystem::path& path);
// Whether transformers leaves the Linear module `module` ("model.layers.3.mlp.down_proj") out of
// the quantization: an entry of skipModules occurs in its dotted name (transformers 4.x's test in
// _replace_with_bnb_linear; the full paths advise writes also match 5.x's prefix test).
bool skipsModule(const BitsandbytesRecipe& recipe, const std::string& module);
// The quantization_config transformers writes into config.json for a checkpoint saved so.
nlohmann::json quantizationConfig(const BitsandbytesRecipe& recipe);

// The same as Python that loads the model with it.
std::string bitsandbytesPython(const AdvisorResult& result, const std::string& modelPath);

} // namespace quantlens::core
