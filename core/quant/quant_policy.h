#pragma once

#include "core/model/tensor_info.h"
#include "core/quant/scheme.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>

// Which tensors of a model a scheme quantizes, as the real tool applies it: bitsandbytes (through
// transformers) quantizes the Linear projection weights only; llama-quantize every 2-D weight,
// the token embedding and the output head included, with its fallback type for tensors whose rows
// are not whole blocks. One policy for every command that simulates a scheme on a whole model.
namespace quantlens::core {

// The weight of an attention or MLP projection (a torch.nn.Linear): what bitsandbytes replaces.
// Embeddings, norms, biases and lm_head stay as they are (transformers keeps lm_head in 16-bit).
bool isLinearProjectionWeight(const TensorInfo& tensor);

// Whether `id` names one of ggml's block formats ("q4_0", "q6_k", ...).
bool isGgmlSchemeId(const std::string& id);

// A weight llama-quantize quantizes: 2-D, named .weight, the token embedding and output head
// included; not norms, biases or the MoE router.
bool isGgmlQuantizedWeight(const TensorInfo& tensor);

// The type llama.cpp stores a tensor of `shape` in when ggml type `id` is asked for: `id` itself,
// else its fallback for rows that are not whole blocks (llama.cpp's tensor_type_fallback), else
// "fp16".
std::string ggmlStoredType(const std::string& id, std::span<const std::uint64_t> shape);

// What happens to one tensor under a policy.
struct TensorQuantization {
    std::shared_ptr<const Scheme> scheme; // null: the tensor stays as stored
    std::string note; // why another scheme than the policy's own was used, or why the tensor is kept
};

class QuantPolicy {
public:
    explicit QuantPolicy(std::shared_ptr<const Scheme> scheme);

    const std::shared_ptr<const Scheme>& scheme() const { return m_scheme; }
    // "bitsandbytes: Linear projection weights only; embeddings, norms and the output head kept", ...
    std::string description() const;
    TensorQuantization forTensor(const TensorInfo& tensor) const;

private:
    std::shared_ptr<const Scheme> m_scheme;
    bool m_ggml = false;
};

// Q(in) dequantized into `out` for a whole tensor of `shape`: the scheme's tensor statistics first
// when it needs them, then aligned chunks. `in` and `out` have the tensor's element count.
void roundTripTensor(const Scheme& scheme, std::span<const std::uint64_t> shape, std::span<const float> in,
                     std::span<float> out);

} // namespace quantlens::core
