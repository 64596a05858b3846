#include "core/planner/planner.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/units.h"

#include <algorithm>

// The questions asked around one plan: the largest batch or sequence that fits, the GPUs that
// fit, and what to change when it does not. Each is a few evaluate() calls.
namespace quantlens::core {

namespace {

std::uint64_t capacityOf(const PlanInput& input, std::optional<std::uint64_t> capacityBytes)
{
    if (capacityBytes)
        return *capacityBytes;
    if (input.gpu.empty())
        throw UsageError("choose a GPU (--gpu NAME) to search for the largest batch or sequence that fits");
    return findGpu(input.gpu).memoryBytesUsable;
}

// Bisects between a value that fits and a larger one that does not, to the last that fits.
template <typename Fits> std::int64_t bisect(std::int64_t good, std::int64_t bad, Fits& fits)
{
    while (bad - good > 1) {
        const std::int64_t mid = good + (bad - good) / 2;
        (fits(mid) ? good : bad) = mid;
    }
    return good;
}

// Largest value in [1, limit] for which `fits` holds, assuming it is monotone; 0 if none.
template <typename Fits> std::int64_t largestFitting(std::int64_t limit, Fits fits)
{
    if (!fits(1))
        return 0;
    std::int64_t good = 1;
    std::int64_t bad = 2;
    while (bad <= limit && fits(bad)) { // doubling first: most answers are small
        good = bad;
        bad *= 2;
    }
    if (bad > limit) {
        if (fits(limit))
            return limit;
        bad = limit;
    }
    return bisect(good, bad, fits);
}

// The same, starting from a guess and walking out from it in doubling steps: a handful of probes
// when the guess is close (the simulated plans, guessed by the closed form).
template <typename Fits> std::int64_t largestFittingNear(std::int64_t limit, std::int64_t guess, Fits fits)
{
    guess = std::clamp<std::int64_t>(guess, 1, limit);
    std::int64_t good = 0;
    std::int64_t bad = 0;
    std::int64_t step = 1;
    if (fits(guess)) {
        good = guess;
        for (;;) {
            if (good == limit)
                return limit;
            const std::int64_t next = std::min(limit, good + step);
            if (!fits(next)) {
                bad = next;
                break;
            }
            good = next;
            step *= 2;
        }
    } else {
        bad = guess;
        for (;;) {
            if (bad == 1)
                return 0;
            const std::int64_t next = std::max<std::int64_t>(1, bad - step);
            if (fits(next)) {
                good = next;
                break;
            }
            bad = next;
            step *= 2;
        }
    }
    return bisect(good, bad, fits);
}

// Largest value of one field that fits: the closed form guesses, the full evaluation decides.
template <typename Set>
std::int64_t searchField(const PlanInput& input, std::optional<std::uint64_t> capacityBytes, std::int64_t limit,
                         Set set)
{
    const std::uint64_t capacity = capacityOf(input, capacityBytes);
    PlanInput trial = input;
    const std::int64_t guess = largestFitting(limit, [&](std::int64_t v) {
        set(trial, v);
        return evaluateClosedForm(trial).peakBytes <= capacity;
    });
    if (!simulatesAllocator(input))
        return guess;
    return largestFittingNear(limit, std::max<std::int64_t>(guess, 1), [&](std::int64_t v) {
        set(trial, v);
        return evaluate(trial).peakBytes <= capacity;
    });
}

} // namespace

std::int64_t maxMicroBatch(const PlanInput& input, std::optional<std::uint64_t> capacityBytes)
{
    return searchField(input, capacityBytes, kMaxMicroBatchSearched,
                       [](PlanInput& p, std::int64_t v) { p.microBatch = v; });
}

std::int64_t maxSeqLen(const PlanInput& input, std::optional<std::uint64_t> capacityBytes)
{
    return searchField(input, capacityBytes, kMaxSeqLenSearched, [](PlanInput& p, std::int64_t v) { p.seqLen = v; });
}

std::string searchedLimitText(std::int64_t value, std::int64_t limit)
{
    if (value <= 0)
        return "none";
    const std::string number = formatThousands(std::uint64_t(value));
    return value >= limit ? strCat(number, " or more (the search stops there)") : number;
}

std::vector<GpuFit> gpusThatFit(const PlanInput& input)
{
    PlanInput trial = input;
    trial.gpu.clear();
    const std::uint64_t peak = evaluate(trial).peakBytes;
    std::vector<GpuFit> fits;
    for (const auto& gpu : gpuCatalogue()) {
        if (gpu.memoryBytesUsable >= peak && whyCannotRun(input, gpu).empty())
            fits.push_back({gpu, peak, static_cast<std::int64_t>(gpu.memoryBytesUsable - peak)});
    }
    std::stable_sort(fits.begin(), fits.end(), [](const GpuFit& a, const GpuFit& b) {
        return a.gpu.memoryBytesUsable < b.gpu.memoryBytesUsable;
    });
    return fits;
}

bool fitsComfortably(const PlanResult& r)
{
    return r.gpu && r.fits && r.cannotRun.empty()
        && double(r.headroomBytes) >= kComfortableHeadroom * double(r.gpu->memoryBytesUsable);
}

std::vector<Suggestion> suggestions(const PlanInput& input)
{
    const PlanResult base = evaluate(input);
    if (fitsComfortably(base))
        return {}; // nothing to fix: shortening sequences with gigabytes to spare is no advice
    const bool training = input.method != TrainingMethod::Inference;
    std::vector<Suggestion> out;
    const auto consider = [&](std::string text, PlanInput changed) {
        const PlanResult r = evaluate(changed);
        // A change that saves under 1% of the peak (a tiny model's, which the CUDA context
        // dominates) is not worth a line: it would read "-> 0.83 GB" beside a 0.83 GB peak.
        if (r.peakBytes >= base.peakBytes || double(base.peakBytes - r.peakBytes) < 0.01 * double(base.peakBytes))
            return;
        out.push_back({std::move(text), std::move(changed), r.peakBytes, r.gpu ? r.fits : false});
    };
    if (training && !input.gradientCheckpointing) {
        PlanInput c = input;
        c.gradientCheckpointing = true;
        consider("Turn on gradient checkpointing (--grad-checkpointing): about 30% slower steps", c);
    }
    if (input.attention == AttentionKind::Eager) {
        PlanInput c = input;
        c.attention = AttentionKind::Sdpa;
        consider("Use SDPA/flash attention (--attention sdpa): no s² attention scores kept", c);
    }
    if (training && (input.optimizer == OptimizerKind::AdamW || input.optimizer == OptimizerKind::PagedAdamW)) {
        PlanInput c = input;
        c.optimizer = OptimizerKind::PagedAdamW8bit;
        consider("Use a paged 8-bit AdamW (--optimizer paged-adamw-8bit, bitsandbytes)", c);
    }
    if (input.method == TrainingMethod::Full) {
        PlanInput c = input;
        c.method = TrainingMethod::Lora;
        c.weights.reset();
        consider(strCat("Train LoRA adapters instead (--method lora, rank ", input.loraRank, ")"), c);
    }
    if (input.method == TrainingMethod::Full || input.method == TrainingMethod::Lora) {
        PlanInput c = input;
        c.method = TrainingMethod::Qlora;
        c.weights = WeightFormat::Nf4;
        c.doubleQuant = true;
        if (c.precision == Precision::Fp32 || c.precision == Precision::Mixed)
            c.precision = Precision::Bf16;
        consider("Use QLoRA (--method qlora --double-quant): NF4 base, only the adapters train", c);
    }
    if (!training && !(input.weights && isQuantized(*input.weights)) && !input.weightBytes) {
        // The usual fix for a model a little too large for the card: load it quantized.
        PlanInput c = input;
        c.weights = WeightFormat::Int8;
        consider("Load the weights in 8-bit (--weights int8, LLM.int8: close to 16-bit quality)", c);
        c.weights = WeightFormat::Nf4;
        consider("Load the weights in 4-bit (--weights nf4, or a GGUF Q4_K_M: `advise` finds a mix)", c);
    }
    if (!training && input.gpus > 1 && !input.tensorParallel) {
        PlanInput c = input;
        c.tensorParallel = true;
        consider(strCat("Split the model across the ", input.gpus, " GPUs (--tensor-parallel)"), c);
    }
    if (input.microBatch > 1) {
        PlanInput c = input;
        // Training: the largest micro-batch that fits, the same effective batch by accumulation.
        // Inference has no accumulation: fewer sequences at once.
        const std::int64_t fitting = base.gpu ? maxMicroBatch(input) : 0;
        c.microBatch
            = fitting >= 1 && fitting < input.microBatch ? fitting : std::max<std::int64_t>(1, input.microBatch / 2);
        const std::int64_t steps = (input.microBatch + c.microBatch - 1) / c.microBatch;
        consider(training ? strCat("Micro-batch ", c.microBatch, " with gradient accumulation over ", steps,
                                   " steps (the same effective batch of ", input.microBatch * input.gpus, ")")
                          : strCat("Serve ", c.microBatch, " sequences at once instead of ", input.microBatch),
                 c);
    }
    const std::int64_t context = input.model.contextLength;
    if (context > 0 && input.seqLen > context) {
        PlanInput c = input;
        c.seqLen = context;
        consider(strCat("Shorten sequences to the model's context, ", context, " tokens"), c);
    } else if (input.seqLen > 512) {
        PlanInput c = input;
        const std::int64_t fitting = base.gpu ? maxSeqLen(input) : 0;
        c.seqLen = fitting >= 512 && fitting < input.seqLen ? fitting / 256 * 256 : input.seqLen / 2;
        consider(strCat("Shorten sequences to ", c.seqLen, " tokens"), c);
    }
    if (input.gpus > 1 && input.zeroStage < 3 && training) {
        PlanInput c = input;
        c.zeroStage = 3;
        consider(strCat("Shard everything across the ", input.gpus, " GPUs (--zero 3 / FSDP full shard)"), c);
    }
    std::stable_sort(out.begin(), out.end(), [](const Suggestion& a, const Suggestion& b) {
        if (a.fits != b.fits)
            return a.fits;
        return a.peakBytes < b.peakBytes;
    });
    if (!input.gpu.empty() && !base.fits) {
        const auto fitting = gpusThatFit(input);
        if (!fitting.empty()) {
            PlanInput c = input;
            c.gpu = fitting.front().gpu.id;
            out.push_back({strCat("Use a larger GPU: ", fitting.front().gpu.name, " (",
                                  formatGB(static_cast<double>(fitting.front().gpu.memoryBytesUsable)), " usable)"),
                           c, base.peakBytes, true});
        }
    }
    return out;
}

std::vector<SweepPoint> sweep(const PlanInput& input, SweepAxis axis, const std::vector<std::int64_t>& values)
{
    std::vector<SweepPoint> points;
    points.reserve(values.size());
    PlanInput trial = input;
    for (const std::int64_t v : values) {
        (axis == SweepAxis::SeqLen ? trial.seqLen : trial.microBatch) = v;
        points.push_back({v, evaluate(trial)});
    }
    return points;
}

} // namespace quantlens::core
