#include "bnb_codes.cuh"
#include "bnb_device.cuh"
#include "bnb_dynamic_kernels.cuh"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <bit>
#include <cfloat>

// bitsandbytes' 8-bit blockwise quantization with the signed dynamic map
// (bitsandbytes-foundation/bitsandbytes, csrc/kernels.cu: kQuantizeBlockwise with dQuantize<0>,
// kDequantizeBlockwise), bit for bit. As in bnb_4bit.cu, each thread takes 8 (quantize) or 16
// (dequantize) consecutive elements with vector loads; the 256-entry map sits in shared memory
// because the binary search indexes it with data-dependent positions.
namespace quantlens::gpu {

namespace {

using detail::DynamicCodes;

constexpr int kDequantizeElementsPerThread = 16;

template <typename T, int kBlocksize>
__global__ void __launch_bounds__(kBlocksize / 8 > 256 ? kBlocksize / 8 : 256)
    quantizeDynamicKernel(const T* __restrict__ input, std::int64_t n, const float* __restrict__ subtract,
                          DynamicCodes table, std::uint8_t* __restrict__ codes, float* __restrict__ absmax)
{
    constexpr int kGroupThreads = kBlocksize / 8;
    __shared__ float warpMax[32];
    __shared__ float code[256];
    for (int i = threadIdx.x; i < 256; i += blockDim.x)
        code[i] = table.values[i];
    __syncthreads();
    const std::int64_t start = (std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * 8;
    const std::int64_t left = n - start;
    const int valid = left >= 8 ? 8 : (left > 0 ? int(left) : 0);
    float v[8];
    detail::load8(input + (valid > 0 ? start : 0), valid, v);
    if (subtract) {
        const float offset = *subtract;
#pragma unroll
        for (int j = 0; j < 8; ++j)
            v[j] = j < valid ? __fsub_rn(v[j], offset) : 0.0f;
    }
    // From -FLT_MAX, as bitsandbytes: a whole all-NaN block keeps it; load8's zeros past the end
    // make a partial last block's max at least 0 (the CPU quantizers do the same).
    float localMax = -FLT_MAX;
#pragma unroll
    for (int j = 0; j < 8; ++j)
        localMax = fmaxf(localMax, fabsf(v[j]));
    const float blockMax = detail::groupMax<kGroupThreads>(localMax, warpMax);
    if (threadIdx.x % kGroupThreads == 0 && start < n)
        absmax[start / kBlocksize] = blockMax;
    if (valid == 0)
        return;
    const float inverse = __fdiv_rn(1.0f, blockMax);
    std::uint8_t q[8];
#pragma unroll
    for (int j = 0; j < 8; ++j)
        q[j] = detail::encodeDynamic(code, __fmul_rn(v[j], inverse));
    std::uint8_t* out = codes + start;
    if (valid == 8) {
        uint2 word;
        word.x = q[0] | (q[1] << 8) | (q[2] << 16) | (std::uint32_t(q[3]) << 24);
        word.y = q[4] | (q[5] << 8) | (q[6] << 16) | (std::uint32_t(q[7]) << 24);
        *reinterpret_cast<uint2*>(out) = word;
    } else {
        for (int j = 0; j < valid; ++j)
            out[j] = q[j];
    }
}

template <typename TOut>
__global__ void __launch_bounds__(256)
    dequantizeDynamicKernel(const std::uint8_t* __restrict__ codes, std::int64_t n, int blocksizeLog2,
                            const float* __restrict__ absmax, DynamicCodes table, TOut* __restrict__ output)
{
    __shared__ float code[256];
    for (int i = threadIdx.x; i < 256; i += blockDim.x)
        code[i] = table.values[i];
    __syncthreads();
    const std::int64_t start = (std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * kDequantizeElementsPerThread;
    if (start >= n)
        return;
    const float scale = absmax[start >> blocksizeLog2];
    const std::int64_t left = n - start;
    if (left >= kDequantizeElementsPerThread) {
        const uint4 raw = *reinterpret_cast<const uint4*>(codes + start);
        const std::uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            float v[8];
#pragma unroll
            for (int j = 0; j < 8; ++j)
                v[j] = __fmul_rn(code[(words[2 * half + j / 4] >> (8 * (j % 4))) & 0xffu], scale);
            detail::store8(output + start + 8 * half, 8, v);
        }
    } else {
        for (std::int64_t i = 0; i < left; ++i)
            output[start + i] = detail::fromFloat<TOut>(__fmul_rn(code[codes[start + i]], scale));
    }
}

template <typename TOut> void launchDequantizeDynamic(cudaStream_t stream, const DynamicTensor& in, TOut* output)
{
    const std::int64_t threadsNeeded = (in.numel + kDequantizeElementsPerThread - 1) / kDequantizeElementsPerThread;
    dequantizeDynamicKernel<TOut><<<unsigned((threadsNeeded + 255) / 256), 256, 0, stream>>>(
        in.codes.as<std::uint8_t>(), in.numel, std::countr_zero(unsigned(in.blocksize)), in.absmax.as<float>(),
        detail::dynamicCodes(), output);
    detail::checkLaunch("dequantizeDynamicKernel");
}

void requireAllocated(const DynamicTensor& t)
{
    if (t.numel <= 0 || t.codes.size() < std::size_t(t.numel)
        || t.absmax.size() < std::size_t(t.blockCount()) * sizeof(float))
        throw UsageError("the 8-bit tensor is not allocated: use allocateDynamic");
}

void requireSize(const DeviceBuffer& buffer, std::size_t bytes, const char* what)
{
    if (buffer.size() < bytes)
        throw UsageError(strCat(what, " holds ", buffer.size(), " bytes; ", bytes, " are needed"));
}

} // namespace

namespace detail {

template <typename T>
void launchQuantizeDynamic(cudaStream_t stream, const T* input, std::int64_t n, int blocksize, const float* subtract,
                           std::uint8_t* codes, float* absmax)
{
    const std::int64_t threadsNeeded = (n + 7) / 8;
    auto launch = [&](auto kernel, int threads) {
        kernel<<<unsigned((threadsNeeded + threads - 1) / threads), threads, 0, stream>>>(
            input, n, subtract, dynamicCodes(), codes, absmax);
    };
    switch (blocksize) {
    case 64:
        launch(quantizeDynamicKernel<T, 64>, 256);
        break;
    case 128:
        launch(quantizeDynamicKernel<T, 128>, 256);
        break;
    case 256:
        launch(quantizeDynamicKernel<T, 256>, 256);
        break;
    case 512:
        launch(quantizeDynamicKernel<T, 512>, 256);
        break;
    case 1024:
        launch(quantizeDynamicKernel<T, 1024>, 256);
        break;
    case 2048:
        launch(quantizeDynamicKernel<T, 2048>, 256);
        break;
    case 4096:
        launch(quantizeDynamicKernel<T, 4096>, 512);
        break;
    default:
        throw UsageError(strCat("8-bit blocksize ", blocksize, " is not one of 64, 128, ..., 4096"));
    }
    checkLaunch("quantizeDynamicKernel");
}

template void launchQuantizeDynamic<float>(cudaStream_t, const float*, std::int64_t, int, const float*, std::uint8_t*,
                                           float*);
template void launchQuantizeDynamic<__half>(cudaStream_t, const __half*, std::int64_t, int, const float*, std::uint8_t*,
                                            float*);
template void launchQuantizeDynamic<__nv_bfloat16>(cudaStream_t, const __nv_bfloat16*, std::int64_t, int, const float*,
                                                   std::uint8_t*, float*);

} // namespace detail

DynamicTensor allocateDynamic(std::int64_t numel, int blocksize)
{
    if (numel <= 0)
        throw UsageError(strCat("an 8-bit tensor needs at least one element, not ", numel));
    if (blocksize < 64 || blocksize > 4096 || !std::has_single_bit(unsigned(blocksize)))
        throw UsageError(strCat("8-bit blocksize ", blocksize, " is not one of 64, 128, ..., 4096"));
    DynamicTensor t;
    t.numel = numel;
    t.blocksize = blocksize;
    t.codes = DeviceBuffer(std::size_t(numel));
    t.absmax = DeviceBuffer(std::size_t(t.blockCount()) * sizeof(float));
    return t;
}

void quantizeDynamic(const Stream& stream, const DeviceBuffer& input, FloatType inputType, DynamicTensor& out)
{
    requireAllocated(out);
    requireSize(input, std::size_t(out.numel) * floatTypeSize(inputType), "the input buffer");
    const auto s = static_cast<cudaStream_t>(stream.handle());
    auto* codes = out.codes.as<std::uint8_t>();
    auto* absmax = out.absmax.as<float>();
    switch (inputType) {
    case FloatType::F32:
        detail::launchQuantizeDynamic(s, input.as<float>(), out.numel, out.blocksize, nullptr, codes, absmax);
        break;
    case FloatType::F16:
        detail::launchQuantizeDynamic(s, input.as<__half>(), out.numel, out.blocksize, nullptr, codes, absmax);
        break;
    case FloatType::BF16:
        detail::launchQuantizeDynamic(s, input.as<__nv_bfloat16>(), out.numel, out.blocksize, nullptr, codes, absmax);
        break;
    }
}

void dequantizeDynamic(const Stream& stream, const DynamicTensor& in, FloatType outputType, DeviceBuffer& output)
{
    requireAllocated(in);
    requireSize(output, std::size_t(in.numel) * floatTypeSize(outputType), "the output buffer");
    const auto s = static_cast<cudaStream_t>(stream.handle());
    switch (outputType) {
    case FloatType::F32:
        launchDequantizeDynamic(s, in, output.as<float>());
        break;
    case FloatType::F16:
        launchDequantizeDynamic(s, in, output.as<__half>());
        break;
    case FloatType::BF16:
        launchDequantizeDynamic(s, in, output.as<__nv_bfloat16>());
        break;
    }
}

} // namespace quantlens::gpu
