#pragma once

#include "core/model/model.h"

#include <cstdint>
#include <string>
#include <vector>

// What the CPU forward pass needs to know of a decoder-only Llama-family model (Llama 1/2/3,
// Mistral, Qwen2), read from config.json beside a safetensors checkpoint or from GGUF metadata,
// and where each weight is in the opened file.
namespace quantlens::core {

// How the query and key rows of a head pair their values for the rotary embedding.
enum class RopeLayout {
    RotateHalf, // value i with i + head_dim/2: Hugging Face checkpoints, and GGUF's NEOX mode (Qwen2)
    Interleaved, // value 2i with 2i + 1: Meta's and llama.cpp's layout (GGUF llama)
};

// Where each weight of one transformer block is (indices into Model::tensors(); -1 when absent).
struct LlamaLayerTensors {
    std::ptrdiff_t attnNorm = -1, q = -1, k = -1, v = -1, o = -1;
    std::ptrdiff_t qBias = -1, kBias = -1, vBias = -1;
    std::ptrdiff_t ffnNorm = -1, gate = -1, up = -1, down = -1;
};

struct LlamaConfig {
    std::string architecture; // "llama", "mistral", "qwen2"
    std::uint64_t hidden = 0;
    std::uint64_t intermediate = 0;
    std::uint64_t layers = 0;
    std::uint64_t heads = 0;
    std::uint64_t kvHeads = 0;
    std::uint64_t headDim = 0;
    std::uint64_t vocab = 0;
    std::uint64_t context = 0; // longest sequence the model was configured for
    double rmsEps = 1e-6;
    double ropeTheta = 10000.0;
    RopeLayout ropeLayout = RopeLayout::RotateHalf;
    // The rotary frequencies, head_dim/2 of them, with any scaling (Llama 3.1's "llama3", "linear")
    // applied; position p rotates pair i by p * ropeFrequencies[i].
    std::vector<double> ropeFrequencies;
    std::string ropeScaling; // "none", "llama3", "linear", "rope_freqs tensor"
    std::uint64_t slidingWindow = 0; // Mistral: a query sees this many positions (itself included); 0: all
    std::int64_t bosId = -1; // -1 when the file does not say
    bool tiedEmbeddings = false;

    std::ptrdiff_t embedding = -1;
    std::ptrdiff_t finalNorm = -1;
    std::ptrdiff_t head = -1; // the output projection: lm_head / output, or the embedding when tied
    std::vector<LlamaLayerTensors> blocks;

    // One line: "llama, 5 layers, hidden 64, 8 heads (4 KV), vocabulary 512, RoPE theta 10000 (interleaved)".
    std::string summary() const;
};

// Reads the architecture and finds every weight. Throws UnsupportedError naming the architecture
// when it is not a decoder-only Llama, Mistral or Qwen2 model (or uses a feature the forward pass
// does not have: another rope scaling, fused QKV), and FormatError naming the file and tensor when
// a weight is missing or has the wrong shape.
LlamaConfig llamaConfigFor(const Model& model);

// Checks that `other` holds the same model shape as `base` (architecture, sizes, vocabulary, every
// weight's shape), so that the two can be compared output for output. Throws UsageError saying
// which fact differs, naming `otherName`.
void checkSameShape(const LlamaConfig& base, const Model& baseModel, const LlamaConfig& other,
                    const std::string& otherName);

} // namespace quantlens::core
