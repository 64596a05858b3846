#pragma once

#include "core/model/model.h"
#include "core/planner/planner.h"

#include <cstdint>
#include <string>

// "Fits GPU X under this plan" as a weight budget: the planner tells how many bytes of weights the
// rest of the plan (KV cache or activations, adapters and their optimizer, CUDA context, the
// allocator's reserve) leaves on the GPU.
namespace quantlens::core {

// The planner's model of an opened file: its config.json when one lies beside it, else the
// architecture the forward pass reads (GGUF metadata). Throws what those throw for a file that
// says too little.
ModelSpec modelSpecFor(const Model& model);

struct GpuWeightBudget {
    std::uint64_t bytes = 0; // the most weight bytes with which the plan fits
    PlanResult plan; // the plan with that many weight bytes
    std::uint64_t usableBytes = 0; // of the GPU
    std::uint64_t restBytes = 0; // the plan's peak with no weights at all
};

// The most weight bytes (PlanInput::weightBytes) with which `plan` still fits its GPU: a binary
// search on the planner itself, so every term that grows with the weights (ZeRO-3 shards, the
// allocator) counts as the planner counts it. Throws UsageError when the plan names no GPU, is a
// full finetune (whose weights are trained in --precision, not chosen), cannot run on the GPU, or
// does not fit even without weights (saying by how much).
GpuWeightBudget weightBudgetForGpu(PlanInput plan);

} // namespace quantlens::core
