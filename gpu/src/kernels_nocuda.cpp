#include "core/util/error.h"
#include "gpu/benchmark.h"
#include "gpu/bnb_quantize.h"
#include "gpu/error_metrics.h"
#include "gpu/nf4_gemv.h"

#include <string>

// The kernels' API in a build without CUDA: each entry point says so; none crashes or pretends.
namespace quantlens::gpu {

namespace {

[[noreturn]] void throwBuiltWithoutCuda(const char* what)
{
    throw UnsupportedError(std::string(what) + " needs a CUDA device: this build of QuantLens was built without CUDA");
}

} // namespace

FourBitTensor allocateFourBit(std::int64_t, int, FourBitType, bool)
{
    throwBuiltWithoutCuda("4-bit quantization on the GPU");
}

void quantize4bit(const Stream&, const DeviceBuffer&, FloatType, FourBitTensor&, std::optional<float>)
{
    throwBuiltWithoutCuda("4-bit quantization on the GPU");
}

void dequantize4bit(const Stream&, const FourBitTensor&, FloatType, DeviceBuffer&)
{
    throwBuiltWithoutCuda("4-bit dequantization on the GPU");
}

DynamicTensor allocateDynamic(std::int64_t, int)
{
    throwBuiltWithoutCuda("8-bit quantization on the GPU");
}

void quantizeDynamic(const Stream&, const DeviceBuffer&, FloatType, DynamicTensor&)
{
    throwBuiltWithoutCuda("8-bit quantization on the GPU");
}

void dequantizeDynamic(const Stream&, const DynamicTensor&, FloatType, DeviceBuffer&)
{
    throwBuiltWithoutCuda("8-bit dequantization on the GPU");
}

void gemv4bit(const Stream&, const FourBitTensor&, const GemvShape&, const DeviceBuffer&, FloatType, DeviceBuffer&,
              GemvKernel)
{
    throwBuiltWithoutCuda("the 4-bit GEMV");
}

ErrorScratch::ErrorScratch()
{
    throwBuiltWithoutCuda("error metrics on the GPU");
}

DeviceErrorSums measureError4bit(const Stream&, const DeviceBuffer&, FloatType, const FourBitTensor&, ErrorScratch&)
{
    throwBuiltWithoutCuda("error metrics on the GPU");
}

GpuBenchmarkResult runGpuBenchmark(const GpuBenchmarkOptions& options, const core::ProgressSink*)
{
    validateGpuBenchmarkOptions(options);
    throwBuiltWithoutCuda("the GPU benchmark");
}

} // namespace quantlens::gpu
