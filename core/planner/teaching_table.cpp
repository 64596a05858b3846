#include "core/planner/teaching_table.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

namespace quantlens::core {

namespace {

void checkBits(const char* what, double bits)
{
    if (!(bits > 0 && bits <= 64))
        throw UsageError(strCat(what, " ", bits, " bits is out of range: allowed above 0 up to 64"));
}

} // namespace

TeachingSetup teachingBaseline()
{
    return {16, 16, 32, 2, 16};
}

TeachingSetup teachingQuantized()
{
    return {4, 4, 8, 2, 4};
}

TeachingColumn teachingColumn(std::uint64_t parameters, const TeachingSetup& setup)
{
    checkBits("weight", setup.weightBits);
    checkBits("gradient", setup.gradientBits);
    checkBits("optimizer state", setup.optimizerBits);
    checkBits("activation", setup.activationBits);
    if (setup.optimizerStates < 0 || setup.optimizerStates > 4)
        throw UsageError(strCat("optimizer states ", setup.optimizerStates, " is out of range: allowed 0 to 4"));
    const double p = static_cast<double>(parameters);
    TeachingColumn c;
    c.setup = setup;
    c.weightsBytes = p * setup.weightBits / 8;
    c.gradientsBytes = p * setup.gradientBits / 8;
    c.optimizerBytes = setup.optimizerStates * p * setup.optimizerBits / 8;
    c.activationsBytes = p * setup.activationBits / 8; // the course's assumption, not physics
    return c;
}

TeachingTable teachingTable(std::uint64_t parameters, const TeachingSetup& baseline, const TeachingSetup& quantized)
{
    TeachingTable t;
    t.parameters = parameters;
    t.baseline = teachingColumn(parameters, baseline);
    t.quantized = teachingColumn(parameters, quantized);
    t.reduction = 1.0 - t.quantized.totalBytes() / t.baseline.totalBytes();
    t.whyRealDiffers = "The table prices every component per parameter. Real QLoRA differs: the frozen 4-bit base "
                       "has no gradients and no optimizer states at all, only the small 16/32-bit adapters train, "
                       "and activations depend on sequence length, batch and checkpointing, not on the parameter "
                       "count.";
    return t;
}

} // namespace quantlens::core
