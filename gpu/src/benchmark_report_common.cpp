#include "gpu/benchmark.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "gpu/nf4_gemv.h"

#include <bit>
#include <climits>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
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

// Field access for gpuBenchmarkFromJson: each value read is checked, and a failure names the file
// and the field's path.
class BenchmarkJsonReader {
public:
    explicit BenchmarkJsonReader(std::string source)
        : m_source(std::move(source))
    {
    }

    [[noreturn]] void fail(const std::string& path, const std::string& expected, const std::string& found,
                           const std::string& what) const
    {
        throw FormatError({m_source, std::nullopt, path, expected, found},
                          strCat("not a QuantLens GPU benchmark result: ", what));
    }

    // The member `key` of `object`, or nullptr when it is absent or null.
    static const nlohmann::json* find(const nlohmann::json& object, const char* key)
    {
        const auto it = object.find(key);
        return it == object.end() || it->is_null() ? nullptr : &*it;
    }

    const nlohmann::json& member(const nlohmann::json& object, const char* key, const std::string& path) const
    {
        const nlohmann::json* value = find(object, key);
        if (!value)
            fail(path, "a value", "nothing", strCat("'", path, "' is missing"));
        return *value;
    }

    const nlohmann::json& object(const nlohmann::json& parent, const char* key, const std::string& path) const
    {
        const nlohmann::json& value = member(parent, key, path);
        if (!value.is_object())
            fail(path, "an object", value.type_name(), strCat("'", path, "' is not an object"));
        return value;
    }

    const nlohmann::json& array(const nlohmann::json& parent, const char* key, const std::string& path) const
    {
        const nlohmann::json& value = member(parent, key, path);
        if (!value.is_array())
            fail(path, "an array", value.type_name(), strCat("'", path, "' is not an array"));
        return value;
    }

    std::string string(const nlohmann::json& parent, const char* key, const std::string& path) const
    {
        const nlohmann::json& value = member(parent, key, path);
        if (!value.is_string())
            fail(path, "a string", value.dump(), strCat("'", path, "' is not a string"));
        return value.get<std::string>();
    }

    // A finite number >= 0.
    double number(const nlohmann::json& parent, const char* key, const std::string& path) const
    {
        const nlohmann::json& value = member(parent, key, path);
        const double x = value.is_number() ? value.get<double>() : std::nan("");
        if (!std::isfinite(x) || x < 0)
            fail(path, "a finite number >= 0", value.dump(), strCat("'", path, "' is not a finite number >= 0"));
        return x;
    }

    // A whole number in min ... max.
    std::int64_t integer(const nlohmann::json& parent, const char* key, const std::string& path, std::int64_t min,
                         std::int64_t max) const
    {
        const nlohmann::json& value = member(parent, key, path);
        const bool whole = value.is_number_integer()
            && (!value.is_number_unsigned() || value.get<std::uint64_t>() <= std::uint64_t(INT64_MAX));
        if (!whole || value.get<std::int64_t>() < min || value.get<std::int64_t>() > max)
            fail(path, strCat("a whole number in ", min, " ... ", max), value.dump(),
                 strCat("'", path, "' is not a whole number in ", min, " ... ", max));
        return value.get<std::int64_t>();
    }

    GpuKernelTiming timing(const nlohmann::json& parent, const char* key, const std::string& path) const
    {
        const nlohmann::json& t = object(parent, key, path);
        GpuKernelTiming out;
        out.milliseconds = number(t, "milliseconds", path + ".milliseconds");
        out.bytesMoved = number(t, "bytes_moved", path + ".bytes_moved");
        out.gbPerSecond = number(t, "gb_per_second", path + ".gb_per_second");
        out.copyFraction = number(t, "fraction_of_copy_bandwidth", path + ".fraction_of_copy_bandwidth");
        out.elementsPerSecond = number(t, "elements_per_second", path + ".elements_per_second");
        return out;
    }

private:
    std::string m_source;
};

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

core::BenchSection toBenchSection(const GpuBenchmarkResult& r, const std::string& readFrom)
{
    core::BenchSection section;
    section.title = "GPU kernels on " + r.device.name;
    section.rows.push_back({"copy", "device-to-device copy, bytes read + written", r.copyGbPerSecond, "GB/s"});
    for (const auto& shape : r.shapes) {
        const std::string name = std::to_string(shape.rows) + "x" + std::to_string(shape.cols);
        // Percent of the copy bandwidth, as `bench` prints them; "x" is kept for the speed-ups.
        const auto percent = [](const GpuKernelTiming& t) { return 100.0 * t.copyFraction; };
        section.rows.push_back({name + " dequantize",
                                strCat("NF4 -> bf16, ", format("%.4f", shape.dequantize.milliseconds), " ms"),
                                percent(shape.dequantize), "% of copy"});
        section.rows.push_back({name + " same-size copy", "cudaMemcpy of the dequantize's bytes",
                                percent(shape.sameSizeCopy), "% of copy"});
        section.rows.push_back(
            {name + " dequantize DQ", "NF4 (double quant) -> bf16", percent(shape.dequantizeDoubleQuant), "% of copy"});
        section.rows.push_back({name + " quantize", "bf16 -> NF4", percent(shape.quantize), "% of copy"});
        section.rows.push_back(
            {name + " quantize DQ", "bf16 -> NF4 (double quant)", percent(shape.quantizeDoubleQuant), "% of copy"});
        for (const auto& g : shape.gemv)
            section.rows.push_back({name + " GEMV b" + std::to_string(g.batch),
                                    strCat("speed-up over cuBLAS bf16 (ours ", format("%.4f", g.oursMilliseconds),
                                           " ms, cuBLAS ", format("%.4f", g.cublasMilliseconds), " ms, FMA kernel ",
                                           format("%.4f", g.cudaCoreMilliseconds), " ms; outputs within ",
                                           format("%.1e", g.maxRelativeDifference), " of its max |y|)"),
                                    g.speedup, "x"});
    }
    section.notes.push_back(r.device.name + ", compute " + std::to_string(r.device.computeMajor) + "."
                            + std::to_string(r.device.computeMinor) + ", driver " + r.device.driverVersion
                            + ", runtime " + r.device.runtimeVersion);
    section.notes.push_back("NF4 block size " + std::to_string(r.blocksize) + ", median of "
                            + std::to_string(r.repetitions) + " runs timed with CUDA events"
                            + (r.measuredAt.empty() ? std::string() : ", measured at " + r.measuredAt));
    if (!readFrom.empty())
        section.notes.push_back("read from " + readFrom + ", not measured by this report");
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
    // Device facts that a result read from an older file lacks are left out rather than written as 0.
    if (r.device.multiprocessors > 0)
        out["multiprocessors"] = r.device.multiprocessors;
    if (r.device.l2CacheBytes > 0)
        out["l2_cache_bytes"] = r.device.l2CacheBytes;
    if (r.device.memoryBusWidthBits > 0)
        out["memory_bus_width_bits"] = r.device.memoryBusWidthBits;
    if (r.device.memoryClockKHz > 0)
        out["memory_clock_khz"] = r.device.memoryClockKHz;
    if (!r.measuredAt.empty())
        out["measured_at"] = r.measuredAt;
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

GpuBenchmarkResult gpuBenchmarkFromJson(const nlohmann::json& root, const std::string& source)
{
    const BenchmarkJsonReader in(source);
    if (!root.is_object())
        in.fail("(top level)", "a JSON object", root.type_name(), "the file is not a JSON object");
    if (const std::string device = in.string(root, "device", "device"); device != "cuda")
        in.fail("device", "\"cuda\"", device,
                device == "cpu" ? "this is the CPU benchmark's output; the GPU benchmark's has \"device\": \"cuda\""
                                : "this is not the GPU benchmark's output");
    GpuBenchmarkResult r;
    r.device.name = in.string(root, "name", "name");
    const std::string capability = in.string(root, "compute_capability", "compute_capability");
    if (std::sscanf(capability.c_str(), "%d.%d", &r.device.computeMajor, &r.device.computeMinor) != 2
        || r.device.computeMajor < 0 || r.device.computeMinor < 0)
        in.fail("compute_capability", "MAJOR.MINOR, like \"9.0\"", capability, "the compute capability is unreadable");
    r.device.driverVersion = in.string(root, "driver", "driver");
    r.device.runtimeVersion = in.string(root, "runtime", "runtime");
    r.device.memoryBytes = std::uint64_t(in.integer(root, "memory_bytes", "memory_bytes", 0, INT64_MAX));
    if (in.find(root, "multiprocessors"))
        r.device.multiprocessors = int(in.integer(root, "multiprocessors", "multiprocessors", 0, INT_MAX));
    if (in.find(root, "l2_cache_bytes"))
        r.device.l2CacheBytes = std::uint64_t(in.integer(root, "l2_cache_bytes", "l2_cache_bytes", 0, INT64_MAX));
    if (in.find(root, "memory_bus_width_bits"))
        r.device.memoryBusWidthBits
            = int(in.integer(root, "memory_bus_width_bits", "memory_bus_width_bits", 0, INT_MAX));
    if (in.find(root, "memory_clock_khz"))
        r.device.memoryClockKHz = in.number(root, "memory_clock_khz", "memory_clock_khz");
    if (in.find(root, "measured_at"))
        r.measuredAt = in.string(root, "measured_at", "measured_at");
    r.blocksize = int(in.integer(root, "blocksize", "blocksize", 1, 1 << 20));
    r.repetitions = int(in.integer(root, "repetitions", "repetitions", 1, INT_MAX));
    r.copyGbPerSecond = in.number(root, "copy_gb_per_second", "copy_gb_per_second");
    if (r.copyGbPerSecond <= 0)
        in.fail("copy_gb_per_second", "a bandwidth > 0", "0", "the copy bandwidth, which every fraction is of, is 0");

    const nlohmann::json& shapes = in.array(root, "shapes", "shapes");
    if (shapes.empty())
        in.fail("shapes", "at least one shape", "[]", "no shape was measured");
    for (std::size_t i = 0; i < shapes.size(); ++i) {
        const std::string path = strCat("shapes[", i, "]");
        const nlohmann::json& s = shapes[i];
        if (!s.is_object())
            in.fail(path, "an object", s.type_name(), strCat("'", path, "' is not an object"));
        GpuShapeResult shape;
        shape.rows = in.integer(s, "rows", path + ".rows", 1, INT_MAX);
        shape.cols = in.integer(s, "cols", path + ".cols", 1, INT_MAX);
        shape.dequantize = in.timing(s, "dequantize_nf4_bf16", path + ".dequantize_nf4_bf16");
        shape.dequantizeDoubleQuant = in.timing(s, "dequantize_nf4_dq_bf16", path + ".dequantize_nf4_dq_bf16");
        shape.quantize = in.timing(s, "quantize_bf16_nf4", path + ".quantize_bf16_nf4");
        shape.quantizeDoubleQuant = in.timing(s, "quantize_bf16_nf4_dq", path + ".quantize_bf16_nf4_dq");
        if (in.find(s, "same_size_copy"))
            shape.sameSizeCopy = in.timing(s, "same_size_copy", path + ".same_size_copy");
        const nlohmann::json& gemv = in.array(s, "gemv", path + ".gemv");
        for (std::size_t b = 0; b < gemv.size(); ++b) {
            const std::string g = strCat(path, ".gemv[", b, "]");
            if (!gemv[b].is_object())
                in.fail(g, "an object", gemv[b].type_name(), strCat("'", g, "' is not an object"));
            GpuGemvTiming t;
            t.batch = int(in.integer(gemv[b], "batch", g + ".batch", 1, kGemvMaxBatch));
            t.oursMilliseconds = in.number(gemv[b], "ours_milliseconds", g + ".ours_milliseconds");
            t.cublasMilliseconds = in.number(gemv[b], "cublas_bf16_milliseconds", g + ".cublas_bf16_milliseconds");
            t.speedup = in.number(gemv[b], "speedup_vs_cublas", g + ".speedup_vs_cublas");
            t.cudaCoreMilliseconds
                = in.number(gemv[b], "cuda_core_kernel_milliseconds", g + ".cuda_core_kernel_milliseconds");
            t.oursGbPerSecond = in.number(gemv[b], "ours_gb_per_second", g + ".ours_gb_per_second");
            t.maxRelativeDifference = in.number(gemv[b], "max_relative_difference", g + ".max_relative_difference");
            shape.gemv.push_back(t);
        }
        // Tables put each batch in a column named after the first shape's batches.
        const auto& first = r.shapes.empty() ? shape.gemv : r.shapes.front().gemv;
        bool sameBatches = first.size() == shape.gemv.size();
        for (std::size_t b = 0; sameBatches && b < first.size(); ++b)
            sameBatches = first[b].batch == shape.gemv[b].batch;
        if (!sameBatches)
            in.fail(path + ".gemv", "the batches of shapes[0].gemv", strCat(shape.gemv.size(), " entries"),
                    "the shapes were not measured at the same GEMV batches");
        r.shapes.push_back(shape);
    }
    return r;
}

GpuBenchmarkResult loadGpuBenchmark(const std::string& path)
{
    // A result is a few kilobytes; anything far larger is not one, and is not read into memory.
    constexpr std::uintmax_t kMaxBytes = 16u << 20;
    std::error_code error;
    if (std::filesystem::is_directory(path, error))
        throw IoError(path, "is a folder, not a benchmark result file");
    const std::uintmax_t size = std::filesystem::file_size(path, error);
    std::ifstream file(path, std::ios::binary);
    if (error || !file)
        throw IoError(path, "cannot open the benchmark result file");
    if (size > kMaxBytes)
        throw FormatError(
            {path, std::nullopt, "(file)", strCat("at most ", kMaxBytes, " bytes"), strCat(size, " bytes")},
            "too large to be a QuantLens GPU benchmark result");
    std::stringstream text;
    text << file.rdbuf();
    if (file.bad())
        throw IoError(path, "cannot read the benchmark result file");
    nlohmann::json root;
    try {
        root = nlohmann::json::parse(text.str());
    } catch (const nlohmann::json::parse_error& e) {
        throw FormatError({path, e.byte > 0 ? e.byte - 1 : 0, "(file)", "valid JSON", e.what()}, "not valid JSON");
    } catch (const nlohmann::json::exception& e) { // out_of_range: a number beyond double's range
        throw FormatError({path, std::nullopt, "(file)", "valid JSON", e.what()}, "not valid JSON");
    }
    return gpuBenchmarkFromJson(root, path);
}

std::string formatGpuBenchmark(const GpuBenchmarkResult& r)
{
    std::ostringstream out;
    out << "GPU benchmark: " << r.device.name << " (compute " << r.device.computeMajor << "." << r.device.computeMinor
        << ", driver " << r.device.driverVersion << ", runtime " << r.device.runtimeVersion << "), NF4 blocksize "
        << r.blocksize << ", median of " << r.repetitions << " runs timed with CUDA events\n";
    if (!r.measuredAt.empty())
        out << "  measured at " << r.measuredAt << "\n";
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
