#include "plan_options.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

namespace quantlens::cli {

void addPlanSettings(CLI::App& sub, PlanSettings& s, bool weightBytesOption)
{
    sub.add_option("--method", s.method, "full|lora|qlora|inference")->capture_default_str();
    sub.add_option("--precision", s.precision, "fp32|bf16|fp16|mixed (fp32 master + bf16 autocast)")
        ->capture_default_str();
    sub.add_option("--weights", s.weights, "Base weight format: fp32|bf16|fp16|int8|nf4|fp4");
    sub.add_flag("--double-quant", s.doubleQuant, "Double quantization of the 4-bit absmax");
    sub.add_option("--blocksize", s.blockSize, "4-bit quantization block size (64..4096)")->capture_default_str();
    sub.add_option("--optimizer", s.optimizer, "adamw|adamw-8bit|paged-adamw-8bit|paged-adamw|sgd|adafactor|lion")
        ->capture_default_str();
    sub.add_option("--seq", s.seq, "Sequence length in tokens")->capture_default_str();
    sub.add_option("--batch", s.batch, "Micro-batch size")->capture_default_str();
    sub.add_flag("--grad-checkpointing", s.gradCheckpointing, "Activation (gradient) checkpointing");
    sub.add_option("--lora-rank", s.loraRank, "LoRA rank")->capture_default_str();
    sub.add_option("--lora-alpha", s.loraAlpha, "LoRA alpha")->capture_default_str();
    sub.add_option("--lora-targets", s.loraTargets, "q,k,v,o,gate,up,down or all")->capture_default_str();
    sub.add_option("--attention", s.attention, "sdpa|eager")->capture_default_str();
    sub.add_option("--gpu", s.gpu, "GPU from the catalogue, e.g. rtx-4090, h100-sxm, a100-80gb");
    sub.add_option("--gpus", s.gpus, "Number of GPUs (data parallel)")->capture_default_str();
    sub.add_option("--zero", s.zero, "ZeRO stage 0|1|2|3 (3 = FSDP full shard)")->capture_default_str();
    sub.add_option("--lora-dropout", s.loraDropout,
                   "peft's lora_dropout; 0 drops the mask and dropped input each adapted layer keeps")
        ->capture_default_str();
    sub.add_option("--adamw", s.adamw, "torch AdamW implementation: foreach|for-loop|fused")->capture_default_str();
    sub.add_flag("--free-outputs", s.freeOutputs,
                 "The loop drops the model outputs before backward (transformers' Trainer); default: the logits "
                 "stay alive through backward, as in `out = model(**batch); out.loss.backward()`");
    sub.add_option("--kv-cache-bits", s.kvCacheBits,
                   "Inference: 16 (the model's dtype) or 8, 4, 2 (transformers' QuantizedCache)")
        ->capture_default_str();
    sub.add_flag("--tensor-parallel", s.tensorParallel,
                 "Inference on several GPUs: split the weights, KV heads and MLP across them (vLLM, tp_plan); "
                 "default: every GPU holds the whole model");
    sub.add_flag("--expandable-segments", s.expandableSegments,
                 "PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True (the allocator grows one segment per pool)");
    sub.add_option("--cuda-context-mib", s.cudaContextMiB,
                   "CUDA context right after initialisation, outside the allocator (default 620.8, H100; "
                   "the kernels a step loads are added apart)");
    sub.add_option("--allocator-fraction", s.allocatorFraction,
                   "Allocator reserve as a fraction of the memory beyond the weights, for the plans that are not "
                   "simulated (several GPUs, inference; default 0.09, 0.30 with checkpointing)");
    if (weightBytesOption)
        sub.add_option("--weight-bytes", s.weightBytes,
                       "The frozen or served weights as stored, whole model (an advise mix's total, a file's size), "
                       "e.g. 4300MiB; replaces --weights' bytes per parameter")
            ->transform(CLI::AsSizeValue(false));
}

core::PlanInput toPlanInput(const PlanSettings& s, core::ModelSpec model)
{
    core::PlanInput in;
    in.model = std::move(model);
    in.method = core::parseTrainingMethod(s.method);
    in.precision = core::parsePrecision(s.precision);
    if (!s.weights.empty()) {
        in.weights = core::parseWeightFormat(s.weights);
        if (in.method == core::TrainingMethod::Full)
            throw UsageError("--weights sets the frozen or served weights' format (lora, qlora, inference); full "
                             "finetuning trains the weights in --precision");
    }
    if (s.weightBytes) {
        if (in.method == core::TrainingMethod::Full)
            throw UsageError("--weight-bytes sets the frozen or served weights' size (lora, qlora, inference); full "
                             "finetuning trains the weights in --precision");
        in.weightBytes = *s.weightBytes;
    }
    in.doubleQuant = s.doubleQuant;
    in.quantBlockSize = s.blockSize;
    in.optimizer = core::parseOptimizer(s.optimizer);
    in.seqLen = s.seq;
    in.microBatch = s.batch;
    in.gradientCheckpointing = s.gradCheckpointing;
    in.loraRank = s.loraRank;
    in.loraAlpha = s.loraAlpha;
    in.loraTargets = core::parseLoraTargets(s.loraTargets);
    in.attention = core::parseAttention(s.attention);
    in.adamw = core::parseAdamWImplementation(s.adamw);
    in.keepOutputs = !s.freeOutputs;
    in.expandableSegments = s.expandableSegments;
    in.kvCacheBits = s.kvCacheBits;
    in.tensorParallel = s.tensorParallel;
    if (!(s.loraDropout >= 0 && s.loraDropout < 1))
        throw UsageError(strCat("--lora-dropout ", s.loraDropout, " is out of range: allowed 0 to below 1"));
    in.loraDropout = s.loraDropout;
    in.gpu = s.gpu;
    in.gpus = s.gpus;
    in.zeroStage = s.zero;
    if (s.cudaContextMiB) {
        if (!(*s.cudaContextMiB >= 0 && *s.cudaContextMiB <= 65536))
            throw UsageError(strCat("--cuda-context-mib ", *s.cudaContextMiB, " is out of range: allowed 0 to 65536"));
        in.overheads.cudaContextBytes = static_cast<std::uint64_t>(*s.cudaContextMiB * 1048576.0);
    }
    if (s.allocatorFraction) {
        // core::validate names the option's range (0 to 2) for a value outside it, negative included.
        in.overheads.allocatorFraction = *s.allocatorFraction;
        in.overheads.checkpointingAllocatorFraction = *s.allocatorFraction;
    }
    if (in.model.parameters.total() > 0)
        core::validate(in);
    return in;
}

} // namespace quantlens::cli
