#include "gpu/benchmark.h"

#include "bnb_device.cuh"
#include "core/util/error.h"
#include "core/util/float16.h"
#include "core/util/str_cat.h"
#include "cuda_check.h"
#include "gpu/bnb_quantize.h"
#include "gpu/device_buffer.h"
#include "gpu/nf4_gemv.h"

#include <cublas_v2.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

// The GPU benchmark. Every kernel is timed with a pair of CUDA events around each launch, after a
// warm-up, and reported as the median; inputs rotate over enough copies that the working set is
// at least three times the L2 cache, so small shapes measure memory and not the cache.
namespace quantlens::gpu {

namespace {

constexpr std::size_t kCopyBytes = std::size_t(1) << 30;
constexpr double kCacheMultiple = 3.0;
constexpr int kMaxSets = 16;

// Deterministic pseudo-normal values (mean 0, standard deviation 0.02, like LLM weights): a sum
// of four hashed uniforms. Never all zeros, which would hide unwritten outputs and run faster.
__global__ void fillKernel(__nv_bfloat16* out, std::int64_t n, std::uint64_t seed)
{
    for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
         i += std::int64_t(gridDim.x) * blockDim.x) {
        std::uint64_t z = seed + std::uint64_t(i) * 0x9e3779b97f4a7c15ull;
        float sum = 0.0f;
        for (int k = 0; k < 4; ++k) {
            z ^= z >> 30;
            z *= 0xbf58476d1ce4e5b9ull;
            z ^= z >> 27;
            z *= 0x94d049bb133111ebull;
            z ^= z >> 31;
            sum += float(z >> 40) * (1.0f / 16777216.0f);
        }
        out[i] = __float2bfloat16_rn((sum - 2.0f) * 0.02f * 1.7320508f);
    }
}

void fillRandom(cudaStream_t stream, DeviceBuffer& buffer, std::int64_t n, std::uint64_t seed)
{
    fillKernel<<<1024, 256, 0, stream>>>(buffer.as<__nv_bfloat16>(), n, seed);
    detail::checkLaunch("fillKernel");
}

void checkCublas(cublasStatus_t status, const char* call)
{
    if (status != CUBLAS_STATUS_SUCCESS)
        throw Error(strCat(call, " failed: ", cublasGetStatusString(status)));
}

class CublasHandle {
public:
    explicit CublasHandle(cudaStream_t stream)
    {
        checkCublas(cublasCreate(&m_handle), "cublasCreate");
        checkCublas(cublasSetStream(m_handle, stream), "cublasSetStream");
    }
    ~CublasHandle() { cublasDestroy(m_handle); }
    CublasHandle(const CublasHandle&) = delete;
    CublasHandle& operator=(const CublasHandle&) = delete;
    cublasHandle_t get() const { return m_handle; }

private:
    cublasHandle_t m_handle = nullptr;
};

class Event {
public:
    Event() { QUANTLENS_CUDA_CHECK(cudaEventCreate(&m_event)); }
    ~Event() { cudaEventDestroy(m_event); }
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    cudaEvent_t get() const { return m_event; }

private:
    cudaEvent_t m_event = nullptr;
};

// Median milliseconds of `launch(i)` for i = 0, 1, ... (the caller rotates buffers by i).
double medianMilliseconds(cudaStream_t stream, int warmup, int repetitions, const std::function<void(int)>& launch)
{
    for (int i = 0; i < warmup; ++i)
        launch(i);
    std::vector<Event> starts(static_cast<std::size_t>(repetitions));
    std::vector<Event> stops(static_cast<std::size_t>(repetitions));
    for (int i = 0; i < repetitions; ++i) {
        QUANTLENS_CUDA_CHECK(cudaEventRecord(starts[std::size_t(i)].get(), stream));
        launch(warmup + i);
        QUANTLENS_CUDA_CHECK(cudaEventRecord(stops[std::size_t(i)].get(), stream));
    }
    QUANTLENS_CUDA_CHECK(cudaStreamSynchronize(stream));
    std::vector<double> times;
    for (int i = 0; i < repetitions; ++i) {
        float ms = 0.0f;
        QUANTLENS_CUDA_CHECK(cudaEventElapsedTime(&ms, starts[std::size_t(i)].get(), stops[std::size_t(i)].get()));
        times.push_back(ms);
    }
    std::nth_element(times.begin(), times.begin() + long(times.size() / 2), times.end());
    return times[times.size() / 2];
}

GpuKernelTiming timing(double ms, double bytes, double elements, double copyGbPerSecond)
{
    GpuKernelTiming t;
    t.milliseconds = ms;
    t.bytesMoved = bytes;
    t.gbPerSecond = bytes / (ms * 1e-3) / 1e9;
    t.copyFraction = t.gbPerSecond / copyGbPerSecond;
    t.elementsPerSecond = elements / (ms * 1e-3);
    return t;
}

double measureCopy(cudaStream_t stream, const GpuBenchmarkOptions& options, std::size_t bytes)
{
    DeviceBuffer a(bytes);
    DeviceBuffer b(bytes);
    QUANTLENS_CUDA_CHECK(cudaMemsetAsync(a.data(), 1, bytes, stream));
    const double ms = medianMilliseconds(stream, options.warmup, options.repetitions, [&](int i) {
        if (i % 2 == 0)
            QUANTLENS_CUDA_CHECK(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, stream));
        else
            QUANTLENS_CUDA_CHECK(cudaMemcpyAsync(a.data(), b.data(), bytes, cudaMemcpyDeviceToDevice, stream));
    });
    return 2.0 * double(bytes) / (ms * 1e-3) / 1e9;
}

struct Set {
    DeviceBuffer input; // bf16 weight
    DeviceBuffer output; // bf16 dequantized weight (also cuBLAS's weight)
    FourBitTensor plain;
    FourBitTensor nested;
};

GpuShapeResult benchmarkShape(const Stream& stream, cublasHandle_t cublas, const GpuBenchmarkOptions& options,
                              const GpuBenchmarkOptions::Shape& shape, double copyGbPerSecond, std::uint64_t l2Bytes)
{
    const auto s = static_cast<cudaStream_t>(stream.handle());
    const std::int64_t n = shape.rows * shape.cols;
    const double elements = double(n);
    const int bs = options.blocksize;
    const int setCount
        = int(std::clamp<double>(std::ceil(kCacheMultiple * double(l2Bytes) / (elements / 2.0)), 1, kMaxSets));
    std::vector<Set> sets;
    for (int i = 0; i < setCount; ++i) {
        Set set;
        set.input = DeviceBuffer(std::size_t(n) * 2);
        set.output = DeviceBuffer(std::size_t(n) * 2);
        set.plain = allocateFourBit(n, bs, FourBitType::Nf4, false);
        set.nested = allocateFourBit(n, bs, FourBitType::Nf4, true);
        fillRandom(s, set.input, n, 1234 + std::uint64_t(i));
        sets.push_back(std::move(set));
    }
    auto at = [&](int i) -> Set& { return sets[std::size_t(i % setCount)]; };

    GpuShapeResult result;
    result.rows = shape.rows;
    result.cols = shape.cols;
    const double blocks = std::ceil(elements / bs);
    const double nestedBlocks = std::ceil(blocks / FourBitTensor::kNestedBlocksize);
    const double plainStats = 4.0 * blocks;
    const double nestedStats = blocks + 4.0 * nestedBlocks + 4.0;
    const double packed = elements / 2.0;
    const int w = options.warmup;
    const int r = options.repetitions;

    double ms
        = medianMilliseconds(s, w, r, [&](int i) { quantize4bit(stream, at(i).input, FloatType::BF16, at(i).plain); });
    result.quantize = timing(ms, 2.0 * elements + packed + plainStats, elements, copyGbPerSecond);
    ms = medianMilliseconds(s, w, r, [&](int i) { quantize4bit(stream, at(i).input, FloatType::BF16, at(i).nested); });
    result.quantizeDoubleQuant = timing(ms, 2.0 * elements + packed + nestedStats, elements, copyGbPerSecond);
    ms = medianMilliseconds(s, w, r,
                            [&](int i) { dequantize4bit(stream, at(i).plain, FloatType::BF16, at(i).output); });
    result.dequantize = timing(ms, packed + plainStats + 2.0 * elements, elements, copyGbPerSecond);
    ms = medianMilliseconds(s, w, r,
                            [&](int i) { dequantize4bit(stream, at(i).nested, FloatType::BF16, at(i).output); });
    result.dequantizeDoubleQuant = timing(ms, packed + nestedStats + 2.0 * elements, elements, copyGbPerSecond);
    // The same bytes through cudaMemcpy, from and to buffers that rotate like the kernels' (each set's
    // bf16 input and output hold more than half of them).
    const auto copyHalf
        = std::min(std::size_t((packed + plainStats + 2.0 * elements) / 2.0), std::size_t(n) * 2); // tiny shapes
    ms = medianMilliseconds(s, w, r, [&](int i) {
        QUANTLENS_CUDA_CHECK(
            cudaMemcpyAsync(at(i).output.data(), at(i).input.data(), copyHalf, cudaMemcpyDeviceToDevice, s));
    });
    result.sameSizeCopy = timing(ms, 2.0 * double(copyHalf), elements, copyGbPerSecond);
    // Leave every output holding the plain NF4 weight: cuBLAS multiplies with exactly our values.
    for (int i = 0; i < setCount; ++i)
        dequantize4bit(stream, sets[std::size_t(i)].plain, FloatType::BF16, sets[std::size_t(i)].output);

    for (int batch : options.batches) {
        const GemvShape gemvShape {shape.rows, shape.cols, batch};
        DeviceBuffer x(std::size_t(batch) * std::size_t(shape.cols) * 2);
        DeviceBuffer ours(std::size_t(batch) * std::size_t(shape.rows) * 2);
        DeviceBuffer theirs(std::size_t(batch) * std::size_t(shape.rows) * 2);
        fillRandom(s, x, std::int64_t(batch) * shape.cols, 99);
        const float alpha = 1.0f;
        const float beta = 0.0f;
        auto runCublas = [&](int i) {
            // Row-major y (batch x rows) = x (batch x cols) W^T, written column-major: y^T = W x^T.
            checkCublas(cublasGemmEx(cublas, CUBLAS_OP_T, CUBLAS_OP_N, int(shape.rows), batch, int(shape.cols), &alpha,
                                     at(i).output.data(), CUDA_R_16BF, int(shape.cols), x.data(), CUDA_R_16BF,
                                     int(shape.cols), &beta, theirs.data(), CUDA_R_16BF, int(shape.rows),
                                     CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                        "cublasGemmEx");
        };
        auto runOurs = [&](int i) { gemv4bit(stream, at(i).plain, gemvShape, x, FloatType::BF16, ours); };
        GpuGemvTiming g;
        g.batch = batch;
        g.oursMilliseconds = medianMilliseconds(s, w, r, runOurs);
        g.cublasMilliseconds = medianMilliseconds(s, w, r, runCublas);
        g.cudaCoreMilliseconds = medianMilliseconds(s, w, r, [&](int i) {
            gemv4bit(stream, at(i).plain, gemvShape, x, FloatType::BF16, ours, GemvKernel::CudaCore);
        });
        g.speedup = g.cublasMilliseconds / g.oursMilliseconds;
        const double bytes = packed + plainStats + 2.0 * double(batch) * double(shape.cols + shape.rows);
        g.oursGbPerSecond = bytes / (g.oursMilliseconds * 1e-3) / 1e9;
        runOurs(0);
        runCublas(0);
        stream.synchronize();
        const auto a = ours.download<std::uint16_t>();
        const auto b = theirs.download<std::uint16_t>();
        double maxDiff = 0.0;
        double maxRef = 0.0;
        for (std::size_t i = 0; i < a.size(); ++i) {
            const float fa = core::bf16ToFloat(a[i]);
            const float fb = core::bf16ToFloat(b[i]);
            maxDiff = std::max(maxDiff, double(std::fabs(fa - fb)));
            maxRef = std::max(maxRef, double(std::fabs(fb)));
        }
        g.maxRelativeDifference = maxRef > 0.0 ? maxDiff / maxRef : maxDiff;
        result.gemv.push_back(g);
    }
    return result;
}

} // namespace

GpuBenchmarkResult runGpuBenchmark(const GpuBenchmarkOptions& options, const core::ProgressSink* progress)
{
    validateGpuBenchmarkOptions(options);
    if (!available())
        throw UnsupportedError(strCat("the GPU benchmark cannot run: ", unavailableReason()));
    GpuBenchmarkResult result;
    result.device = devices().front();
    result.measuredAt = core::utcTimestamp();
    result.blocksize = options.blocksize;
    result.repetitions = options.repetitions;
    Stream stream;
    const auto s = static_cast<cudaStream_t>(stream.handle());
    CublasHandle cublas(s);
    core::Progress report;
    report.total = options.shapes.size() + 1;
    report.unit = "steps";
    report.current = "device-to-device copy";
    if (progress)
        progress->report(report);
    result.copyGbPerSecond = measureCopy(s, options, kCopyBytes);
    for (const auto& shape : options.shapes) {
        if (progress) {
            progress->throwIfCancelled();
            ++report.done;
            report.current = strCat(shape.rows, " x ", shape.cols);
            progress->report(report);
        }
        result.shapes.push_back(
            benchmarkShape(stream, cublas.get(), options, shape, result.copyGbPerSecond, result.device.l2CacheBytes));
    }
    if (progress) {
        ++report.done;
        progress->report(report);
    }
    return result;
}

} // namespace quantlens::gpu
