#pragma once

#include "core/model/tensor_info.h"
#include "core/quant/calibration.h"
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

// Which tensors a scheme is applied to.
enum class TensorSelection {
    // As the real tool applies the scheme (the default everywhere): ggml's formats as
    // llama-quantize --pure does (every 2-D weight, with llama.cpp's fallback types); every other
    // scheme as bitsandbytes through transformers does (Linear projection weights only).
    AsTool,
    // Every tensor the scheme can store, for teaching; a tensor it cannot store is kept as stored.
    EveryTensor,
};

// "as-tool", "every": what --policy takes.
std::string selectionName(TensorSelection selection);
// Throws UsageError naming the valid values.
TensorSelection parseSelection(const std::string& name);

// What one tensor is stored as under a scheme and a selection.
struct PlannedTensor {
    std::string type; // the scheme id it is quantized with (the scheme's own or a fallback); empty: kept as stored
    // Why another type than the scheme's own, or why the tensor is kept; empty when quantized as asked.
    std::string note;
};

// `cannotStore`: the scheme's own reason it cannot store this tensor's shape (Scheme::cannotStore
// of the caller's scheme object, whose options may differ from the defaults), empty when it can.
PlannedTensor planTensor(TensorSelection selection, const std::string& schemeId, const TensorInfo& tensor,
                         const std::string& cannotStore);

// One line: which tensors `schemeId` is applied to under `selection`, as outputs state it.
std::string policyDescription(TensorSelection selection, const std::string& schemeId);

// What happens to one tensor under a policy.
struct TensorQuantization {
    std::shared_ptr<const Scheme> scheme; // null: the tensor stays as stored
    std::string note; // why another scheme than the policy's own was used, or why the tensor is kept
};

class QuantPolicy {
public:
    explicit QuantPolicy(std::shared_ptr<const Scheme> scheme, TensorSelection selection = TensorSelection::AsTool);

    const std::shared_ptr<const Scheme>& scheme() const { return m_scheme; }
    // "bitsandbytes: Linear projection weights only; embeddings, norms and the output head kept", ...
    std::string description() const;
    TensorQuantization forTensor(const TensorInfo& tensor) const;

private:
    std::shared_ptr<const Scheme> m_scheme;
    TensorSelection m_selection;
};

// Q(in) dequantized into `out` for a whole tensor of `shape`: the scheme's tensor statistics first
// when it needs them, then aligned chunks. `in` and `out` have the tensor's element count.
// `scheme` with `calibration` (and, for AWQ, the tensor's searched transform `awq`) in every round
// trip's context: the per-tensor choice eval and the scan hand on for a scheme that
// needsCalibration() (GPTQ with that tensor's Hessian, AWQ with its scales and clipping).
std::shared_ptr<const Scheme> bindCalibration(std::shared_ptr<const Scheme> scheme,
                                              std::shared_ptr<const Calibration> calibration,
                                              std::shared_ptr<const AwqTransform> awq = nullptr);
// The scheme bound to tensor `index`'s calibration in `data`; null when `data` lacks what the scheme
// needs there (no Hessian, or no AWQ search for this scheme).
std::shared_ptr<const Scheme> bindCalibration(const std::shared_ptr<const Scheme>& scheme, const CalibrationData& data,
                                              std::size_t index);

void roundTripTensor(const Scheme& scheme, std::span<const std::uint64_t> shape, std::span<const float> in,
                     std::span<float> out, const Calibration* calibration = nullptr);

} // namespace quantlens::core
