#pragma once

#include "core/scan/scan_scheme.h"

#include <memory>
#include <vector>

// The model scan on the GPU. The scan (core/scan) stays free of CUDA: it asks each scheme to
// measure() a chunk, and the schemes wrapped here answer by quantizing, dequantizing in registers
// and reducing the error sums on the device (quantize4bit + measureError4bit), with the same codes
// as the CPU and the sums in double, so that only the summation order differs from the CPU scan.
namespace quantlens::gpu {

// Each bitsandbytes NF4/FP4 scheme of `schemes` (any blocksize, with or without double
// quantization) wrapped to measure on the first CUDA device; the other schemes come back as they
// are and run on the CPU. Throws UnsupportedError with unavailableReason() when there is no device
// (built without CUDA, no GPU, driver refused).
std::vector<std::shared_ptr<const core::ScanScheme>>
accelerateScanSchemes(const std::vector<std::shared_ptr<const core::ScanScheme>>& schemes);

// Chunk size for a scan whose schemes run on the GPU: large enough that a kernel launch is not the
// cost of every 64 Ki values (the CPU scan's default), small enough that each scan thread's two
// float buffers stay at 32 MiB (16 MiB copied to the device per chunk).
inline constexpr std::uint64_t kGpuScanChunkElements = std::uint64_t(1) << 22;

} // namespace quantlens::gpu
