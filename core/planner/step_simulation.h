#pragma once

#include "core/planner/planner.h"

#include <array>
#include <cstdint>

// An event-level simulation of a training step of a Llama-style decoder in PyTorch + transformers +
// peft (+ bitsandbytes): every tensor of the forward pass, the backward pass and optimizer.step()
// that is at least of the order of one token row, allocated and freed in the order the
// implementations do, through a model of the caching allocator (caching_allocator.h). It answers
// what the formulas alone cannot: how much of the freed activations' memory the gradients and the
// optimizer's tensors can reuse, hence what PyTorch reserves and nvidia-smi shows. Each tensor and
// its source: docs/planner-validation.md, "The step, tensor by tensor".
namespace quantlens::core {

struct StepShape {
    std::uint64_t layers = 0, hidden = 0, qDim = 0, kvDim = 0, heads = 0, intermediate = 0, vocab = 0;
    std::uint64_t experts = 1, expertsPerToken = 1;
    bool tiedEmbeddings = false;
    bool operator==(const StepShape&) const = default;
};

enum class StepTemporaries { None, PerParameter, AllParameters };

// bitsandbytes' Optimizer8bit.get_state_buffer: smaller parameters get ordinary tensors.
inline constexpr std::uint64_t kPagedMinElements = 100'000;

struct StepInput {
    StepShape shape;
    std::uint64_t seqLen = 0, microBatch = 0;
    TrainingMethod method = TrainingMethod::Full;
    // Bytes per element of the trained parameters (full: 4 for fp32/mixed, 2 for bf16).
    std::uint64_t parameterBytes = 2;
    // Mixed precision: fp32 weights under torch.autocast(bf16); the residual stream is fp32.
    bool autocast = false;
    // Frozen base of LoRA/QLoRA: bytes per element of the Linear weights as stored (2 for bf16;
    // for bitsandbytes 0.5 packed + absmax for 4-bit, 1 + a scale per row for int8, of which
    // frozenPackedBytes is the quantized tensor itself) and of everything else (embeddings,
    // norms); whether bitsandbytes quantized them on load and dequantizes them for each matmul.
    double frozenLinearBytes = 2;
    double frozenPackedBytes = 0.5;
    double frozenOtherBytes = 2;
    bool frozenDequantized = false;
    std::uint64_t loraRank = 16;
    unsigned loraTargets = kLoraAll;
    bool loraDropout = true;
    bool checkpointing = false;
    bool eagerAttention = false;
    // The training loop holds the model's outputs (the bf16 logits) through loss.backward(), as a
    // loop written `out = model(**batch); out.loss.backward()` does; transformers' Trainer drops
    // them when compute_loss returns, before the backward pass.
    bool keepOutputs = true;
    // Optimizer states: `stateTensors` tensors per trained parameter of `stateBytes` bytes per
    // element in all, made at the first step in parameter order. Temporaries of step(): torch's
    // foreach AdamW makes one parameter-sized tensor per parameter at once (torch._foreach_sqrt);
    // the for-loop AdamW two per parameter, one parameter at a time (exp_avg_sq.sqrt(), its
    // quotient); fused kernels and bitsandbytes none.
    // Paged optimizers (bitsandbytes) keep the states of parameters with at least
    // kPagedMinElements elements in CUDA managed memory, outside PyTorch's allocator, at
    // `pagedStateBytes` per element.
    double stateBytes = 0;
    int stateTensors = 2;
    StepTemporaries temporaries = StepTemporaries::None;
    bool paged = false;
    double pagedStateBytes = 0;
    // cuBLAS workspace per thread, from the caching allocator (32 MiB on compute capability 9.0).
    std::uint64_t cublasWorkspaceBytes = 32ull << 20;
    // PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True (caching_allocator.h).
    bool expandableSegments = false;
    int steps = 2;
    std::uint64_t capacityBytes = ~std::uint64_t {0}; // for the allocator; unlimited by default
    bool operator==(const StepInput&) const = default;
};

struct StepSimulation {
    std::uint64_t peakAllocated = 0; // torch.cuda.max_memory_allocated()
    std::uint64_t peakReserved = 0; // torch.cuda.max_memory_reserved()
    bool outOfMemory = false; // a cudaMalloc failed even after the cache was released
    // Live bytes per component at the moment allocated memory peaked.
    std::array<std::uint64_t, kComponentCount> atPeak {};
    // Paged optimizer states in managed memory (outside the allocator; resident unless the GPU
    // runs short).
    std::uint64_t pagedBytes = 0;
    // "backward", "forward", "optimizer step": where allocated memory peaked.
    const char* peakPhase = "";
};

// Runs the simulation: 1-10 ms for 7B-70B models (docs/planner-validation.md). The last 64
// results are kept per thread, so that evaluating one plan against every GPU of the catalogue, or
// again on a repaint, simulates it once.
StepSimulation simulateTrainingStep(const StepInput& input);
// The same, always simulated (benchmarks).
StepSimulation simulateTrainingStepUncached(const StepInput& input);

} // namespace quantlens::core
