#pragma once

#include "core/metrics/error_accumulator.h"
#include "core/metrics/magnitude_histogram.h"
#include "gpu/bnb_quantize.h"

#include <cstdint>
#include <vector>

// The quantization error of a tensor measured on the GPU: the sums behind core::ErrorStats
// (reduced on the device in double) and the |error| histogram in core::MagnitudeHistogram's bins,
// so that a scan on the GPU reports the numbers the CPU scan reports. The reconstruction is the
// fp32 dequantization, the error reconstructed - original, and non-finite values are counted
// apart, exactly as core::ErrorAccumulator does; only the summation order differs.
namespace quantlens::gpu {

struct DeviceErrorSums {
    std::uint64_t count = 0;
    std::uint64_t nonFiniteInputs = 0;
    std::uint64_t nonFiniteOutputs = 0;
    double sumSquaredError = 0.0;
    double sumAbsError = 0.0;
    double sumSquaredOriginal = 0.0;
    double sumSquaredReconstructed = 0.0;
    double sumProduct = 0.0;
    double maxAbsError = 0.0;
    std::vector<std::uint64_t> errorHistogram; // core::MagnitudeHistogram::kBinCount bins

    // The same as core's types, to add to a core::ErrorAccumulator (addSums).
    core::ErrorSums sums() const;
    core::MagnitudeHistogram histogram() const;
    // core::errorStatsFromSums over these sums and the histogram: the CPU scan's own formulas.
    core::ErrorStats stats() const;
};

// Device memory the reduction needs (a few KiB), allocated once by the caller and reused.
class ErrorScratch {
public:
    ErrorScratch();
    DeviceBuffer& buffer() { return m_buffer; }

private:
    DeviceBuffer m_buffer;
};

// Reads `input` (quantized.numel values of inputType) and its quantized form, dequantizes in
// registers and reduces; waits for the stream and returns the sums.
DeviceErrorSums measureError4bit(const Stream& stream, const DeviceBuffer& input, FloatType inputType,
                                 const FourBitTensor& quantized, ErrorScratch& scratch);

} // namespace quantlens::gpu
