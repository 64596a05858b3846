#include "core/planner/planner.h"

#include "core/planner/step_simulation.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/units.h"

#include <algorithm>
#include <cmath>

// The estimate of one training (or inference) step's peak, as nvidia-smi shows it for PyTorch +
// transformers + peft. Structure and derivations: docs/planner-validation.md. In short:
//   peak = allocated + allocator fraction × (allocated - weights) + CUDA context
//   allocated = max(backward start, optimizer step)
//     backward start = weights + master + optimizer states + adapters + activations + logits
//     optimizer step = weights + master + optimizer states + adapters + gradients + step temporaries
// because gradients are created layer by layer while activations are freed, and the activations
// and logits are gone by the time optimizer.step() runs.
namespace quantlens::core {

namespace {

// Bytes of activations saved per token per decoder layer for a bf16 Llama-style block with SDPA,
// counted from the tensors autograd keeps (modeling_llama.py): two RMSNorms 8h each (fp32 input,
// bf16 normalised input, output), rotated q (2h) and k (2·kv), v (2·kv), attention output and
// o_proj input (2h each), MLP gate, act, up, product (2f each). 22h + 4kv + 8f; the measurement
// (tests/data/planner/measured-peaks.json) agrees within 1% for full finetuning.
constexpr double kActivationPerHidden = 22;
constexpr double kActivationPerKv = 4;
constexpr double kActivationPerIntermediate = 8;
// peft LoRA adds its dropout output and mask and the rank-r intermediate per adapted input; fitted
// on the measured peaks (attention targets 0.67 B, MLP targets 4.77 B per input element), since
// which frozen-layer inputs autograd still keeps depends on the torch/peft versions.
constexpr double kLoraPerAttentionInput = 0.67;
constexpr double kLoraPerMlpInput = 4.77;
// Eager attention keeps the fp32 softmax (4 B) and its bf16 copy (2 B) per score: a·s² per layer
// and sequence (Korthikanti et al. 2022 count 5 for fp16 with dropout); measured 6.46.
constexpr double kEagerPerScore = 6.46;
// Logits at the start of the backward pass: bf16 logits (2), fp32 log-softmax (4), its fp32
// gradient (4) and the bf16 gradient (2) per token and vocabulary entry (transformers'
// ForCausalLMLoss upcasts to fp32). Measured: 12 within 1%.
constexpr double kLogitsBytes16 = 12;
constexpr double kLogitsBytes32 = 16;
// Inference prefill: one layer's MLP (gate, up, act, product at 2 B) and norm temporaries.
constexpr double kInferencePerIntermediate = 8;
constexpr double kInferencePerHidden = 4;
// 8-bit optimizer states: bitsandbytes blockwise quantization, one fp32 absmax per 256 values.
constexpr double kOptimizer8bitBytes = 1.0 + 4.0 / 256.0;
constexpr std::uint64_t kDdpBucketBytes = 25ull * 1000 * 1000;
constexpr std::uint64_t kNcclBufferBytes = 4ull * 1024 * 1024 * 32 * 2;

struct Shape {
    double h = 0, kv = 0, q = 0, f = 0, v = 0, layers = 0, heads = 0;
    double expertsPerToken = 1, experts = 1;
};

// A model known only by its parameter count gets a Llama-shaped stand-in of the same size:
// P ≈ 12·L·h² with L ≈ h / 128 (Llama-2-7B: h 4096, L 32), f = 2.6875·h, V = 32000.
Shape shapeOf(const ModelSpec& m)
{
    Shape s;
    if (m.hasArchitecture) {
        s.h = m.hidden;
        s.kv = m.kvDim();
        s.q = m.qDim();
        s.f = m.intermediate;
        s.v = m.vocab;
        s.layers = m.layers;
        s.heads = m.heads;
        s.experts = m.experts;
        s.expertsPerToken = m.expertsPerToken;
        return s;
    }
    const double p = static_cast<double>(m.parameters.total());
    s.h = std::max(256.0, std::round(std::cbrt(p * 128.0 / 12.0) / 128.0) * 128.0);
    s.layers = std::max(1.0, std::round(p / (12.0 * s.h * s.h)));
    s.heads = s.h / 128.0;
    s.q = s.kv = s.h;
    s.f = std::round(2.6875 * s.h);
    s.v = 32000;
    return s;
}

double computeBytes(Precision p)
{
    return p == Precision::Fp32 ? 4.0 : 2.0;
}

double formatBytesPerParam(WeightFormat format, const PlanInput& in, double rowsPerParam)
{
    const double b = static_cast<double>(in.quantBlockSize);
    switch (format) {
    case WeightFormat::Fp32:
        return 4;
    case WeightFormat::Bf16:
    case WeightFormat::Fp16:
        return 2;
    case WeightFormat::Int8:
        return 1 + 4 * rowsPerParam; // one fp32 scale per output row (LLM.int8 row-wise absmax)
    case WeightFormat::Nf4:
    case WeightFormat::Fp4:
        // bitsandbytes: 4 bits per weight plus an fp32 absmax per block; double quantization
        // stores the absmax in 8 bits with an fp32 scale per 256 blocks.
        return in.doubleQuant ? 0.5 + 1 / b + 4 / (256 * b) : 0.5 + 4 / b;
    }
    return 2;
}

WeightFormat defaultWeights(const PlanInput& in)
{
    if (in.method == TrainingMethod::Qlora)
        return WeightFormat::Nf4;
    switch (in.precision) {
    case Precision::Fp32:
    case Precision::Mixed:
        return in.method == TrainingMethod::Full || in.method == TrainingMethod::Inference ? WeightFormat::Fp32
                                                                                           : WeightFormat::Bf16;
    case Precision::Fp16:
        return WeightFormat::Fp16;
    case Precision::Bf16:
        return WeightFormat::Bf16;
    }
    return WeightFormat::Bf16;
}

std::string gb(double bytes)
{
    return formatGB(bytes);
}

std::string count(double n)
{
    return formatThousands(static_cast<std::uint64_t>(std::llround(std::max(0.0, n))));
}

// r·(in + out) per adapted matrix per layer (peft: A is r×in, B is out×r), times the experts for
// MLP targets of a mixture.
struct LoraShape {
    double parameters = 0;
    double attentionInputs = 0; // Σ in over adapted attention matrices, per token per layer
    double mlpInputs = 0;
};

LoraShape loraShape(const Shape& s, unsigned targets, double rank)
{
    LoraShape l;
    const auto add = [&](unsigned bit, double in, double out, bool mlp) {
        if (!(targets & bit))
            return;
        const double copies = mlp ? s.experts : 1;
        l.parameters += copies * rank * (in + out) * s.layers;
        (mlp ? l.mlpInputs : l.attentionInputs) += in * (mlp ? s.expertsPerToken : 1);
    };
    add(kLoraQ, s.h, s.q, false);
    add(kLoraK, s.h, s.kv, false);
    add(kLoraV, s.h, s.kv, false);
    add(kLoraO, s.q, s.h, false);
    add(kLoraGate, s.h, s.f, true);
    add(kLoraUp, s.h, s.f, true);
    add(kLoraDown, s.f, s.h, true);
    return l;
}

// Plans beyond a petabyte are left to the formulas (their sizes would overflow the simulation's
// byte counts; no GPU holds them anyway).
constexpr double kMaxSimulatedBytes = double(1ull << 50);

// PyTorch's default cuBLAS workspace (aten/src/ATen/cuda/CublasHandlePool.cpp): 32 MiB on compute
// capability 9.x, 4096 KiB × 2 + 16 KiB × 8 elsewhere; Hopper when no GPU is chosen.
std::uint64_t cublasWorkspaceBytes(const std::optional<GpuSpec>& gpu)
{
    if (!gpu || gpu->computeCapability.rfind("9.", 0) == 0)
        return 32ull << 20;
    return 4096ull * 1024 * 2 + 16ull * 1024 * 8;
}

void checkRange(const char* what, std::int64_t value, std::int64_t low, std::int64_t high)
{
    if (value < low || value > high)
        throw UsageError(strCat(what, " ", value, " is out of range: allowed ", low, " to ", high));
}

} // namespace

PlanOverheads defaultOverheads()
{
    PlanOverheads o;
    // Measured on an H100 80GB (driver 580, CUDA 13, torch 2.11; ../shared/reference/measured):
    // 620.8 MiB in use right after CUDA initialisation (the runs of a fresh process; 140.8 MiB
    // in the runs forked from a parent that had imported torch), and at the peak of the step 146
    // MiB more of PyTorch's kernels (130 MiB with eager attention: no FlashAttention kernels),
    // 128 MiB more with bitsandbytes. All are whole MiB: the driver maps module images in pages.
    o.cudaContextBytes = 650969088ull;
    o.kernelBytes = 146ull << 20;
    o.bitsandbytesKernelBytes = 128ull << 20;
    // For the plans not simulated. Measured (reserved - allocated) / (allocated - weights) over the 14 cases of
    // tests/data/planner/measured-peaks.json: without checkpointing 0.05-0.13 (median 0.094, one
    // inference case 0.33), with checkpointing 0.11-0.49 (median 0.26, mean 0.31). Taking the
    // optimizer states out of the base as well fitted worse (errors up to 21%).
    o.allocatorFraction = 0.09;
    o.checkpointingAllocatorFraction = 0.30;
    return o;
}

void validate(const PlanInput& in)
{
    checkRange("--seq", in.seqLen, 1, kMaxSeqLen);
    checkRange("--batch", in.microBatch, 1, kMaxMicroBatchSize);
    checkRange("--lora-rank", in.loraRank, 1, kMaxLoraRank);
    checkRange("--gpus", in.gpus, 1, kMaxGpus);
    checkRange("--zero", in.zeroStage, 0, 3);
    checkRange("--blocksize", in.quantBlockSize, 64, 4096);
    if ((in.quantBlockSize & (in.quantBlockSize - 1)) != 0)
        throw UsageError(strCat("--blocksize ", in.quantBlockSize, " must be a power of two from 64 to 4096"));
    if (!(in.loraAlpha > 0) || in.loraAlpha > 1e6)
        throw UsageError(strCat("--lora-alpha ", in.loraAlpha, " is out of range: allowed above 0 up to 1000000"));
    if ((in.method == TrainingMethod::Lora || in.method == TrainingMethod::Qlora) && (in.loraTargets & kLoraAll) == 0)
        throw UsageError("--lora-targets selects no module: choose from q,k,v,o,gate,up,down or all");
    if (!(in.overheads.allocatorFraction >= 0 && in.overheads.allocatorFraction <= 2)
        || !(in.overheads.checkpointingAllocatorFraction >= 0 && in.overheads.checkpointingAllocatorFraction <= 2))
        throw UsageError("the allocator fraction is out of range: allowed 0 to 2");
    if (in.model.parameters.total() == 0)
        throw UsageError("the model has no parameters: give --model or --params");
    if (in.tensorParallel && in.method != TrainingMethod::Inference)
        throw UsageError("--tensor-parallel splits a served model across the GPUs (--method inference); for "
                         "training use --zero 3 (FSDP)");
    if (in.overheads.simulatedSteps < 1 || in.overheads.simulatedSteps > 8)
        throw UsageError(strCat("simulated steps ", in.overheads.simulatedSteps, " is out of range: allowed 1 to 8"));
    if (in.kvCacheBits != 16 && in.kvCacheBits != 8 && in.kvCacheBits != 4 && in.kvCacheBits != 2)
        throw UsageError(strCat("--kv-cache-bits ", in.kvCacheBits, " is not offered: choose 16, 8, 4 or 2"));
    if (in.weightBytes && in.method == TrainingMethod::Full)
        throw UsageError("--weight-bytes sets the frozen or served weights' size (lora, qlora, inference); full "
                         "finetuning trains the weights in --precision");
}

const char* componentKey(Component c)
{
    static constexpr std::array<const char*, kComponentCount> keys {
        "weights",     "gradients", "optimizer_states", "master_weights", "adapters",
        "activations", "logits",    "kv_cache",         "temporaries",    "overhead"};
    return keys[static_cast<std::size_t>(c)];
}

const char* componentLabel(Component c)
{
    static constexpr std::array<const char*, kComponentCount> labels {
        "Weights",     "Gradients",    "Optimizer states", "Master weights",   "Adapters",
        "Activations", "Logits spike", "KV cache",         "Step temporaries", "Overhead"};
    return labels[static_cast<std::size_t>(c)];
}

namespace {

PlanResult evaluatePlan(const PlanInput& in, bool allowSimulation)
{
    validate(in);
    // The chosen GPU, looked up once (an unknown name is a UsageError).
    const std::optional<GpuSpec> gpu = in.gpu.empty() ? std::nullopt : std::optional<GpuSpec>(findGpu(in.gpu));
    PlanResult r;
    for (std::size_t i = 0; i < kComponentCount; ++i)
        r.components[i].component = static_cast<Component>(i);
    const auto set = [&r](Component c, double bytes, std::string formula) {
        auto& e = r.components[static_cast<std::size_t>(c)];
        e.bytes = static_cast<std::uint64_t>(std::llround(std::max(0.0, bytes)));
        e.formula = std::move(formula);
    };

    const ModelSpec& m = in.model;
    const Shape s = shapeOf(m);
    const double total = static_cast<double>(m.parameters.total());
    const double linear = m.hasArchitecture ? static_cast<double>(m.parameters.linear()) : total;
    const double other = total - linear; // embeddings, norms, biases, lm_head: kept in 16 bits
    const double n = static_cast<double>(in.gpus);
    const bool training = in.method != TrainingMethod::Inference;
    const bool adapters = in.method == TrainingMethod::Lora || in.method == TrainingMethod::Qlora;
    const bool full = in.method == TrainingMethod::Full;
    const double act = computeBytes(in.precision);
    const WeightFormat format = in.method == TrainingMethod::Full
        ? (in.precision == Precision::Fp32 || in.precision == Precision::Mixed ? WeightFormat::Fp32
                                                                               : defaultWeights(in))
        : in.weights.value_or(defaultWeights(in));
    r.totalParameters = m.parameters.total();

    // Under ZeRO the model keeps 16-bit weights and gradients with an fp32 master copy (the ZeRO
    // paper's 2 + 2 + 12 bytes); single-GPU PyTorch AMP keeps the model itself in fp32 instead.
    const bool zeroMixed = full && in.precision == Precision::Mixed && in.zeroStage > 0;
    const double rowsPerParam = s.h > 0 ? 1.0 / s.h : 0;
    const double weightBytes = zeroMixed ? 2.0 : formatBytesPerParam(format, in, rowsPerParam);
    const bool quantized = isQuantized(format);
    const double otherBytes = quantized ? act : weightBytes;
    // Tensor parallelism (inference): weights, KV heads and the MLP split n ways.
    const bool tp = in.tensorParallel && in.method == TrainingMethod::Inference && in.gpus > 1;
    const double shardWeights = in.zeroStage >= 3 || tp ? n : 1;
    const double shardGrads = in.zeroStage >= 2 ? n : 1;
    const double shardStates = in.zeroStage >= 1 ? n : 1;

    // Weights.
    {
        const double bytes
            = (in.weightBytes ? double(*in.weightBytes) : linear * weightBytes + other * otherBytes) / shardWeights;
        std::string f = in.weightBytes ? strCat(formatThousands(*in.weightBytes), " bytes as stored (a per-tensor mix)")
            : quantized
            ? strCat(count(linear), " linear params × ", weightBytes, " B (", toString(format),
                     in.doubleQuant ? " + double quant" : "", ", block ", in.quantBlockSize, ") + ", count(other),
                     " other × ", otherBytes, " B")
            : strCat(count(total), " params × ", weightBytes, " B (", zeroMixed ? "bf16" : toString(format), ")");
        if (shardWeights > 1)
            f += strCat(" / ", in.gpus, tp ? " GPUs (tensor parallel)" : " GPUs (ZeRO-3)");
        set(Component::Weights, bytes, f + " = " + gb(bytes));
    }

    // Trainable parameters and their gradients, states, master copies.
    const LoraShape lora = loraShape(s, in.loraTargets, in.loraRank);
    double trainable = 0;
    double paramBytes = 0; // dtype of the trainable parameters (and of PyTorch's optimizer states)
    double gradBytes = 0;
    if (full) {
        trainable = total;
        paramBytes = in.precision == Precision::Fp32 || in.precision == Precision::Mixed ? 4 : 2;
        gradBytes = zeroMixed ? 2 : paramBytes;
        if (zeroMixed)
            paramBytes = 4;
    } else if (adapters) {
        // peft upcasts adapter weights to fp32 (autocast_adapter_dtype=True) whatever the base.
        trainable = lora.parameters;
        paramBytes = 4;
        gradBytes = 4;
        r.loraParameters = static_cast<std::uint64_t>(std::llround(lora.parameters));
        set(Component::Adapters, lora.parameters * 4,
            strCat(count(lora.parameters), " LoRA params (rank ", in.loraRank, ", ",
                   loraTargetsToString(in.loraTargets), ", alpha ", in.loraAlpha,
                   ") × 4 B (fp32) = ", gb(lora.parameters * 4)));
    }
    r.trainableParameters = static_cast<std::uint64_t>(std::llround(trainable));
    if (training) {
        const double bytes = trainable * gradBytes / shardGrads;
        set(Component::Gradients, bytes,
            strCat(count(trainable), " trainable × ", gradBytes, " B",
                   shardGrads > 1 ? strCat(" / ", in.gpus, " GPUs") : "", " = ", gb(bytes)));
    } else {
        set(Component::Gradients, 0, "none: inference");
    }
    if (zeroMixed) {
        const double bytes = total * 4 / shardStates;
        set(Component::MasterWeights, bytes,
            strCat(count(total), " params × 4 B (fp32 master) / ", in.gpus, " GPUs = ", gb(bytes)));
    } else if (full && in.precision == Precision::Mixed) {
        set(Component::MasterWeights, 0, "none extra: under torch.autocast the fp32 weights are the master copy");
    } else {
        set(Component::MasterWeights, 0, "none");
    }

    double stateBytesPerParam = 0;
    std::string stateWhat;
    double stepTemporaries = 0;
    switch (in.optimizer) {
    case OptimizerKind::AdamW:
        stateBytesPerParam = 2 * paramBytes;
        stateWhat = strCat("2 states × ", paramBytes, " B");
        // torch's foreach AdamW makes a state-sized temporary (sqrt of exp_avg_sq) in step();
        // bitsandbytes' and DeepSpeed's fused optimizers (the ZeRO stages) do not.
        stepTemporaries = in.zeroStage > 0 ? 0 : trainable * paramBytes;
        break;
    case OptimizerKind::PagedAdamW:
        stateBytesPerParam = 2 * paramBytes;
        stateWhat = strCat("2 states × ", paramBytes, " B");
        break;
    case OptimizerKind::AdamW8bit:
    case OptimizerKind::PagedAdamW8bit:
        stateBytesPerParam = 2 * kOptimizer8bitBytes;
        stateWhat = "2 states × (1 B + fp32 absmax per 256)";
        break;
    case OptimizerKind::Sgd:
        stateBytesPerParam = paramBytes;
        stateWhat = strCat("1 momentum state × ", paramBytes, " B");
        break;
    case OptimizerKind::Lion:
        stateBytesPerParam = paramBytes;
        stateWhat = strCat("1 momentum state × ", paramBytes, " B");
        break;
    case OptimizerKind::Adafactor:
        // Factored second moment: (rows + cols) fp32 values per matrix, about 2/h per parameter
        // for the near-square matrices of a transformer; no first moment by default.
        stateBytesPerParam = s.h > 0 ? 4.0 * 2.0 / s.h : 0;
        stateWhat = "factored second moment (rows + cols) × 4 B per matrix";
        break;
    }
    if (training) {
        const double bytes = trainable * stateBytesPerParam / shardStates;
        set(Component::OptimizerStates, bytes,
            strCat(count(trainable), " trainable × ", stateWhat, shardStates > 1 ? strCat(" / ", in.gpus, " GPUs") : "",
                   " = ", gb(bytes)));
        if (in.optimizer == OptimizerKind::PagedAdamW || in.optimizer == OptimizerKind::PagedAdamW8bit)
            r.pagedOptimizerBytes = static_cast<std::uint64_t>(std::llround(bytes));
    } else {
        set(Component::OptimizerStates, 0, "none: inference");
        stepTemporaries = 0;
    }

    // Activations, logits, KV cache.
    const double tokens = static_cast<double>(in.seqLen) * static_cast<double>(in.microBatch);
    const double scale = act / 2.0;
    double activationsAtPeak = 0;
    double logitsAtPeak = 0;
    if (training) {
        double perToken = (kActivationPerHidden * s.h + kActivationPerKv * s.kv
                           + kActivationPerIntermediate * s.f * s.expertsPerToken)
            * scale;
        if (adapters)
            perToken += kLoraPerAttentionInput * lora.attentionInputs + kLoraPerMlpInput * lora.mlpInputs;
        double perLayer = perToken * tokens;
        std::string eager;
        if (in.attention == AttentionKind::Eager) {
            const double scores = s.heads * static_cast<double>(in.seqLen) * static_cast<double>(in.seqLen)
                * static_cast<double>(in.microBatch);
            perLayer += kEagerPerScore * scores;
            eager = strCat(" + ", kEagerPerScore, " B × ", count(scores), " attention scores");
        }
        const double logits = (in.precision == Precision::Fp32 ? kLogitsBytes32 : kLogitsBytes16) * tokens * s.v;
        set(Component::Logits, logits,
            strCat(in.precision == Precision::Fp32 ? kLogitsBytes32 : kLogitsBytes16, " B × ", count(tokens),
                   " tokens × ", count(s.v), " vocab (logits, fp32 log-softmax and their gradients) = ", gb(logits)));
        if (in.gradientCheckpointing) {
            // Each layer keeps its input; one layer is recomputed at a time in the backward pass,
            // after the logits' buffers are freed (measured: the two do not add up).
            const double kept = 2 * scale * s.h * tokens * s.layers;
            const double bytes = kept + perLayer;
            set(Component::Activations, bytes,
                strCat(count(s.layers), " layers × ", 2 * scale, " B × ", count(tokens), " tokens × h ", count(s.h),
                       " (checkpoints) + one layer recomputed (", count(perToken), " B/token", eager,
                       ") = ", gb(bytes)));
            const bool logitsDominate = logits >= perLayer;
            activationsAtPeak = kept + (logitsDominate ? 0 : perLayer);
            logitsAtPeak = logitsDominate ? logits : 0;
        } else {
            const double bytes = perLayer * s.layers;
            set(Component::Activations, bytes,
                strCat(count(s.layers), " layers × ", count(tokens), " tokens × ", count(perToken), " B/token", eager,
                       " = ", gb(bytes)));
            activationsAtPeak = bytes;
            logitsAtPeak = logits;
        }
        set(Component::KvCache, 0, "none: training does not cache keys and values");
    } else {
        // Tensor parallelism gives each GPU kv_heads / n heads, at least one (vLLM replicates a head
        // when there are fewer than GPUs).
        const double kvDim = tp && m.hasArchitecture ? double(m.headDim) * std::max(1.0, double(m.kvHeads) / n)
            : tp                                     ? s.kv / n
                                                     : s.kv;
        // Tokens cached per layer: the whole prompt, or the window on sliding-window layers.
        const double batch = static_cast<double>(in.microBatch);
        const double seq = static_cast<double>(in.seqLen);
        const double sliding
            = m.hasArchitecture && m.slidingWindow > 0 ? std::min<double>(m.slidingLayers, s.layers) : 0;
        const double windowSeq = sliding > 0 ? std::min<double>(seq, m.slidingWindow) : seq;
        const double cached = batch * ((s.layers - sliding) * seq + sliding * windowSeq); // layer-tokens
        std::string what = strCat(count(s.layers), " layers × ", count(tokens), " tokens");
        if (sliding > 0 && windowSeq < seq)
            what = strCat(count(s.layers - sliding), " layers × ", count(tokens), " tokens + ", count(sliding),
                          " sliding-window layers × ", count(batch * windowSeq), " tokens");
        double kv = 0;
        if (in.kvCacheBits >= 16) {
            kv = 2 * kvDim * cached * act;
            set(Component::KvCache, kv,
                strCat("2 × kv dim ", count(kvDim), tp ? " per GPU" : "", " × (", what, ") × ", act, " B = ", gb(kv)));
        } else {
            // QuantizedCache: quantized groups of 64 with a 16-bit scale and zero point; up to 128
            // tokens per sequence and layer wait in 16 bits (the residual) between quantizations.
            const double residual = batch * std::min(seq, 128.0) * s.layers;
            const double perElement = in.kvCacheBits / 8.0 + 4.0 / 64.0;
            kv = 2 * kvDim * (cached * perElement + residual * 2);
            set(Component::KvCache, kv,
                strCat("2 × kv dim ", count(kvDim), tp ? " per GPU" : "", " × (", what, ") × (", in.kvCacheBits,
                       "/8 + 4/64) B, + 128 tokens per "
                       "layer in 16 bits = ",
                       gb(kv)));
        }
        const double fPerGpu = tp ? s.f / n : s.f;
        const double bytes
            = tokens * (kInferencePerIntermediate * fPerGpu * s.expertsPerToken + kInferencePerHidden * s.h) * scale;
        set(Component::Activations, bytes,
            strCat(count(tokens), " tokens × (", kInferencePerIntermediate * scale, " B × f ", count(fPerGpu),
                   tp ? " per GPU" : "", " + ", kInferencePerHidden * scale,
                   " B × h) for one layer's prefill = ", gb(bytes)));
        const double logits = 4 * static_cast<double>(in.microBatch) * s.v;
        set(Component::Logits, logits,
            strCat("last position only: 4 B × ", in.microBatch, " × ", count(s.v), " = ", gb(logits)));
        activationsAtPeak = bytes;
        logitsAtPeak = logits;
    }

    // Which moment is the peak.
    const auto& c = r.components;
    const auto bytesOf = [&c](Component k) { return static_cast<double>(c[static_cast<std::size_t>(k)].bytes); };
    for (auto& e : r.components)
        e.bytesAtPeak = e.bytes;
    const auto atPeak = [&r](Component k, double bytes) {
        r.components[static_cast<std::size_t>(k)].bytesAtPeak = static_cast<std::uint64_t>(std::llround(bytes));
    };
    const bool bitsandbytes = quantized || in.optimizer == OptimizerKind::AdamW8bit
        || in.optimizer == OptimizerKind::PagedAdamW8bit || in.optimizer == OptimizerKind::PagedAdamW;
    double outside = static_cast<double>(in.overheads.cudaContextBytes);
    std::string outsideText = strCat("CUDA context ", gb(outside));
    {
        double kernels = static_cast<double>(in.overheads.kernelBytes);
        if (in.attention == AttentionKind::Eager)
            kernels = std::max(0.0, kernels - static_cast<double>(kFlashKernelBytes));
        if (bitsandbytes)
            kernels += static_cast<double>(in.overheads.bitsandbytesKernelBytes);
        outside += kernels;
        outsideText += strCat(" + kernels ", gb(kernels), bitsandbytes ? " (PyTorch, bitsandbytes)" : " (PyTorch)");
        if (in.gpus > 1) {
            // NCCL's buffers, outside PyTorch's allocator: NCCL_BUFFSIZE (4 MiB) per channel and
            // direction; 32 channels assumed (NVLink). Not measured.
            const double nccl = double(kNcclBufferBytes);
            outside += nccl;
            outsideText += strCat(" + NCCL buffers ", gb(nccl));
        }
    }

    // A plan of petabytes is beyond every GPU; its sizes would overflow the allocator's byte counts.
    double analytic = 0;
    for (const auto& e : r.components)
        analytic += static_cast<double>(e.bytes);
    if (allowSimulation && simulatesAllocator(in) && analytic < kMaxSimulatedBytes) {
        StepInput step;
        step.shape = {static_cast<std::uint64_t>(s.layers),
                      static_cast<std::uint64_t>(s.h),
                      static_cast<std::uint64_t>(s.q),
                      static_cast<std::uint64_t>(s.kv),
                      static_cast<std::uint64_t>(std::max(1.0, s.heads)),
                      static_cast<std::uint64_t>(s.f),
                      static_cast<std::uint64_t>(s.v),
                      static_cast<std::uint64_t>(s.experts),
                      static_cast<std::uint64_t>(s.expertsPerToken),
                      m.hasArchitecture && m.tiedEmbeddings};
        step.seqLen = static_cast<std::uint64_t>(in.seqLen);
        step.microBatch = static_cast<std::uint64_t>(in.microBatch);
        step.method = in.method;
        step.parameterBytes = static_cast<std::uint64_t>(paramBytes > 0 ? paramBytes : 2);
        step.autocast = full ? in.precision == Precision::Mixed : in.precision != Precision::Fp32;
        if (adapters) {
            step.frozenLinearBytes = in.weightBytes && linear > 0
                ? std::max(0.0, (double(*in.weightBytes) - other * otherBytes) / linear)
                : weightBytes;
            step.frozenPackedBytes = format == WeightFormat::Int8 ? 1.0 : 0.5;
            step.frozenOtherBytes = otherBytes;
            step.frozenDequantized = quantized;
        }
        step.loraRank = static_cast<std::uint64_t>(in.loraRank);
        step.loraTargets = in.loraTargets;
        step.checkpointing = in.gradientCheckpointing;
        step.keepOutputs = in.keepOutputs;
        step.steps = in.overheads.simulatedSteps;
        step.cublasWorkspaceBytes = cublasWorkspaceBytes(gpu);
        step.eagerAttention = in.attention == AttentionKind::Eager;
        const double states = trainable > 0 ? stateBytesPerParam : 0;
        step.stateBytes = states;
        step.stateTensors = in.optimizer == OptimizerKind::Sgd || in.optimizer == OptimizerKind::Lion
                || in.optimizer == OptimizerKind::Adafactor
            ? 1
            : 2;
        step.temporaries = in.optimizer != OptimizerKind::AdamW || in.adamw == AdamWImplementation::Fused
            ? StepTemporaries::None
            : in.adamw == AdamWImplementation::ForLoop ? StepTemporaries::PerParameter
                                                       : StepTemporaries::AllParameters;
        step.loraDropout = in.loraDropout > 0;
        step.expandableSegments = in.expandableSegments;
        step.paged = in.optimizer == OptimizerKind::PagedAdamW || in.optimizer == OptimizerKind::PagedAdamW8bit;
        step.pagedStateBytes = states;
        StepSimulation sim = simulateTrainingStep(step);
        if (gpu) {
            // Near the GPU's capacity a failed cudaMalloc makes the allocator release its cached
            // segments and retry: simulate with the capacity to see whether that saves the step.
            const double capacity = double(gpu->memoryBytesUsable) - outside - double(sim.pagedBytes);
            if (double(sim.peakReserved) > capacity && capacity > 0) {
                step.capacityBytes = static_cast<std::uint64_t>(capacity);
                StepSimulation capped = simulateTrainingStep(step);
                if (!capped.outOfMemory)
                    sim = capped;
            }
        }
        r.simulated = true;
        r.peakPhase = sim.peakPhase;
        for (std::size_t i = 0; i < kComponentCount; ++i)
            r.components[i].bytesAtPeak = sim.atPeak[i];
        atPeak(Component::OptimizerStates,
               double(sim.atPeak[std::size_t(Component::OptimizerStates)] + sim.pagedBytes));
        r.allocatedBytes = sim.peakAllocated;
        r.reservedBytes = sim.peakReserved;
        // The paged states lie outside the allocator too, but are shown with the optimizer states.
        r.outsideAllocatorBytes = static_cast<std::uint64_t>(std::llround(outside + double(sim.pagedBytes)));
        const double temporaries = double(sim.atPeak[std::size_t(Component::Temporaries)]);
        set(Component::Temporaries, temporaries,
            strCat("alive at the peak (simulated): ",
                   full && in.optimizer == OptimizerKind::AdamW && in.adamw == AdamWImplementation::Foreach
                       ? "foreach AdamW's one tensor per parameter, "
                       : "",
                   full && in.precision == Precision::Mixed ? "autocast's bf16 weight copies, " : "",
                   quantized ? "dequantized 16-bit weights, " : "",
                   "attention backward buffers, cuBLAS workspaces = ", gb(temporaries)));
        const double reserve = double(sim.peakReserved) - double(sim.peakAllocated);
        const double overhead = reserve + outside;
        set(Component::Overhead, overhead,
            strCat(outsideText, " + allocator reserve ", gb(reserve),
                   " (simulated: reserved − allocated) = ", gb(overhead)));
        atPeak(Component::Overhead, overhead);
    } else {
        const double resident = bytesOf(Component::Weights) + bytesOf(Component::MasterWeights)
            + bytesOf(Component::OptimizerStates) + bytesOf(Component::Adapters) + bytesOf(Component::KvCache);
        double extra = 0; // step temporaries, ZeRO-3 gathered layers, DDP buckets
        std::string extraParts;
        const auto addExtra = [&extra, &extraParts](const char* what, double bytes) {
            extra += bytes;
            extraParts += strCat(extraParts.empty() ? "" : " + ", what, " ", gb(bytes));
        };
        const double backwardStart = resident + activationsAtPeak + logitsAtPeak;
        const double stepPeak = resident + bytesOf(Component::Gradients) + stepTemporaries;
        const bool stepIsPeak = training && stepPeak > backwardStart;
        if (!training) {
            r.peakPhase = "prefill (weights + KV cache + one layer's activations)";
        } else if (stepIsPeak) {
            r.peakPhase = "optimizer step (gradients + states + temporaries; activations freed)";
            atPeak(Component::Activations, 0);
            atPeak(Component::Logits, 0);
            addExtra("optimizer-step temporaries", stepTemporaries);
        } else {
            r.peakPhase = "start of the backward pass (activations + logits; gradients not yet made)";
            atPeak(Component::Gradients, 0);
            atPeak(Component::Activations, activationsAtPeak);
            atPeak(Component::Logits, logitsAtPeak);
        }
        if (in.zeroStage >= 3 && in.gpus > 1 && m.hasArchitecture) {
            // FSDP/ZeRO-3 gathers the current layer's full parameters and prefetches the next.
            addExtra("gathered layers", 2 * (linear / s.layers) * weightBytes);
        }
        if (in.gpus > 1 && in.zeroStage == 0 && training)
            addExtra("DDP buckets", 2 * kDdpBucketBytes);
        if (tp) {
            // Each layer's attention and MLP outputs are all-reduced: the hidden states in and out.
            addExtra("all-reduced hidden states", 2 * tokens * s.h * act);
        }
        if (quantized && m.hasArchitecture) {
            // bitsandbytes dequantizes one weight at a time to 16 bits for the matmul.
            addExtra("a dequantized 16-bit weight", s.h * s.f * act);
        }
        double allocated = 0;
        for (const auto& e : r.components)
            allocated += static_cast<double>(e.bytesAtPeak);
        allocated += extra;
        const double fraction = allocatorFractionInUse(in);
        // Weights (and ZeRO's master copy) are allocated once at load in large blocks and do not
        // fragment; the reserve is a fraction of the rest.
        const double transient
            = std::max(0.0, allocated - bytesOf(Component::Weights) - bytesOf(Component::MasterWeights));
        const double allocator = transient * fraction;
        set(Component::Temporaries, extra,
            extra > 0 ? strCat(extraParts, " = ", gb(extra)) : std::string("none at the peak"));
        atPeak(Component::Temporaries, extra);
        const double overhead = outside + allocator;
        set(Component::Overhead, overhead,
            strCat(outsideText, " + allocator ", std::llround(fraction * 100), "% of ", gb(transient),
                   " beyond the weights = ", gb(overhead)));
        atPeak(Component::Overhead, overhead);
        r.allocatedBytes = static_cast<std::uint64_t>(std::llround(allocated));
        r.reservedBytes = static_cast<std::uint64_t>(std::llround(allocated + allocator));
        r.outsideAllocatorBytes = static_cast<std::uint64_t>(std::llround(outside));
    }
    std::uint64_t peak = 0;
    for (const auto& e : r.components)
        peak += e.bytesAtPeak;
    r.peakBytes = peak;

    if (!m.hasArchitecture)
        r.notes.push_back(strCat("architecture unknown: activations sized for a Llama-shaped model with h = ",
                                 count(s.h), ", ", count(s.layers), " layers, vocabulary 32000"));
    if (s.experts > 1)
        r.notes.push_back(strCat("mixture of experts: all ", count(s.experts), " experts are resident; ",
                                 count(s.expertsPerToken), " are active per token"));
    if (m.contextLength > 0 && in.seqLen > m.contextLength)
        r.notes.push_back(strCat("seq ", count(in.seqLen), " is longer than the model's context of ",
                                 count(m.contextLength),
                                 " tokens (max_position_embeddings): it was never trained on such positions"));
    if (in.method == TrainingMethod::Inference && in.gpus > 1)
        r.notes.push_back(tp ? strCat("tensor parallel: weights, KV heads and the MLP split across ", in.gpus,
                                      " GPUs; each layer's outputs are all-reduced")
                             : strCat("each of the ", in.gpus,
                                      " GPUs holds the whole model and serves its own sequences; "
                                      "--tensor-parallel splits the model across them"));
    if (r.pagedOptimizerBytes > 0)
        r.notes.push_back(strCat("paged optimizer: up to ", gb(static_cast<double>(r.pagedOptimizerBytes)),
                                 " of states can be evicted to CPU RAM under memory pressure"));
    if (gpu) {
        r.gpu = gpu;
        r.headroomBytes = static_cast<std::int64_t>(r.gpu->memoryBytesUsable) - static_cast<std::int64_t>(peak);
        r.fits = r.headroomBytes >= 0;
        if (!r.fits && r.pagedOptimizerBytes > 0 && peak - r.pagedOptimizerBytes <= r.gpu->memoryBytesUsable)
            r.notes.push_back("fits only if the paged optimizer states spill to CPU RAM (slower steps)");
        if (!r.gpu->bf16 && in.precision == Precision::Bf16 && r.gpu->note.empty())
            r.notes.push_back(strCat(r.gpu->name, " has no bf16: compute in fp16 (same memory, less range)"));
        if (!r.gpu->note.empty())
            r.notes.push_back(r.gpu->note);
        r.cannotRun = whyCannotRun(in, *r.gpu);
    }
    return r;
}

} // namespace

PlanResult evaluate(const PlanInput& in)
{
    return evaluatePlan(in, true);
}

PlanResult evaluateClosedForm(const PlanInput& in)
{
    return evaluatePlan(in, false);
}

bool simulatesAllocator(const PlanInput& in)
{
    return in.method != TrainingMethod::Inference && in.gpus == 1 && in.zeroStage == 0;
}

namespace {

bool usesCheckpointingFraction(const PlanInput& in)
{
    return in.gradientCheckpointing && in.method != TrainingMethod::Inference;
}

} // namespace

double allocatorFractionInUse(const PlanInput& in)
{
    return usesCheckpointingFraction(in) ? in.overheads.checkpointingAllocatorFraction : in.overheads.allocatorFraction;
}

double& allocatorFractionInUse(PlanInput& in)
{
    return usesCheckpointingFraction(in) ? in.overheads.checkpointingAllocatorFraction : in.overheads.allocatorFraction;
}

std::string whyCannotRun(const PlanInput& in, const GpuSpec& gpu)
{
    const bool quantizedWeights = in.method == TrainingMethod::Qlora
        || (in.weights
            && (*in.weights == WeightFormat::Nf4 || *in.weights == WeightFormat::Fp4
                || *in.weights == WeightFormat::Int8));
    const bool bitsandbytesOptimizer = in.method != TrainingMethod::Inference
        && (in.optimizer == OptimizerKind::AdamW8bit || in.optimizer == OptimizerKind::PagedAdamW8bit
            || in.optimizer == OptimizerKind::PagedAdamW);
    if (gpu.vendor == "apple" && (quantizedWeights || bitsandbytesOptimizer))
        return strCat(gpu.name, " cannot run this plan: bitsandbytes (",
                      quantizedWeights ? "4-bit and 8-bit weights" : "8-bit and paged optimizers",
                      ") needs CUDA or ROCm, which Apple GPUs do not have");
    return {};
}

} // namespace quantlens::core
