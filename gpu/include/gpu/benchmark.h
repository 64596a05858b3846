#pragma once

#include "core/report/report_data.h"
#include "core/util/progress.h"
#include "gpu/device.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

// `quantlens-cli bench --device cuda`: how close our kernels come to the card's own limit. Every
// figure is the median of many runs timed with CUDA events after a warm-up, on buffers rotated so
// that their total exceeds the L2 cache, measured in one run beside the device-to-device copy
// bandwidth (bytes read + written) and cuBLAS's bf16 GEMV (cublasGemmEx) they are compared with.
namespace quantlens::gpu {

struct GpuBenchmarkOptions {
    struct Shape {
        std::int64_t rows = 0;
        std::int64_t cols = 0;
    };
    std::vector<Shape> shapes {{4096, 4096}, {8192, 8192}, {4096, 14336}, {14336, 4096}, {8192, 28672}};
    std::vector<int> batches {1, 4, 16};
    int blocksize = 64;
    int warmup = 5;
    int repetitions = 50;
};

struct GpuKernelTiming {
    double milliseconds = 0.0; // median
    double bytesMoved = 0.0; // bytes read + written, counted once
    double gbPerSecond = 0.0;
    double copyFraction = 0.0; // gbPerSecond / copy bandwidth
    double elementsPerSecond = 0.0;
};

struct GpuGemvTiming {
    int batch = 1;
    double oursMilliseconds = 0.0;
    double cublasMilliseconds = 0.0;
    double speedup = 0.0; // cublas / ours
    double cudaCoreMilliseconds = 0.0; // our FMA kernel (GemvKernel::CudaCore), for comparison
    double oursGbPerSecond = 0.0;
    double maxRelativeDifference = 0.0; // ours vs cuBLAS on the dequantized weight, max |d| / max |y|
};

struct GpuShapeResult {
    std::int64_t rows = 0;
    std::int64_t cols = 0;
    GpuKernelTiming dequantize; // NF4 -> bf16
    GpuKernelTiming dequantizeDoubleQuant; // NF4 with DQ -> bf16
    GpuKernelTiming quantize; // bf16 -> NF4
    GpuKernelTiming quantizeDoubleQuant;
    // cudaMemcpy of as many bytes as the dequantize moves (half read, half written), timed the same
    // way: what the copy engine reaches at this size, launch and ramp included, for comparison.
    GpuKernelTiming sameSizeCopy;
    std::vector<GpuGemvTiming> gemv;
};

struct GpuBenchmarkResult {
    DeviceInfo device;
    std::string measuredAt; // ISO 8601 UTC; empty in results saved before it was recorded
    int blocksize = 64;
    int repetitions = 0;
    double copyGbPerSecond = 0.0; // device-to-device cudaMemcpy, bytes read + written
    std::vector<GpuShapeResult> shapes;
};

// Throws UsageError naming the value when the options cannot be run: repetitions < 1, a batch
// outside 1 ... 16, a blocksize that is not a power of two in 64 ... 4096, or a shape whose rows or
// columns are not 1 ... 2^31 - 1 or whose columns are not a multiple of the blocksize (the GEMV's
// condition). Runs without a GPU; runGpuBenchmark calls it first.
void validateGpuBenchmarkOptions(const GpuBenchmarkOptions& options);

// Throws UnsupportedError naming the reason when no GPU can run it.
GpuBenchmarkResult runGpuBenchmark(const GpuBenchmarkOptions& options, const core::ProgressSink* progress = nullptr);

nlohmann::json toJson(const GpuBenchmarkResult& result);
// Reads what toJson writes (`quantlens-cli bench --device cuda --json`), so that results measured on
// one machine can be shown and reported on another, GPU or not. Every figure must be present, finite
// and not negative, and every shape must have the GEMV batches of the first; same_size_copy,
// measured_at and the device's multiprocessors, L2, bus width and clock may be absent (results saved
// before they were written). Throws FormatError naming `source` and the field, as in
// "shapes[2].gemv[0].speedup_vs_cublas".
GpuBenchmarkResult gpuBenchmarkFromJson(const nlohmann::json& root, const std::string& source);
// The same from a file: IoError when it cannot be read, FormatError when it is not such JSON.
GpuBenchmarkResult loadGpuBenchmark(const std::string& path);
// The result as a report table (the GUI's Bench view and `report --bench cuda`). `readFrom`, when
// given, is the saved file the result came from, which a note names as read rather than measured.
core::BenchSection toBenchSection(const GpuBenchmarkResult& result, const std::string& readFrom = {});
std::string formatGpuBenchmark(const GpuBenchmarkResult& result);

} // namespace quantlens::gpu
