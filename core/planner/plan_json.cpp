#include "core/planner/plan_json.h"

namespace quantlens::core {

nlohmann::json toJson(const ModelSpec& m)
{
    nlohmann::json j = {{"name", m.name},
                        {"display_name", m.displayName},
                        {"architecture", m.architecture},
                        {"parameters", m.parameters.total()},
                        {"parameter_counts",
                         {{"embeddings", m.parameters.embeddings},
                          {"attention", m.parameters.attention},
                          {"mlp", m.parameters.mlp},
                          {"router", m.parameters.router},
                          {"norms", m.parameters.norms},
                          {"biases", m.parameters.biases},
                          {"lm_head", m.parameters.lmHead}}}};
    if (m.hasArchitecture) {
        j["layers"] = m.layers;
        j["hidden_size"] = m.hidden;
        j["attention_heads"] = m.heads;
        j["key_value_heads"] = m.kvHeads;
        j["head_dim"] = m.headDim;
        j["intermediate_size"] = m.intermediate;
        j["vocab_size"] = m.vocab;
        j["experts"] = m.experts;
        j["experts_per_token"] = m.expertsPerToken;
        j["tied_embeddings"] = m.tiedEmbeddings;
    }
    if (m.publishedParameters)
        j["published_parameters"] = m.publishedParameters;
    return j;
}

nlohmann::json toJson(const GpuSpec& g)
{
    return {{"id", g.id},
            {"name", g.name},
            {"memory_bytes", g.memoryBytesUsable},
            {"memory_bytes_sold", g.memoryBytesSold},
            {"memory_type", g.memoryType},
            {"bandwidth_gbs", g.bandwidthGBs},
            {"compute_capability", g.computeCapability},
            {"bf16", g.bf16},
            {"fp8", g.fp8}};
}

nlohmann::json toJson(const PlanInput& in)
{
    nlohmann::json j = {{"method", toString(in.method)},
                        {"precision", toString(in.precision)},
                        {"double_quant", in.doubleQuant},
                        {"quant_block_size", in.quantBlockSize},
                        {"optimizer", toString(in.optimizer)},
                        {"seq_len", in.seqLen},
                        {"micro_batch", in.microBatch},
                        {"gradient_checkpointing", in.gradientCheckpointing},
                        {"attention", toString(in.attention)},
                        {"lora_rank", in.loraRank},
                        {"lora_alpha", in.loraAlpha},
                        {"lora_targets", loraTargetsToString(in.loraTargets)},
                        {"lora_dropout", in.loraDropout},
                        {"adamw", toString(in.adamw)},
                        {"keep_outputs", in.keepOutputs},
                        {"expandable_segments", in.expandableSegments},
                        {"kv_cache_bits", in.kvCacheBits},
                        {"tensor_parallel", in.tensorParallel},
                        {"gpus", in.gpus},
                        {"zero_stage", in.zeroStage},
                        {"cuda_context_bytes", in.overheads.cudaContextBytes},
                        {"kernel_bytes", in.overheads.kernelBytes},
                        {"bitsandbytes_kernel_bytes", in.overheads.bitsandbytesKernelBytes},
                        {"allocator_fraction", in.overheads.allocatorFraction}};
    if (in.weights)
        j["weights"] = toString(*in.weights);
    if (in.weightBytes)
        j["weight_bytes"] = *in.weightBytes;
    return j;
}

nlohmann::json toJson(const PlanInput& input, const PlanResult& r)
{
    nlohmann::json j;
    j["model"] = toJson(input.model);
    j["model"]["trainable_parameters"] = r.trainableParameters;
    j["model"]["lora_parameters"] = r.loraParameters;
    j["input"] = toJson(input);
    for (const auto& e : r.components) {
        j["breakdown_bytes"][componentKey(e.component)] = e.bytesAtPeak;
        j["component_bytes"][componentKey(e.component)] = e.bytes;
        j["formulas"][componentKey(e.component)] = e.formula;
    }
    j["paged_optimizer_bytes"] = r.pagedOptimizerBytes;
    j["peak_bytes"] = r.peakBytes;
    j["allocated_bytes"] = r.allocatedBytes;
    j["reserved_bytes"] = r.reservedBytes;
    j["outside_allocator_bytes"] = r.outsideAllocatorBytes;
    j["simulated"] = r.simulated;
    j["peak_phase"] = r.peakPhase;
    j["notes"] = r.notes;
    if (r.gpu) {
        j["gpu"] = toJson(*r.gpu);
        j["gpu"]["fits"] = r.fits;
        j["gpu"]["cannot_run"] = r.cannotRun; // empty when the GPU can run the plan
        j["gpu"]["headroom_bytes"] = r.headroomBytes;
    } else {
        j["gpu"] = nullptr;
    }
    return j;
}

nlohmann::json toJson(const TeachingTable& t)
{
    const auto column = [](const TeachingColumn& c) {
        return nlohmann::json {
            {"weight_bits", c.setup.weightBits},         {"gradient_bits", c.setup.gradientBits},
            {"optimizer_bits", c.setup.optimizerBits},   {"optimizer_states", c.setup.optimizerStates},
            {"activation_bits", c.setup.activationBits}, {"weights_bytes", c.weightsBytes},
            {"gradients_bytes", c.gradientsBytes},       {"optimizer_states_bytes", c.optimizerBytes},
            {"activations_bytes", c.activationsBytes},   {"total_bytes", c.totalBytes()}};
    };
    return {{"parameters", t.parameters},
            {"baseline", column(t.baseline)},
            {"quantized", column(t.quantized)},
            {"reduction", t.reduction},
            {"why_real_differs", t.whyRealDiffers}};
}

void addPlanAnswers(nlohmann::json& plan, const PlanInput& input, std::optional<std::int64_t> maxMicroBatch,
                    std::optional<std::int64_t> maxSeqLen, const std::vector<Suggestion>& suggestions)
{
    plan["max_micro_batch"] = maxMicroBatch ? nlohmann::json(*maxMicroBatch) : nlohmann::json(nullptr);
    plan["max_seq_len"] = maxSeqLen ? nlohmann::json(*maxSeqLen) : nlohmann::json(nullptr);
    plan["max_micro_batch_at_search_limit"] = maxMicroBatch && *maxMicroBatch >= kMaxMicroBatchSearched;
    plan["max_seq_len_at_search_limit"] = maxSeqLen && *maxSeqLen >= kMaxSeqLenSearched;
    plan["suggestions"] = nlohmann::json::array();
    for (const auto& s : suggestions)
        plan["suggestions"].push_back({{"text", s.text}, {"peak_bytes", s.peakBytes}, {"fits", s.fits}});
    plan["gpus_that_fit"] = nlohmann::json::array();
    for (const auto& g : gpusThatFit(input))
        plan["gpus_that_fit"].push_back(g.gpu.id);
}

} // namespace quantlens::core
