#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace quantlens::core {

// Storage types of tensors in the files we read. Plain dtypes come from safetensors and GGUF;
// NF4/FP4 are bitsandbytes 4-bit weights presented as one logical tensor; the rest are ggml blocks.
// clang-format off
enum class DType {
    F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL,
    NF4, FP4, // bitsandbytes 4-bit (packed uint8 + absmax [+ nested statistics])
    LlmInt8, // bitsandbytes LLM.int8 checkpoints: int8 weight + SCB row absmax (+ weight_format)
    Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K,
    IQ2_XXS, IQ2_XS, IQ3_XXS, IQ1_S, IQ4_NL, IQ3_S, IQ2_S, IQ4_XS, IQ1_M, TQ1_0, TQ2_0, MXFP4,
    Unknown,
};

// clang-format on

std::string_view dtypeName(DType type); // "F32", "BF16", "NF4", "Q4_K", ...
std::ostream& operator<<(std::ostream& out, DType type); // dtypeName (also how GoogleTest prints one)
// Bytes per element of a plain dtype (F64 ... BOOL); 0 for packed and block-quantized ones.
std::uint64_t dtypeElementBytes(DType type);
// Whether a dtype is one of the plain safetensors element types.
inline bool isPlainDtype(DType type)
{
    return dtypeElementBytes(type) != 0;
}

// What a tensor is for, from its name (Llama, Mistral, Mixtral, Qwen2, Gemma, Phi naming, in both
// Hugging Face and llama.cpp spelling). Unknown names are Other and stay visible.
// clang-format off
enum class TensorRole {
    Embedding, AttentionQ, AttentionK, AttentionV, AttentionO, AttentionQKV,
    MlpGate, MlpUp, MlpDown, MlpGateUp, Router, Norm, LmHead, Other,
};

// clang-format on

std::string_view roleName(TensorRole role); // "embedding", "attn_q", ..., "mlp_down", "lm_head", "other"

// One tensor as the rest of the app sees it, whatever the file format.
struct TensorInfo {
    std::string name;
    std::vector<std::uint64_t> shape; // outermost first, as in safetensors/PyTorch ([out, in] for a linear weight)
    DType dtype = DType::Unknown;
    std::uint64_t byteSize = 0; // bytes on disk, including block scales and (for NF4/FP4) their statistics
    int layer = -1; // transformer block index, -1 outside the blocks
    int expert = -1; // mixture-of-experts expert index, -1 when not an expert weight
    TensorRole role = TensorRole::Other;
    std::string file; // the file that holds the data

    std::uint64_t elementCount() const
    {
        std::uint64_t n = 1;
        for (auto d : shape)
            n *= d;
        return n;
    }
    // Elements per row (innermost dimension); 1 for a scalar.
    std::uint64_t rowLength() const { return shape.empty() ? 1 : shape.back(); }
};

} // namespace quantlens::core
