#include "gpu/error_metrics.h"

#include "bnb_device.cuh"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "cuda_check.h"

#include <bit>

// Quantization error on the device: input and 4-bit tensor in, the sums of core::ErrorAccumulator
// and its |error| histogram out, so that only a few KiB cross to the host whatever the tensor
// size. Each thread reduces 8 values at a time in fp32 (as the CPU adds fp32 partials) into its
// own double sums; blocks reduce with shuffles and add to the global sums with double atomics, so
// the result matches the CPU up to the order of the double additions.
namespace quantlens::gpu {

namespace {

using core::MagnitudeHistogram;
using detail::DynamicCodes;
using detail::FourBitCodes;

constexpr int kThreads = 256;
constexpr int kBlocksPerMultiprocessor = 4;
constexpr int kSumCount = 5; // squared error, |error|, squared original, squared reconstruction, product
constexpr int kCountCount = 3; // pairs, non-finite inputs, non-finite outputs
constexpr std::size_t kScratchWords = kSumCount + 1 + kCountCount + MagnitudeHistogram::kBinCount;

// core::MagnitudeHistogram::binOf on the device: the float's exponent and top 4 mantissa bits.
__device__ __forceinline__ int histogramBin(float magnitude)
{
    constexpr std::uint32_t kLowestBits = std::uint32_t(127 + MagnitudeHistogram::kMinExponent) << 23;
    constexpr int kShift = 23 - std::countr_zero(unsigned(MagnitudeHistogram::kSubBinsPerOctave));
    const std::uint32_t bits = __float_as_uint(magnitude);
    if (bits < kLowestBits)
        return 0;
    const std::uint32_t bin = ((bits - kLowestBits) >> kShift) + 1;
    return bin < MagnitudeHistogram::kBinCount ? int(bin) : int(MagnitudeHistogram::kBinCount - 1);
}

__device__ __forceinline__ double warpSum(double v)
{
#pragma unroll
    for (int offset = 16; offset > 0; offset /= 2)
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

template <typename T, bool kDoubleQuant>
__global__ void __launch_bounds__(kThreads)
    errorKernel(const T* __restrict__ input, std::int64_t n, const std::uint8_t* __restrict__ packed, int blocksizeLog2,
                const float* __restrict__ absmax, const std::uint8_t* __restrict__ absmaxCodes,
                const float* __restrict__ nestedAbsmax, const float* __restrict__ offset, FourBitCodes codes,
                DynamicCodes dynamicCodes, double* __restrict__ sums, unsigned long long* __restrict__ counts,
                unsigned long long* __restrict__ histogram)
{
    __shared__ float code[16];
    __shared__ float dynamic[kDoubleQuant ? 256 : 1];
    __shared__ unsigned int bins[MagnitudeHistogram::kBinCount];
    __shared__ double blockSums[kThreads / 32][kSumCount + 1];
    if (threadIdx.x < 16)
        code[threadIdx.x] = codes.values[threadIdx.x];
    if constexpr (kDoubleQuant) {
        for (int i = threadIdx.x; i < 256; i += kThreads)
            dynamic[i] = dynamicCodes.values[i];
    }
    for (int i = threadIdx.x; i < int(MagnitudeHistogram::kBinCount); i += kThreads)
        bins[i] = 0;
    __syncthreads();

    double sum[kSumCount] = {};
    double maxError = 0.0;
    unsigned long long pairs = 0;
    unsigned long long badInputs = 0;
    unsigned long long badOutputs = 0;
    for (std::int64_t start = (std::int64_t(blockIdx.x) * kThreads + threadIdx.x) * 8; start < n;
         start += std::int64_t(gridDim.x) * kThreads * 8) {
        const std::int64_t left = n - start;
        const int valid = left >= 8 ? 8 : int(left);
        float x[8];
        detail::load8(input + start, valid, x);
        std::uint32_t word = 0;
        if (valid == 8)
            word = *reinterpret_cast<const std::uint32_t*>(packed + start / 2);
        else
            for (int b = 0; b < (valid + 1) / 2; ++b)
                word |= std::uint32_t(packed[start / 2 + b]) << (8 * b);
        const std::int64_t block = start >> blocksizeLog2;
        float scale;
        if constexpr (kDoubleQuant)
            scale = __fadd_rn(
                __fmul_rn(dynamic[absmaxCodes[block]], nestedAbsmax[block / FourBitTensor::kNestedBlocksize]), *offset);
        else
            scale = absmax[block];
        float partial[kSumCount] = {};
#pragma unroll
        for (int j = 0; j < 8; ++j) {
            if (j >= valid)
                break;
            const std::uint32_t byte = (word >> (8 * (j / 2))) & 0xffu;
            const float y = __fmul_rn(code[j % 2 == 0 ? byte >> 4 : byte & 0xfu], scale);
            if (!isfinite(x[j])) {
                ++badInputs;
                continue;
            }
            if (!isfinite(y)) {
                ++badOutputs;
                continue;
            }
            const float e = __fsub_rn(y, x[j]);
            const float a = fabsf(e);
            partial[0] += e * e;
            partial[1] += a;
            partial[2] += x[j] * x[j];
            partial[3] += y * y;
            partial[4] += x[j] * y;
            maxError = fmax(maxError, double(a));
            ++pairs;
            atomicAdd(&bins[histogramBin(a)], 1u);
        }
#pragma unroll
        for (int i = 0; i < kSumCount; ++i)
            sum[i] += double(partial[i]);
    }

    const int warp = threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
#pragma unroll
    for (int i = 0; i < kSumCount; ++i) {
        const double s = warpSum(sum[i]);
        if (lane == 0)
            blockSums[warp][i] = s;
    }
#pragma unroll
    for (int offsetLane = 16; offsetLane > 0; offsetLane /= 2)
        maxError = fmax(maxError, __shfl_xor_sync(0xffffffffu, maxError, offsetLane));
    if (lane == 0)
        blockSums[warp][kSumCount] = maxError;
    if (pairs)
        atomicAdd(&counts[0], pairs);
    if (badInputs)
        atomicAdd(&counts[1], badInputs);
    if (badOutputs)
        atomicAdd(&counts[2], badOutputs);
    __syncthreads();
    if (threadIdx.x <= kSumCount) {
        double total = 0.0;
        for (int w = 0; w < kThreads / 32; ++w)
            total
                = threadIdx.x < kSumCount ? total + blockSums[w][threadIdx.x] : fmax(total, blockSums[w][threadIdx.x]);
        if (threadIdx.x < kSumCount)
            atomicAdd(&sums[threadIdx.x], total);
        else // non-negative doubles order like their bit patterns
            atomicMax(reinterpret_cast<unsigned long long*>(&sums[kSumCount]),
                      static_cast<unsigned long long>(__double_as_longlong(total)));
    }
    for (int i = threadIdx.x; i < int(MagnitudeHistogram::kBinCount); i += kThreads)
        if (bins[i])
            atomicAdd(&histogram[i], static_cast<unsigned long long>(bins[i]));
}

template <typename T>
void launchError(cudaStream_t stream, const T* input, const FourBitTensor& q, DeviceBuffer& scratch)
{
    int device = 0;
    int multiprocessors = 0;
    QUANTLENS_CUDA_CHECK(cudaGetDevice(&device));
    QUANTLENS_CUDA_CHECK(cudaDeviceGetAttribute(&multiprocessors, cudaDevAttrMultiProcessorCount, device));
    const std::int64_t needed = (q.numel + kThreads * 8 - 1) / (kThreads * 8);
    const unsigned blocks
        = unsigned(std::min<std::int64_t>(needed, std::int64_t(multiprocessors) * kBlocksPerMultiprocessor));
    auto* sums = scratch.as<double>();
    auto* counts = reinterpret_cast<unsigned long long*>(sums + kSumCount + 1);
    auto* histogram = counts + kCountCount;
    const int log2 = std::countr_zero(unsigned(q.blocksize));
    if (q.doubleQuant)
        errorKernel<T, true><<<blocks, kThreads, 0, stream>>>(
            input, q.numel, q.packed.as<std::uint8_t>(), log2, nullptr, q.absmaxCodes.as<std::uint8_t>(),
            q.nestedAbsmax.as<float>(), q.offset.as<float>(), detail::fourBitCodes(q.type), detail::dynamicCodes(),
            sums, counts, histogram);
    else
        errorKernel<T, false><<<blocks, kThreads, 0, stream>>>(
            input, q.numel, q.packed.as<std::uint8_t>(), log2, q.absmax.as<float>(), nullptr, nullptr, nullptr,
            detail::fourBitCodes(q.type), detail::dynamicCodes(), sums, counts, histogram);
    detail::checkLaunch("errorKernel");
}

} // namespace

ErrorScratch::ErrorScratch()
    : m_buffer(kScratchWords * sizeof(std::uint64_t))
{
}

DeviceErrorSums measureError4bit(const Stream& stream, const DeviceBuffer& input, FloatType inputType,
                                 const FourBitTensor& quantized, ErrorScratch& scratch)
{
    if (quantized.numel <= 0 || quantized.packed.size() < std::size_t(quantized.packedBytes()))
        throw UsageError("the 4-bit tensor is not allocated: use allocateFourBit and quantize4bit");
    if (input.size() < std::size_t(quantized.numel) * floatTypeSize(inputType))
        throw UsageError(strCat("the input buffer holds ", input.size(), " bytes; ",
                                std::size_t(quantized.numel) * floatTypeSize(inputType), " are needed"));
    const auto s = static_cast<cudaStream_t>(stream.handle());
    DeviceBuffer& buffer = scratch.buffer();
    QUANTLENS_CUDA_CHECK(cudaMemsetAsync(buffer.data(), 0, buffer.size(), s));
    switch (inputType) {
    case FloatType::F32:
        launchError(s, input.as<float>(), quantized, buffer);
        break;
    case FloatType::F16:
        launchError(s, input.as<__half>(), quantized, buffer);
        break;
    case FloatType::BF16:
        launchError(s, input.as<__nv_bfloat16>(), quantized, buffer);
        break;
    }
    std::vector<std::uint64_t> words(kScratchWords);
    QUANTLENS_CUDA_CHECK(
        cudaMemcpyAsync(words.data(), buffer.data(), words.size() * sizeof(std::uint64_t), cudaMemcpyDeviceToHost, s));
    stream.synchronize();
    DeviceErrorSums result;
    result.sumSquaredError = std::bit_cast<double>(words[0]);
    result.sumAbsError = std::bit_cast<double>(words[1]);
    result.sumSquaredOriginal = std::bit_cast<double>(words[2]);
    result.sumSquaredReconstructed = std::bit_cast<double>(words[3]);
    result.sumProduct = std::bit_cast<double>(words[4]);
    result.maxAbsError = std::bit_cast<double>(words[5]);
    result.count = words[6];
    result.nonFiniteInputs = words[7];
    result.nonFiniteOutputs = words[8];
    result.errorHistogram.assign(words.begin() + 9, words.end());
    return result;
}

} // namespace quantlens::gpu
