#include "gpu/error_metrics.h"

#include <algorithm>

namespace quantlens::gpu {

core::ErrorSums DeviceErrorSums::sums() const
{
    core::ErrorSums sums;
    sums.count = count;
    sums.nonFiniteInputs = nonFiniteInputs;
    sums.nonFiniteOutputs = nonFiniteOutputs;
    sums.sumSquaredError = sumSquaredError;
    sums.sumAbsError = sumAbsError;
    sums.sumSquaredOriginal = sumSquaredOriginal;
    sums.sumSquaredReconstructed = sumSquaredReconstructed;
    sums.sumProduct = sumProduct;
    sums.maxAbsError = maxAbsError;
    return sums;
}

core::MagnitudeHistogram DeviceErrorSums::histogram() const
{
    core::MagnitudeHistogram errors;
    const std::size_t bins = std::min(errorHistogram.size(), core::MagnitudeHistogram::kBinCount);
    for (std::size_t bin = 0; bin < bins; ++bin)
        errors.addToBin(bin, errorHistogram[bin]);
    return errors;
}

core::ErrorStats DeviceErrorSums::stats() const
{
    return core::errorStatsFromSums(sums(), histogram());
}

} // namespace quantlens::gpu
