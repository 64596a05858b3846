#include "gpu/error_metrics.h"

#include <algorithm>

namespace quantlens::gpu {

core::ErrorStats DeviceErrorSums::stats() const
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
    core::MagnitudeHistogram errors;
    const std::size_t bins = std::min(errorHistogram.size(), core::MagnitudeHistogram::kBinCount);
    for (std::size_t bin = 0; bin < bins; ++bin)
        errors.addToBin(bin, errorHistogram[bin]);
    return core::errorStatsFromSums(sums, errors);
}

} // namespace quantlens::gpu
