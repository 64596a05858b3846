#pragma once

#include "core/planner/catalogue.h"
#include "core/planner/model_spec.h"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// The memory planner: "will this finetune fit on my GPU, and if not, what should I change?"
// Value structs in, value structs out, no I/O: evaluate() is cheap enough (< 50 µs) for the GUI to
// call on every keystroke. Formulas and sources: docs/planner-validation.md and
// ../shared/reference/memory-model.md; every constant that is calibrated rather than derived is
// a member of PlanOverheads with its default documented.
namespace quantlens::core {

enum class TrainingMethod { Full, Lora, Qlora, Inference };
// Mixed = fp32 master weights with bf16 autocast (PyTorch AMP on an fp32 model).
enum class Precision { Fp32, Bf16, Fp16, Mixed };
enum class WeightFormat { Fp32, Bf16, Fp16, Int8, Nf4, Fp4 };
// bitsandbytes' 8-bit and 4-bit formats, which it dequantizes for each matmul.
inline bool isQuantized(WeightFormat format)
{
    return format == WeightFormat::Int8 || format == WeightFormat::Nf4 || format == WeightFormat::Fp4;
}
enum class OptimizerKind { AdamW, AdamW8bit, PagedAdamW8bit, PagedAdamW, Sgd, Adafactor, Lion };
enum class AttentionKind { Sdpa, Eager };
// torch.optim.AdamW's implementations: foreach (the default on CUDA), for-loop (foreach=False),
// fused (fused=True).
enum class AdamWImplementation { Foreach, ForLoop, Fused };

// Bit flags for LoRA target modules.
enum LoraTarget : unsigned {
    kLoraQ = 1u << 0,
    kLoraK = 1u << 1,
    kLoraV = 1u << 2,
    kLoraO = 1u << 3,
    kLoraGate = 1u << 4,
    kLoraUp = 1u << 5,
    kLoraDown = 1u << 6,
    kLoraAttention = kLoraQ | kLoraK | kLoraV | kLoraO,
    kLoraAll = 0x7fu,
};

// Constants physics leaves open, measured (../shared/reference/measured, H100, driver 580, CUDA 13,
// torch 2.11) and adjustable by the user.
struct PlanOverheads {
    // The CUDA context as nvidia-smi sees it right after initialisation, outside PyTorch's allocator.
    std::uint64_t cudaContextBytes = 0;
    // Kernel images CUDA's lazy module loading puts on the GPU during a training step (PyTorch's
    // kernels with FlashAttention; eager attention loads kFlashKernelBytes less), and what
    // bitsandbytes' library adds when its weights or optimizers are used. Outside the allocator.
    std::uint64_t kernelBytes = 0;
    std::uint64_t bitsandbytesKernelBytes = 0;
    // The caching allocator's reserve as a fraction of the memory beyond the weights, for the plans
    // the allocator is not simulated for (several GPUs, inference; see simulatesAllocator): 9%, and
    // 30% with gradient checkpointing.
    double allocatorFraction = 0.0;
    double checkpointingAllocatorFraction = 0.0;
    // Training steps simulated: the first makes the optimizer states, the second runs on the cache
    // the first left; a third changed nothing on any measured run (docs/planner-validation.md).
    int simulatedSteps = 2;
};
inline constexpr std::uint64_t kFlashKernelBytes = 16ull << 20;
PlanOverheads defaultOverheads();

struct PlanInput {
    ModelSpec model;
    TrainingMethod method = TrainingMethod::Full;
    Precision precision = Precision::Bf16;
    // Format of the frozen base weights for LoRA/QLoRA/inference; Full training uses `precision`.
    // Defaults follow the method: QLoRA nf4, others the compute precision.
    std::optional<WeightFormat> weights;
    // The frozen or served weights' bytes as stored, whole model (a per-tensor mix from the advisor,
    // a file on disk): replaces the bytes per parameter of `weights` in the Weights component, which
    // still says whether bitsandbytes dequantizes them for the matmuls. Not for full finetuning.
    std::optional<std::uint64_t> weightBytes;
    bool doubleQuant = false;
    int quantBlockSize = 64; // bitsandbytes' 4-bit default
    OptimizerKind optimizer = OptimizerKind::AdamW;
    std::int64_t seqLen = 2048;
    std::int64_t microBatch = 1;
    bool gradientCheckpointing = false;
    AttentionKind attention = AttentionKind::Sdpa;
    // The training loop keeps the model's outputs (the 16-bit logits, 2 B per token and vocabulary
    // entry) alive through the backward pass: `out = model(**batch); out.loss.backward()`. False for
    // transformers' Trainer, which keeps only the loss.
    bool keepOutputs = true;
    // peft's LoRA dropout: above 0 it keeps a mask and the dropped input of every adapted layer.
    double loraDropout = 0.05;
    AdamWImplementation adamw = AdamWImplementation::Foreach;
    // PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
    bool expandableSegments = false;
    // Inference: bits per cached key/value element. 16 = the model's dtype; 8, 4, 2 = transformers'
    // QuantizedCache (HQQ or quanto backend): groups of 64 with a 16-bit scale and zero point, the
    // last 128 tokens kept in 16 bits.
    int kvCacheBits = 16;
    // Inference on several GPUs: tensor parallelism (Megatron-style, as vLLM and transformers'
    // tp_plan split a model) divides the weights, the KV cache's heads and the MLP across the GPUs
    // and adds the all-reduce buffers. Off: every GPU holds the whole model (data parallel).
    bool tensorParallel = false;
    int loraRank = 16;
    double loraAlpha = 32;
    unsigned loraTargets = kLoraAttention;
    std::string gpu; // catalogue id or name; empty = no GPU chosen
    int gpus = 1;
    int zeroStage = 0; // 0 = DDP, 1, 2, 3 (= FSDP full shard)
    PlanOverheads overheads = defaultOverheads();
};

// The limits validate() enforces, which the GUI's fields share.
inline constexpr std::int64_t kMaxSeqLen = 10'000'000;
inline constexpr std::int64_t kMaxMicroBatchSize = 65'536;
inline constexpr int kMaxLoraRank = 65'536;
inline constexpr int kMaxGpus = 4096;

// Throws UsageError naming the field and the allowed range: seq 1..10M, batch 1..65536, rank
// 1..65536, gpus 1..4096, zero 0..3, block size 64..4096 power of two.
void validate(const PlanInput& input);

enum class Component {
    Weights,
    Gradients,
    OptimizerStates,
    MasterWeights,
    Adapters,
    Activations,
    Logits,
    KvCache,
    // Tensors a step makes and frees again: foreach AdamW's temporaries, autocast's bf16 weight
    // copies, dequantized 4-bit weights, attention backward buffers, cuBLAS workspaces, ZeRO-3's
    // gathered layers, DDP buckets.
    Temporaries,
    // Outside the tensors: the allocator's reserve, the CUDA context and kernel images.
    Overhead,
};
inline constexpr std::size_t kComponentCount = 10;
// "weights", "gradients", "optimizer_states", ... (the --json keys)
const char* componentKey(Component c);
// "Weights", "Optimizer states", ...
const char* componentLabel(Component c);

struct ComponentEstimate {
    Component component = Component::Weights;
    // Full size of the component (all gradients, all layers' activations).
    std::uint64_t bytes = 0;
    // What of it is resident at the moment of the peak: gradients, for example, are mostly not yet
    // allocated when the activations peak at the start of the backward pass. Sums to the peak.
    std::uint64_t bytesAtPeak = 0;
    // One line with the numbers, shown on hover: "6,738,415,616 params × 2 B (bf16) = 13.48 GB".
    std::string formula;
};

struct PlanResult {
    std::array<ComponentEstimate, kComponentCount> components; // indexed by Component
    std::uint64_t totalParameters = 0;
    std::uint64_t trainableParameters = 0;
    std::uint64_t loraParameters = 0;
    // Paged optimizers: the part of optimizer_states that may spill to CPU RAM under pressure
    // (included in components[OptimizerStates].bytes, excluded from the peak when it spills).
    std::uint64_t pagedOptimizerBytes = 0;
    std::uint64_t peakBytes = 0; // per GPU, as nvidia-smi would show it
    std::uint64_t allocatedBytes = 0; // torch.cuda.max_memory_allocated estimate
    std::uint64_t reservedBytes = 0; // torch.cuda.max_memory_reserved estimate
    std::uint64_t outsideAllocatorBytes = 0; // context, kernels, paged states
    // The training step was simulated tensor by tensor through a model of the caching allocator
    // (step_simulation.h); otherwise the reserve is allocatorFraction of the memory beyond the weights.
    bool simulated = false;
    std::string peakPhase; // "backward start (activations + logits)", "optimizer step", "forward"
    // GPU answers, when input.gpu names one.
    std::optional<GpuSpec> gpu;
    bool fits = false; // memory only: see cannotRun
    std::int64_t headroomBytes = 0; // usable - peak; negative when it does not fit
    std::string cannotRun; // why the GPU cannot run this plan at all, whatever its memory; empty if it can
    std::vector<std::string> notes; // caveats: "V100 lacks bf16", "experts all resident"

    const ComponentEstimate& operator[](Component c) const { return components[static_cast<std::size_t>(c)]; }
};

// The whole estimate. Throws UsageError for invalid input (see validate), never for a plan that
// does not fit.
PlanResult evaluate(const PlanInput& input);
// The closed form without the simulation (reserve as a fraction): microseconds, unvalidated for
// single-GPU training; the searches use it to guess where to simulate.
PlanResult evaluateClosedForm(const PlanInput& input);

// Whether evaluate() simulates the step through the caching allocator: training on one GPU. Plans
// on several GPUs (DDP, ZeRO, FSDP) and inference use the allocator fraction instead.
bool simulatesAllocator(const PlanInput& input);

// The allocator reserve fraction the plan uses when it is not simulated: checkpointingAllocatorFraction
// for a checkpointed training step, allocatorFraction otherwise (30% and 9% by default).
double allocatorFractionInUse(const PlanInput& input);
double& allocatorFractionInUse(PlanInput& input);

// Why `gpu` cannot run the plan at all (bitsandbytes' 4/8-bit weights and 8-bit or paged
// optimizers need CUDA or ROCm, which Apple GPUs lack); empty when nothing stands in the way.
std::string whyCannotRun(const PlanInput& input, const GpuSpec& gpu);

// Largest micro-batch / sequence length whose peak fits the chosen GPU (input.gpu, or
// `capacityBytes` when given). 0 when even 1 does not fit. Binary search, < 5 ms, up to the
// limits below: a result equal to its limit means "at least this many" (a tiny model at a short
// sequence), and searchedLimitText says so.
inline constexpr std::int64_t kMaxMicroBatchSearched = 65'536;
inline constexpr std::int64_t kMaxSeqLenSearched = 10'000'000;
std::int64_t maxMicroBatch(const PlanInput& input, std::optional<std::uint64_t> capacityBytes = std::nullopt);
std::int64_t maxSeqLen(const PlanInput& input, std::optional<std::uint64_t> capacityBytes = std::nullopt);
// "7,331"; "none" for 0; "65,536 or more (the search stops there)" at the limit.
std::string searchedLimitText(std::int64_t value, std::int64_t limit);

struct GpuFit {
    GpuSpec gpu;
    std::uint64_t peakBytes = 0;
    std::int64_t headroomBytes = 0;
};
// Every catalogue GPU on which the plan fits, smallest usable memory first.
std::vector<GpuFit> gpusThatFit(const PlanInput& input);

struct Suggestion {
    std::string text; // "Turn on gradient checkpointing"
    PlanInput input; // the plan with the change applied
    std::uint64_t peakBytes = 0;
    bool fits = false;
};
// Concrete changes (checkpointing, QLoRA, 8-bit optimizer, smaller batch, ZeRO, 8- or 4-bit
// weights for inference, ...), each evaluated; the ones that lower the peak by at least 1%, best
// first. Works with or without a GPU; none when the plan fits its GPU with a comfortable margin
// (kComfortableHeadroom of the usable memory): there is nothing to fix.
std::vector<Suggestion> suggestions(const PlanInput& input);
// A fit with less spare than this share of the usable memory is "tight": run-to-run variation of
// the allocator's reserve is of that order (docs/planner-validation.md).
inline constexpr double kComfortableHeadroom = 0.02;
bool fitsComfortably(const PlanResult& result);

enum class SweepAxis { SeqLen, MicroBatch };
struct SweepPoint {
    std::int64_t value = 0;
    PlanResult result;
};
// Evaluates the plan at each value (for a chart of peak against seq or batch).
std::vector<SweepPoint> sweep(const PlanInput& input, SweepAxis axis, const std::vector<std::int64_t>& values);

// Names for the command line and JSON: "full", "bf16", "nf4", "paged-adamw-8bit", "sdpa".
const char* toString(TrainingMethod v);
const char* toString(Precision v);
const char* toString(WeightFormat v);
const char* toString(OptimizerKind v);
const char* toString(AttentionKind v);
const char* toString(AdamWImplementation v);
// Inverses; UsageError listing the accepted names.
TrainingMethod parseTrainingMethod(const std::string& s);
Precision parsePrecision(const std::string& s);
WeightFormat parseWeightFormat(const std::string& s);
OptimizerKind parseOptimizer(const std::string& s);
AttentionKind parseAttention(const std::string& s);
AdamWImplementation parseAdamWImplementation(const std::string& s);
// "q,k,v,o", "all", "attention"; UsageError on an unknown module.
unsigned parseLoraTargets(const std::string& s);
std::string loraTargetsToString(unsigned targets);

} // namespace quantlens::core
