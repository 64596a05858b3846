#pragma once

#include "core/model/tensor_info.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace quantlens::core {

// Architecture facts, from config.json or GGUF metadata; zero when unknown.
struct ModelArchitecture {
    std::string name; // "llama", "mistral", "mixtral", "qwen2", "gemma2", "phi3", ...
    std::uint64_t hiddenSize = 0;
    std::uint64_t intermediateSize = 0;
    std::uint64_t layers = 0;
    std::uint64_t attentionHeads = 0;
    std::uint64_t kvHeads = 0;
    std::uint64_t headDim = 0;
    std::uint64_t vocabSize = 0;
    std::uint64_t contextLength = 0;
    std::uint64_t experts = 0;
    std::uint64_t expertsPerToken = 0;
    bool tiedEmbeddings = false;
};

// An opened model: headers only, data memory-mapped. The one abstraction the scan, the CLI and the
// GUI use for every format. Thread-safe for concurrent reads.
class Model {
public:
    virtual ~Model() = default;

    virtual std::string format() const = 0; // "safetensors", "safetensors (sharded)", "gguf"
    virtual std::filesystem::path path() const = 0; // what the user opened
    virtual std::vector<std::filesystem::path> files() const = 0; // every file holding data
    virtual const std::vector<TensorInfo>& tensors() const = 0;
    virtual const ModelArchitecture& architecture() const = 0;
    // File-level metadata as text (safetensors __metadata__, GGUF key/values rendered readably).
    virtual const std::map<std::string, std::string>& metadata() const = 0;

    // Whether readFloat() can decode this tensor; when not, why (e.g. "dequantization of IQ2_XXS is
    // not supported").
    virtual bool canDequantize(std::size_t index, std::string* why = nullptr) const = 0;
    // Decodes elements [first, first + out.size()) of tensor `index` into `out` as float32.
    // `first` must be a multiple of blockAlignment(index). Throws FormatError/UnsupportedError.
    virtual void readFloat(std::size_t index, std::uint64_t first, std::span<float> out) const = 0;
    // 1 for plain dtypes; the block size for block-quantized ones (32, 256, the bnb blocksize).
    virtual std::uint64_t blockAlignment(std::size_t index) const = 0;
    // The stored bytes of a tensor (for quantized GGUF tensors: the blocks as written).
    virtual std::span<const std::byte> rawBytes(std::size_t index) const = 0;

    std::uint64_t totalParameters() const;
    std::uint64_t totalBytes() const;
    // Index of the tensor named `name`, or -1.
    std::ptrdiff_t find(const std::string& name) const;
};

// Opens a safetensors file, a model.safetensors.index.json, a folder holding either, or a GGUF
// file. Throws FormatError naming the file, the field and the byte offset on bad input.
std::unique_ptr<Model> openModel(const std::filesystem::path& path);

// Whether the file holds weights that are already quantized (GGUF Q2_K ... Q8_0, bitsandbytes NF4,
// FP4 or LLM.int8, FP8): then every scheme measured on it is measured against those stored values,
// dequantized, not against the original weights, and every output must say so. Empty when every
// floating-point tensor is F64, F32, F16 or BF16; else "This model is stored quantized: 218 of 291
// tensors (98.7% of the parameters) in Q4_K x 193, Q6_K x 25, 4.85 bits per weight. ...".
std::string storedQuantizationNote(const Model& model);

} // namespace quantlens::core
