#include "core/advise/gpu_budget.h"

#include "core/eval/llama_config.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/units.h"

#include <filesystem>

namespace quantlens::core {

ModelSpec modelSpecFor(const Model& model)
{
    const auto& path = model.path();
    const auto folder = std::filesystem::is_directory(path) ? path : path.parent_path();
    if (model.format() != "gguf" && std::filesystem::exists(folder / "config.json"))
        return modelSpecFromConfigFile((folder / "config.json").string());
    const LlamaConfig c = llamaConfigFor(model);
    ModelSpec spec;
    spec.name = path.filename().string();
    spec.displayName = spec.name;
    spec.architecture = c.architecture;
    spec.layers = int(c.layers);
    spec.hidden = int(c.hidden);
    spec.heads = int(c.heads);
    spec.kvHeads = int(c.kvHeads);
    spec.headDim = int(c.headDim);
    spec.intermediate = int(c.intermediate);
    spec.vocab = int(c.vocab);
    spec.tiedEmbeddings = c.tiedEmbeddings;
    spec.qkvBias = !c.blocks.empty() && c.blocks.front().qBias >= 0;
    spec.contextLength = std::int64_t(c.context);
    spec.parameters = countParameters(spec);
    return spec;
}

GpuWeightBudget weightBudgetForGpu(PlanInput plan)
{
    if (plan.gpu.empty())
        throw UsageError("a GPU budget needs a GPU: --gpu ID (quantlens-cli devices lists them)");
    if (plan.method == TrainingMethod::Full)
        throw UsageError("a weight budget is for a plan whose weights are frozen or served (--method inference, "
                         "lora or qlora); full finetuning trains them in --precision");
    GpuWeightBudget budget;
    plan.weightBytes = 0;
    const PlanResult empty = evaluate(plan);
    if (!empty.gpu)
        throw UsageError(strCat("unknown GPU '", plan.gpu, "'"));
    if (!empty.cannotRun.empty())
        throw UsageError(strCat(empty.gpu->name, " cannot run this plan: ", empty.cannotRun));
    budget.usableBytes = empty.gpu->memoryBytesUsable;
    budget.restBytes = empty.peakBytes;
    if (!empty.fits)
        throw UsageError(strCat("the plan does not fit ", empty.gpu->name,
                                " even without weights: the rest of it "
                                "peaks at ",
                                formatBinaryBytes(double(empty.peakBytes)), " of ",
                                formatBinaryBytes(double(budget.usableBytes)), " usable; shorten --seq or --batch"));
    // fits() only turns false as the weights grow: the largest that fits, to the byte.
    std::uint64_t lo = 0, hi = budget.usableBytes * std::uint64_t(std::max(1, plan.gpus)) + 1;
    while (hi - lo > 1) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        plan.weightBytes = mid;
        (evaluate(plan).fits ? lo : hi) = mid;
    }
    plan.weightBytes = lo;
    budget.bytes = lo;
    budget.plan = evaluate(plan);
    return budget;
}

} // namespace quantlens::core
