#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>

namespace quantlens::core {

// Exact parameter counts of a decoder-only transformer, per component, so that the planner can
// price each one differently (frozen vs trained, quantized vs 16-bit, sharded vs replicated).
// Counts follow the Hugging Face modeling files (transformers: modeling_llama.py, modeling_mistral.py,
// modeling_mixtral.py, modeling_qwen2.py, modeling_gemma2.py, modeling_phi3.py).
struct ParameterCounts {
    std::uint64_t embeddings = 0; // V·h
    std::uint64_t attention = 0; // q, k, v, o weights of all layers
    std::uint64_t mlp = 0; // gate, up, down of all layers (times the experts for a mixture)
    std::uint64_t router = 0; // h·E per layer for a mixture of experts
    std::uint64_t norms = 0; // RMSNorm vectors of all layers plus the final norm
    std::uint64_t biases = 0; // q/k/v biases (Qwen2) or attention biases where the config asks
    std::uint64_t lmHead = 0; // V·h, zero when tied to the embeddings

    std::uint64_t total() const { return embeddings + attention + mlp + router + norms + biases + lmHead; }
    // The weights that go through Linear layers in the decoder blocks: what bitsandbytes quantizes
    // to 4 or 8 bits (embeddings, norms and lm_head stay 16-bit in a QLoRA setup).
    std::uint64_t linear() const { return attention + mlp + router; }
};

// The architecture numbers the planner needs. A model given only by a parameter count has
// hasArchitecture == false: the planner then cannot size activations or the KV cache from first
// principles and uses a documented scaling from a Llama-shaped model of that size instead.
struct ModelSpec {
    std::string name; // preset id, config file name, or "7.00 B parameters"
    std::string displayName; // "Llama-2-7B"
    std::string architecture; // Hugging Face model_type: llama, mistral, mixtral, qwen2, gemma2, phi3
    bool hasArchitecture = true;

    int layers = 0;
    int hidden = 0;
    int heads = 0;
    int kvHeads = 0;
    int headDim = 0; // h / heads unless the config says otherwise (Gemma-2)
    int intermediate = 0;
    int vocab = 0;
    int experts = 1; // 1 for a dense model
    int expertsPerToken = 1;
    bool tiedEmbeddings = false;
    bool qkvBias = false;
    int normsPerLayer = 2; // Gemma-2 has four RMSNorms per layer
    std::uint64_t publishedParameters = 0; // from the model card, when a preset records it
    std::int64_t contextLength = 0; // max_position_embeddings (or the like); 0 when unknown
    // Sliding-window attention: the window in tokens (0: none) and how many layers use it (all for
    // Mistral v0.1; every other one for Gemma-2; five in six for Gemma-3; config's layer_types).
    int slidingWindow = 0;
    int slidingLayers = 0;

    ParameterCounts parameters;

    int kvDim() const { return kvHeads * headDim; }
    int qDim() const { return heads * headDim; }
};

// Fills spec.parameters from the architecture numbers.
ParameterCounts countParameters(const ModelSpec& spec);

// Reads a Hugging Face config.json (already parsed). `source` names the file in messages; a
// missing or invalid field throws FormatError naming the field and the file.
ModelSpec modelSpecFromConfig(const nlohmann::json& config, const std::string& source);

// Reads and parses a config.json from disk. IoError if it cannot be read, FormatError if it is
// not JSON or lacks a field.
ModelSpec modelSpecFromConfigFile(const std::string& path);

// A model known only by its size: "7e9", "7B", "1.5b", "350M", "6738415616". UsageError on
// anything else or a count outside [1e6, 1e13].
std::uint64_t parseParameterCount(const std::string& text);
ModelSpec modelSpecFromParameterCount(std::uint64_t parameters);

} // namespace quantlens::core
