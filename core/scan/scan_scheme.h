#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace quantlens::core {

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

    virtual bool needsTensorStatistics() const { return false; }
    virtual TensorStatistics chunkStatistics(std::span<const float> chunk, std::span<const std::uint64_t> shape) const;
    // Default: adds element by element (sums and counts).
    virtual void mergeStatistics(TensorStatistics& into, const TensorStatistics& part) const;

    // Writes Q(in) dequantized into out (same length). `first` is the index of in[0] in the tensor
    // and `statistics` the merged chunkStatistics of the whole tensor (empty when not needed).
    virtual void roundTrip(std::span<const float> in, std::span<float> out, std::span<const std::uint64_t> shape,
                           std::uint64_t first, const TensorStatistics& statistics) const = 0;

    // The same for a flat list of values, shape {n}: the Quantization Lab's synthetic tensors.
    double bitsPerParameter(std::uint64_t elements) const;
    TensorStatistics chunkStatistics(std::span<const float> values) const;
    void roundTrip(std::span<const float> in, std::span<float> out, std::uint64_t first,
                   const TensorStatistics& statistics) const;
};

} // namespace quantlens::core
