#pragma once

#include "core/quant/scheme.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace quantlens::core {

class ErrorAccumulator;
struct CalibrationData;

// Whole-tensor statistics a scheme gathers in a first pass (a per-tensor scale, the mean of the
// block absmax that double quantization subtracts): a few numbers per chunk, combined by the
// scheme itself, in any order.
using TensorStatistics = std::vector<double>;

// What the scan needs of a quantization scheme: quantize then dequantize any aligned chunk of a
// tensor, from any thread at once, and say what it costs to store. makeScanSchemes
// (core/scan/scan_schemes.h) wraps the quantizers of core/quant; tests implement fake ones.
// `shape` is the tensor's, outermost first: per-row schemes align chunks to rows.
class ScanScheme {
public:
    virtual ~ScanScheme() = default;

    // Short name, as the user types it: "nf4", "nf4-dq", "q4_0".
    virtual std::string id() const = 0;
    // Chunks handed to roundTrip() start at multiples of this (a block, a group of blocks that
    // share second-level statistics, a row) and hold whole multiples of it except at the end.
    virtual std::uint64_t chunkAlignment(std::span<const std::uint64_t> shape) const = 0;
    // Storage cost of a tensor of this shape, scales and metadata included.
    virtual double bitsPerParameter(std::span<const std::uint64_t> shape) const = 0;
    // Why the scheme cannot store a tensor of this shape (ggml's formats need rows of whole
    // blocks); empty when it can. The scan then lists the tensor as skipped for this scheme only.
    virtual std::string cannotStore(std::span<const std::uint64_t> /*shape*/) const { return {}; }

    virtual bool needsTensorStatistics() const { return false; }
    // A calibrated scheme (GPTQ, AWQ) measures only bound to a tensor's calibration (its layer's
    // Hessian; AWQ's searched transform): withCalibration gives that bound scheme, or null when `data`
    // lacks it for tensor `index`; the others return null.
    virtual bool needsCalibration() const { return false; }
    virtual std::shared_ptr<const ScanScheme> withCalibration(const CalibrationData& /*data*/,
                                                              std::size_t /*index*/) const
    {
        return nullptr;
    }
    // The quantizer behind this scheme, for the calibration step's search; null for test fakes.
    virtual std::shared_ptr<const Scheme> scheme() const { return nullptr; }
    virtual TensorStatistics chunkStatistics(std::span<const float> chunk, std::span<const std::uint64_t> shape) const;
    // Default: adds element by element (sums and counts).
    virtual void mergeStatistics(TensorStatistics& into, const TensorStatistics& part) const;

    // Writes Q(in) dequantized into out (same length). `first` is the index of in[0] in the tensor
    // and `statistics` the merged chunkStatistics of the whole tensor (empty when not needed).
    virtual void roundTrip(std::span<const float> in, std::span<float> out, std::span<const std::uint64_t> shape,
                           std::uint64_t first, const TensorStatistics& statistics) const = 0;

    // For the bitsandbytes NF4/FP4 schemes: what they quantize with, given the tensor's statistics.
    virtual std::optional<FourBitParameters> fourBitParameters(const TensorStatistics&) const { return std::nullopt; }

    // Another way to measure a chunk, for schemes that run elsewhere (gpu/ wraps the 4-bit schemes
    // so that quantization, dequantization and the error sums run on the GPU): adds the error of
    // Q(in) against `in` to `errors` and returns true. The default returns false, and the scan
    // calls roundTrip() and measures on the CPU. Same contract on `in`, `first` and `statistics`.
    virtual bool measure(std::span<const float> /*in*/, std::span<const std::uint64_t> /*shape*/,
                         std::uint64_t /*first*/, const TensorStatistics& /*statistics*/,
                         ErrorAccumulator& /*errors*/) const
    {
        return false;
    }
    // Where measure() runs, for reports ("CPU", "CUDA: NVIDIA H100 80GB HBM3").
    virtual std::string device() const { return "CPU"; }

    // The same for a flat list of values, shape {n}: the Quantization Lab's synthetic tensors.
    double bitsPerParameter(std::uint64_t elements) const;
    TensorStatistics chunkStatistics(std::span<const float> values) const;
    void roundTrip(std::span<const float> in, std::span<float> out, std::uint64_t first,
                   const TensorStatistics& statistics) const;
};

} // namespace quantlens::core
