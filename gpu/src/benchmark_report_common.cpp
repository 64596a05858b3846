#include "gpu/benchmark.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "gpu/nf4_gemv.h"

#include <bit>
#include <climits>
#include <cstdio>
#include <sstream>

namespace quantlens::gpu {

namespace {

nlohmann::json timingJson(const GpuKernelTiming& t)
{
    return {{"milliseconds", t.milliseconds},
            {"bytes_moved", t.bytesMoved},
            {"gb_per_second", t.gbPerSecond},
            {"fraction_of_copy_bandwidth", t.copyFraction},
            {"elements_per_second", t.elementsPerSecond}};
}

std::string format(const char* pattern, double value)
{
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, pattern, value);
    return buffer;
}

std::string timingLine(const char* name, const GpuKernelTiming& t)
{
    return std::string("    ") + name + format("%9.3f ms", t.milliseconds) + format("%10.1f GB/s", t.gbPerSecond)
        + format("%7.1f%% of copy", 100.0 * t.copyFraction) + format("%10.2f Gelem/s", t.elementsPerSecond / 1e9)
        + "\n";
}

} // namespace

void validateGpuBenchmarkOptions(const GpuBenchmarkOptions& options)
{
    if (options.repetitions < 1 || options.warmup < 0)
        throw UsageError(strCat("the GPU benchmark needs at least one repetition, not ", options.repetitions));
    if (options.blocksize < 64 || options.blocksize > 4096 || !std::has_single_bit(unsigned(options.blocksize)))
        throw UsageError(
            strCat("the GPU benchmark's blocksize ", options.blocksize, " is not a power of two in 64 ... 4096"));
    for (int batch : options.batches)
        if (batch < 1 || batch > kGemvMaxBatch)
            throw UsageError(strCat("GEMV batch ", batch, " is outside 1 ... ", kGemvMaxBatch));
    for (const auto& shape : options.shapes) {
        if (shape.rows < 1 || shape.rows > INT_MAX || shape.cols < 1 || shape.cols > INT_MAX)
            throw UsageError(strCat("benchmark shape ", shape.rows, " x ", shape.cols,
                                    ": rows and columns must be 1 ... ", INT_MAX, " (cuBLAS takes int)"));
        if (shape.cols % options.blocksize != 0)
            throw UsageError(strCat("benchmark shape ", shape.rows, " x ", shape.cols,
                                    ": the columns must be a multiple of the blocksize (", options.blocksize,
                                    ") for the GEMV"));
    }
}

core::BenchSection toBenchSection(const GpuBenchmarkResult& r)
{
    core::BenchSection section;
    section.title = "GPU kernels on " + r.device.name;
    section.rows.push_back({"copy", "device-to-device copy, bytes read + written", r.copyGbPerSecond, "GB/s"});
    for (const auto& shape : r.shapes) {
        const std::string name = std::to_string(shape.rows) + "x" + std::to_string(shape.cols);
        section.rows.push_back(
            {name + " dequantize", "NF4 -> bf16, fraction of copy", shape.dequantize.copyFraction, "x"});
        section.rows.push_back({name + " same-size copy", "cudaMemcpy of the dequantize's bytes, fraction of copy",
                                shape.sameSizeCopy.copyFraction, "x"});
        section.rows.push_back({name + " dequantize DQ", "NF4 (double quant) -> bf16, fraction of copy",
                                shape.dequantizeDoubleQuant.copyFraction, "x"});
        section.rows.push_back({name + " quantize", "bf16 -> NF4, fraction of copy", shape.quantize.copyFraction, "x"});
        for (const auto& g : shape.gemv)
            section.rows.push_back(
                {name + " GEMV b" + std::to_string(g.batch), "speed-up over cuBLAS bf16", g.speedup, "x"});
    }
    section.notes.push_back("NF4 block size " + std::to_string(r.blocksize) + ", median of "
                            + std::to_string(r.repetitions) + " runs timed with CUDA events");
    return section;
}

nlohmann::json toJson(const GpuBenchmarkResult& r)
{
    nlohmann::json out;
    out["device"] = "cuda";
    out["name"] = r.device.name;
    out["compute_capability"] = std::to_string(r.device.computeMajor) + "." + std::to_string(r.device.computeMinor);
    out["driver"] = r.device.driverVersion;
    out["runtime"] = r.device.runtimeVersion;
    out["memory_bytes"] = r.device.memoryBytes;
    out["blocksize"] = r.blocksize;
    out["repetitions"] = r.repetitions;
    out["statistic"] = "median";
    out["copy_gb_per_second"] = r.copyGbPerSecond;
    out["shapes"] = nlohmann::json::array();
    for (const auto& s : r.shapes) {
        nlohmann::json shape;
        shape["rows"] = s.rows;
        shape["cols"] = s.cols;
        shape["dequantize_nf4_bf16"] = timingJson(s.dequantize);
        shape["dequantize_nf4_dq_bf16"] = timingJson(s.dequantizeDoubleQuant);
        shape["quantize_bf16_nf4"] = timingJson(s.quantize);
        shape["quantize_bf16_nf4_dq"] = timingJson(s.quantizeDoubleQuant);
        shape["same_size_copy"] = timingJson(s.sameSizeCopy);
        shape["gemv"] = nlohmann::json::array();
        for (const auto& g : s.gemv)
            shape["gemv"].push_back({{"batch", g.batch},
                                     {"ours_milliseconds", g.oursMilliseconds},
                                     {"cublas_bf16_milliseconds", g.cublasMilliseconds},
                                     {"speedup_vs_cublas", g.speedup},
                                     {"cuda_core_kernel_milliseconds", g.cudaCoreMilliseconds},
                                     {"ours_gb_per_second", g.oursGbPerSecond},
                                     {"max_relative_difference", g.maxRelativeDifference}});
        out["shapes"].push_back(shape);
    }
    return out;
}

std::string formatGpuBenchmark(const GpuBenchmarkResult& r)
{
    std::ostringstream out;
    out << "GPU benchmark: " << r.device.name << " (compute " << r.device.computeMajor << "." << r.device.computeMinor
        << ", driver " << r.device.driverVersion << ", runtime " << r.device.runtimeVersion << "), NF4 blocksize "
        << r.blocksize << ", median of " << r.repetitions << " runs timed with CUDA events\n";
    out << "  device-to-device copy: " << format("%.1f", r.copyGbPerSecond) << " GB/s (bytes read + written)\n";
    for (const auto& s : r.shapes) {
        out << "\n  " << s.rows << " x " << s.cols << "\n";
        out << timingLine("dequantize NF4 -> bf16      ", s.dequantize);
        out << timingLine("dequantize NF4+DQ -> bf16   ", s.dequantizeDoubleQuant);
        out << timingLine("quantize bf16 -> NF4        ", s.quantize);
        out << timingLine("quantize bf16 -> NF4+DQ     ", s.quantizeDoubleQuant);
        out << timingLine("copy, dequantize's bytes    ", s.sameSizeCopy);
        for (const auto& g : s.gemv)
            out << "    GEMV batch " << format("%2.0f", g.batch) << format("%9.3f ms", g.oursMilliseconds)
                << "  cuBLAS bf16" << format("%9.3f ms", g.cublasMilliseconds) << format("  %5.2fx", g.speedup)
                << format("%9.1f GB/s", g.oursGbPerSecond) << format("  max rel diff %.2e", g.maxRelativeDifference)
                << format("  (FMA kernel %.3f ms)", g.cudaCoreMilliseconds) << "\n";
    }
    return out.str();
}

} // namespace quantlens::gpu
