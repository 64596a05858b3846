#include "bnb_codes.cuh"
#include "bnb_device.cuh"
#include "bnb_dynamic_kernels.cuh"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "cuda_check.h"

#include <bit>
#include <cfloat>

// 4-bit NF4/FP4 quantization and dequantization, in the layout of bitsandbytes' CUDA kernels
// (bitsandbytes-foundation/bitsandbytes, csrc/kernels.cu: kQuantizeBlockwise, kDequantizeBlockwise)
// and bit for bit equal to them. What we do differently, and why:
// - one thread handles 8 (quantize) or 32 (dequantize) consecutive elements with 16-byte loads
//   and stores; bitsandbytes loads 2-4 values per thread through CUB and reaches 8% (quantize) and
//   58-74% (dequantize) of an H100's copy bandwidth;
// - indices are int64_t (bitsandbytes uses int and clamps), and an unsupported blocksize throws
//   instead of silently doing nothing;
// - the mean for double quantization is reduced in a fixed order on the device, so that the same
//   input always gives the same offset (bitsandbytes' torch mean is not reproducible).
namespace quantlens::gpu {

namespace {

using detail::DynamicCodes;
using detail::FourBitCodes;

constexpr int kQuantizeElementsPerThread = 8;
constexpr int kMeanBlocks = 256;
constexpr int kMeanThreads = 256;

// Quantize: a group of blocksize / 8 threads owns one block; it finds the block's absmax, then
// each thread encodes its 8 values against 1 / absmax (bitsandbytes multiplies by the rounded
// reciprocal rather than dividing: we match that) and writes 4 packed bytes, first element high.
// Measured on the H100 (2026-11-23): two groups of 8 per thread, loaded before any arithmetic, were
// 2-3 points of the copy bandwidth faster on the large shapes and 1 point slower on 4096 x 4096,
// where this kernel is already under 50%; one group stays.
template <typename T, int kBlocksize>
__global__ void __launch_bounds__(kBlocksize / 8 > 256 ? kBlocksize / 8 : 256)
    quantize4bitKernel(const T* __restrict__ input, std::int64_t n, FourBitType type, FourBitCodes nf4Thresholds,
                       std::uint8_t* __restrict__ packed, float* __restrict__ absmax)
{
    constexpr int kGroupThreads = kBlocksize / kQuantizeElementsPerThread;
    __shared__ float warpMax[32];
    __shared__ float thresholds[16];
    if (threadIdx.x < 16)
        thresholds[threadIdx.x] = nf4Thresholds.values[threadIdx.x];
    __syncthreads();
    const std::int64_t start = (std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x) * kQuantizeElementsPerThread;
    const std::int64_t left = n - start;
    const int valid = left >= 8 ? 8 : (left > 0 ? int(left) : 0);
    float v[8];
    detail::load8(input + (valid > 0 ? start : 0), valid, v);
    // From -FLT_MAX, as bitsandbytes: a whole all-NaN block keeps it; load8's zeros past the end
    // make a partial last block's max at least 0 (the CPU quantizers do the same).
    float localMax = -FLT_MAX;
#pragma unroll
    for (int j = 0; j < 8; ++j)
        localMax = fmaxf(localMax, fabsf(v[j]));
    const float blockMax = detail::groupMax<kGroupThreads>(localMax, warpMax);
    const std::int64_t block = start / kBlocksize;
    if (threadIdx.x % kGroupThreads == 0 && start < n)
        absmax[block] = blockMax;
    if (valid == 0)
        return;
    const float inverse = __fdiv_rn(1.0f, blockMax);
    std::uint32_t word = 0;
#pragma unroll
    for (int j = 0; j < 8; j += 2) {
        const std::uint32_t hi = detail::encode4bit(type, thresholds, __fmul_rn(v[j], inverse));
        const std::uint32_t lo = detail::encode4bit(type, thresholds, __fmul_rn(v[j + 1], inverse));
        word |= ((hi << 4) | lo) << (j * 4);
    }
    std::uint8_t* out = packed + start / 2;
    if (valid == 8) {
        *reinterpret_cast<std::uint32_t*>(out) = word;
    } else {
        for (int b = 0; b < (valid + 1) / 2; ++b)
            out[b] = std::uint8_t(word >> (8 * b));
    }
}

template <typename T>
void launchQuantize4bit(cudaStream_t stream, const T* input, std::int64_t n, int blocksize, FourBitType type,
                        std::uint8_t* packed, float* absmax)
{
    const std::int64_t threadsNeeded = (n + kQuantizeElementsPerThread - 1) / kQuantizeElementsPerThread;
    auto launch = [&](auto kernel, int threads) {
        // Whole blocks per thread block: round the thread count up to a multiple of the group.
        const std::int64_t blocks = (threadsNeeded + threads - 1) / threads;
        kernel<<<dim3(unsigned(blocks)), threads, 0, stream>>>(input, n, type, detail::nf4SearchThresholds(), packed,
                                                               absmax);
    };
    switch (blocksize) {
    case 32:
        launch(quantize4bitKernel<T, 32>, 256);
        break;
    case 64:
        launch(quantize4bitKernel<T, 64>, 256);
        break;
    case 128:
        launch(quantize4bitKernel<T, 128>, 256);
        break;
    case 256:
        launch(quantize4bitKernel<T, 256>, 256);
        break;
    case 512:
        launch(quantize4bitKernel<T, 512>, 256);
        break;
    case 1024:
        launch(quantize4bitKernel<T, 1024>, 256);
        break;
    case 2048:
        launch(quantize4bitKernel<T, 2048>, 256);
        break;
    case 4096:
        launch(quantize4bitKernel<T, 4096>, 512);
        break;
    default:
        throw UsageError(strCat("4-bit blocksize ", blocksize, " is not one of 32, 64, ..., 4096"));
    }
    detail::checkLaunch("quantize4bitKernel");
}

// The mean of the absmax for double quantization, in two fixed-order passes: per-block partial
// sums in double, then one block adds them and rounds once to fp32 (or stores the caller's
// offset instead).
__global__ void __launch_bounds__(kMeanThreads)
    partialSumKernel(const float* __restrict__ values, std::int64_t n, double* __restrict__ partial)
{
    __shared__ double sums[kMeanThreads];
    double sum = 0.0;
    for (std::int64_t i = std::int64_t(blockIdx.x) * kMeanThreads + threadIdx.x; i < n;
         i += std::int64_t(kMeanThreads) * kMeanBlocks)
        sum += double(values[i]);
    sums[threadIdx.x] = sum;
    __syncthreads();
    for (int stride = kMeanThreads / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride)
            sums[threadIdx.x] += sums[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        partial[blockIdx.x] = sums[0];
}

__global__ void __launch_bounds__(kMeanBlocks) finishMeanKernel(const double* __restrict__ partial, std::int64_t n,
                                                                bool useGiven, float given, float* __restrict__ offset)
{
    __shared__ double sums[kMeanBlocks];
    sums[threadIdx.x] = partial[threadIdx.x];
    __syncthreads();
    for (int stride = kMeanBlocks / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride)
            sums[threadIdx.x] += sums[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0)
        *offset = useGiven ? given : float(sums[0] / double(n));
}

// Dequantize: a CTA owns a tile of kDequantizeTile elements; each thread takes kDequantizeGroups
// groups of 8 elements (4 packed bytes in, 8 outputs out) spaced one CTA-width apart, so that every
// warp-wide load reads 128 contiguous bytes and every warp-wide store writes 512 (bf16/fp16) or
// 1024 (fp32) contiguous bytes: whole 32-byte sectors, never half-written ones. All the loads of a
// thread are issued before any arithmetic, to keep several independent reads in flight per thread.
// An earlier layout (one thread writing 64 contiguous bytes as four 16-byte stores, so each warp store
// touched half of 32 different sectors) reached 47-60% of the copy bandwidth on an H100. Two groups
// per thread instead of four (H100, 2026-11-23): +1.3 to +1.8 points without DQ on the large shapes,
// +0.1 on 4096 x 4096, and -0.2 to -0.7 with DQ; eight were 1-3 points slower.
// With DQ the scale itself is decoded first: dynamic[code] * nested + offset, as two roundings
// (bitsandbytes dequantizes the absmax with one kernel and adds the offset with another, so no fused
// multiply-add).
constexpr int kDequantizeThreads = 256;
constexpr int kDequantizeGroups = 2;
constexpr std::int64_t kDequantizeTile = std::int64_t(kDequantizeThreads) * 8 * kDequantizeGroups;

template <bool kDoubleQuant>
__device__ __forceinline__ float blockScale(std::int64_t block, const float* __restrict__ absmax,
                                            const std::uint8_t* __restrict__ absmaxCodes,
                                            const float* __restrict__ nestedAbsmax, const float* dynamic, float offset)
{
    if constexpr (kDoubleQuant)
        return __fadd_rn(__fmul_rn(dynamic[absmaxCodes[block]], nestedAbsmax[block / FourBitTensor::kNestedBlocksize]),
                         offset);
    else
        return absmax[block];
}

template <typename TOut, bool kDoubleQuant>
__global__ void __launch_bounds__(kDequantizeThreads)
    dequantize4bitKernel(const std::uint8_t* __restrict__ packed, std::int64_t n, int blocksizeLog2,
                         const float* __restrict__ absmax, const std::uint8_t* __restrict__ absmaxCodes,
                         const float* __restrict__ nestedAbsmax, const float* __restrict__ offsetPointer,
                         FourBitCodes codes, DynamicCodes dynamicCodes, TOut* __restrict__ output)
{
    __shared__ float code[16];
    __shared__ float dynamic[kDoubleQuant ? 256 : 1];
    if (threadIdx.x < 16)
        code[threadIdx.x] = codes.values[threadIdx.x];
    if constexpr (kDoubleQuant) {
        for (int i = threadIdx.x; i < 256; i += blockDim.x)
            dynamic[i] = dynamicCodes.values[i];
    }
    __syncthreads();
    const float offset = kDoubleQuant ? *offsetPointer : 0.0f;
    const std::int64_t tileStart = std::int64_t(blockIdx.x) * kDequantizeTile;
    if (tileStart + kDequantizeTile <= n) {
        std::uint32_t words[kDequantizeGroups];
        float scales[kDequantizeGroups];
#pragma unroll
        for (int g = 0; g < kDequantizeGroups; ++g) {
            const std::int64_t e = tileStart + (std::int64_t(g) * kDequantizeThreads + threadIdx.x) * 8;
            words[g] = __ldcs(reinterpret_cast<const unsigned int*>(packed + e / 2));
        }
#pragma unroll
        for (int g = 0; g < kDequantizeGroups; ++g) {
            const std::int64_t e = tileStart + (std::int64_t(g) * kDequantizeThreads + threadIdx.x) * 8;
            scales[g]
                = blockScale<kDoubleQuant>(e >> blocksizeLog2, absmax, absmaxCodes, nestedAbsmax, dynamic, offset);
        }
#pragma unroll
        for (int g = 0; g < kDequantizeGroups; ++g) {
            const std::int64_t e = tileStart + (std::int64_t(g) * kDequantizeThreads + threadIdx.x) * 8;
            float v[8];
#pragma unroll
            for (int b = 0; b < 4; ++b) {
                const std::uint32_t byte = (words[g] >> (8 * b)) & 0xffu;
                v[2 * b] = __fmul_rn(code[byte >> 4], scales[g]);
                v[2 * b + 1] = __fmul_rn(code[byte & 0xfu], scales[g]);
            }
            detail::store8Streaming(output + e, v);
        }
        return;
    }
    // The last, partial tile: one element per thread and step.
    const std::int64_t end = n < tileStart + kDequantizeTile ? n : tileStart + kDequantizeTile;
    for (std::int64_t i = tileStart + threadIdx.x; i < end; i += kDequantizeThreads) {
        const std::uint8_t byte = packed[i / 2];
        const int q = (i % 2 == 0) ? (byte >> 4) : (byte & 0xf);
        const float scale
            = blockScale<kDoubleQuant>(i >> blocksizeLog2, absmax, absmaxCodes, nestedAbsmax, dynamic, offset);
        output[i] = detail::fromFloat<TOut>(__fmul_rn(code[q], scale));
    }
}

template <typename TOut> void launchDequantize4bit(cudaStream_t stream, const FourBitTensor& in, TOut* output)
{
    const unsigned blocks = unsigned((in.numel + kDequantizeTile - 1) / kDequantizeTile);
    const int log2 = std::countr_zero(unsigned(in.blocksize));
    const FourBitCodes codes = detail::fourBitCodes(in.type);
    const DynamicCodes dynamic = detail::dynamicCodes();
    if (in.doubleQuant)
        dequantize4bitKernel<TOut, true><<<blocks, kDequantizeThreads, 0, stream>>>(
            in.packed.as<std::uint8_t>(), in.numel, log2, nullptr, in.absmaxCodes.as<std::uint8_t>(),
            in.nestedAbsmax.as<float>(), in.offset.as<float>(), codes, dynamic, output);
    else
        dequantize4bitKernel<TOut, false><<<blocks, kDequantizeThreads, 0, stream>>>(
            in.packed.as<std::uint8_t>(), in.numel, log2, in.absmax.as<float>(), nullptr, nullptr, nullptr, codes,
            dynamic, output);
    detail::checkLaunch("dequantize4bitKernel");
}

void requireSize(const DeviceBuffer& buffer, std::size_t bytes, const char* what)
{
    if (buffer.size() < bytes)
        throw UsageError(strCat(what, " holds ", buffer.size(), " bytes; ", bytes, " are needed"));
}

} // namespace

void detail::requireAllocated(const FourBitTensor& t)
{
    if (t.numel <= 0 || t.packed.size() < std::size_t(t.packedBytes())
        || t.absmax.size() < std::size_t(t.blockCount()) * sizeof(float))
        throw UsageError("the 4-bit tensor is not allocated: use allocateFourBit");
    if (t.doubleQuant
        && (t.absmaxCodes.size() < std::size_t(t.blockCount()) || t.offset.size() < sizeof(float)
            || t.scratch.size() < kMeanBlocks * sizeof(double)))
        throw UsageError("the double-quantized 4-bit tensor is not allocated: use allocateFourBit");
}

FourBitTensor allocateFourBit(std::int64_t numel, int blocksize, FourBitType type, bool doubleQuant)
{
    if (numel <= 0)
        throw UsageError(strCat("a 4-bit tensor needs at least one element, not ", numel));
    if (blocksize < 32 || blocksize > 4096 || !std::has_single_bit(unsigned(blocksize)))
        throw UsageError(strCat("4-bit blocksize ", blocksize, " is not one of 32, 64, ..., 4096"));
    FourBitTensor t;
    t.numel = numel;
    t.blocksize = blocksize;
    t.type = type;
    t.doubleQuant = doubleQuant;
    t.packed = DeviceBuffer(std::size_t(t.packedBytes()));
    t.absmax = DeviceBuffer(std::size_t(t.blockCount()) * sizeof(float));
    if (doubleQuant) {
        const std::int64_t nested
            = (t.blockCount() + FourBitTensor::kNestedBlocksize - 1) / FourBitTensor::kNestedBlocksize;
        t.absmaxCodes = DeviceBuffer(std::size_t(t.blockCount()));
        t.nestedAbsmax = DeviceBuffer(std::size_t(nested) * sizeof(float));
        t.offset = DeviceBuffer(sizeof(float));
        t.scratch = DeviceBuffer(kMeanBlocks * sizeof(double));
    }
    return t;
}

void quantize4bit(const Stream& stream, const DeviceBuffer& input, FloatType inputType, FourBitTensor& out,
                  std::optional<float> dqOffset)
{
    detail::requireAllocated(out);
    requireSize(input, std::size_t(out.numel) * floatTypeSize(inputType), "the input buffer");
    const auto s = static_cast<cudaStream_t>(stream.handle());
    auto* packed = out.packed.as<std::uint8_t>();
    auto* absmax = out.absmax.as<float>();
    switch (inputType) {
    case FloatType::F32:
        launchQuantize4bit(s, input.as<float>(), out.numel, out.blocksize, out.type, packed, absmax);
        break;
    case FloatType::F16:
        launchQuantize4bit(s, input.as<__half>(), out.numel, out.blocksize, out.type, packed, absmax);
        break;
    case FloatType::BF16:
        launchQuantize4bit(s, input.as<__nv_bfloat16>(), out.numel, out.blocksize, out.type, packed, absmax);
        break;
    }
    if (!out.doubleQuant)
        return;
    const std::int64_t blocks = out.blockCount();
    partialSumKernel<<<kMeanBlocks, kMeanThreads, 0, s>>>(absmax, blocks, out.scratch.as<double>());
    detail::checkLaunch("partialSumKernel");
    finishMeanKernel<<<1, kMeanBlocks, 0, s>>>(out.scratch.as<double>(), blocks, dqOffset.has_value(),
                                               dqOffset.value_or(0.0f), out.offset.as<float>());
    detail::checkLaunch("finishMeanKernel");
    detail::launchQuantizeDynamic(s, absmax, blocks, FourBitTensor::kNestedBlocksize, out.offset.as<float>(),
                                  out.absmaxCodes.as<std::uint8_t>(), out.nestedAbsmax.as<float>());
}

void dequantize4bit(const Stream& stream, const FourBitTensor& in, FloatType outputType, DeviceBuffer& output)
{
    detail::requireAllocated(in);
    requireSize(output, std::size_t(in.numel) * floatTypeSize(outputType), "the output buffer");
    const auto s = static_cast<cudaStream_t>(stream.handle());
    switch (outputType) {
    case FloatType::F32:
        launchDequantize4bit(s, in, output.as<float>());
        break;
    case FloatType::F16:
        launchDequantize4bit(s, in, output.as<__half>());
        break;
    case FloatType::BF16:
        launchDequantize4bit(s, in, output.as<__nv_bfloat16>());
        break;
    }
}

} // namespace quantlens::gpu
