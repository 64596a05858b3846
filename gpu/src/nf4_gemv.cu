#include "gpu/nf4_gemv.h"

#include "bnb_device.cuh"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <bit>

// The fused 4-bit GEMV. bitsandbytes' kgemm_4bit_inference_naive (csrc/kernels.cu) handles one
// activation row, so batch 16 means 16 passes over the weight; on an H100 it is only 1.45-1.6x
// faster than cuBLAS bf16 at batch 1 and slower at batch 16. Here one warp owns kRows output
// rows and every activation row at once: each lane reads 16 packed bytes (32 weights) per row with
// one load, two chunks ahead, decodes them in registers (code[q] * absmax, the same fp32 values
// dequantize4bit writes) and feeds all batch rows from that one decode, so the weight crosses
// memory once whatever the batch. Accumulation is fp32; lanes are reduced with shuffles.
namespace quantlens::gpu {

namespace {

using detail::FourBitCodes;

constexpr int kGemvThreads = 128;
constexpr int kChunk = 32; // weights per lane per load
constexpr int kUnroll = 2; // chunks in flight per lane and row

template <typename TAct, int kBatch, int kRows>
__global__ void __launch_bounds__(kGemvThreads)
    gemv4bitKernel(const std::uint8_t* __restrict__ packed, const float* __restrict__ absmax, int blocksizeLog2,
                   std::int64_t rows, std::int64_t cols, const TAct* __restrict__ x, int batch, TAct* __restrict__ y,
                   FourBitCodes codes)
{
    __shared__ float code[16];
    if (threadIdx.x < 16)
        code[threadIdx.x] = codes.values[threadIdx.x];
    __syncthreads();
    const int lane = threadIdx.x % 32;
    const std::int64_t warp = (std::int64_t(blockIdx.x) * kGemvThreads + threadIdx.x) / 32;
    const std::int64_t firstRow = warp * kRows;
    if (firstRow >= rows)
        return;
    float acc[kRows][kBatch];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
        for (int b = 0; b < kBatch; ++b)
            acc[r][b] = 0.0f;

    constexpr std::int64_t kStride = std::int64_t(32) * kChunk;
    for (std::int64_t k0 = std::int64_t(lane) * kChunk; k0 < cols; k0 += kStride * kUnroll) {
        uint4 weights[kUnroll][kRows];
        float scale[kUnroll][kRows];
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            const std::int64_t k = k0 + u * kStride;
#pragma unroll
            for (int r = 0; r < kRows; ++r) {
                // Rows past the end repeat the last row; their sums are never stored.
                const std::int64_t row = firstRow + r < rows ? firstRow + r : rows - 1;
                const std::int64_t index = row * cols + (k < cols ? k : 0);
                weights[u][r] = *reinterpret_cast<const uint4*>(packed + index / 2);
                scale[u][r] = k < cols ? absmax[index >> blocksizeLog2] : 0.0f;
            }
        }
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            const std::int64_t k = k0 + u * kStride;
            if (k >= cols)
                break;
#pragma unroll
            for (int s = 0; s < 4; ++s) {
                float w[kRows][8];
#pragma unroll
                for (int r = 0; r < kRows; ++r) {
                    const uint4& q = weights[u][r];
                    const std::uint32_t word = s == 0 ? q.x : (s == 1 ? q.y : (s == 2 ? q.z : q.w));
#pragma unroll
                    for (int j = 0; j < 4; ++j) {
                        const std::uint32_t byte = (word >> (8 * j)) & 0xffu;
                        w[r][2 * j] = __fmul_rn(code[byte >> 4], scale[u][r]);
                        w[r][2 * j + 1] = __fmul_rn(code[byte & 0xfu], scale[u][r]);
                    }
                }
#pragma unroll
                for (int b = 0; b < kBatch; ++b) {
                    if (b < batch) {
                        float a[8];
                        detail::load8(x + b * cols + k + 8 * s, 8, a);
#pragma unroll
                        for (int r = 0; r < kRows; ++r)
#pragma unroll
                            for (int j = 0; j < 8; ++j)
                                acc[r][b] = fmaf(w[r][j], a[j], acc[r][b]);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
#pragma unroll
        for (int b = 0; b < kBatch; ++b) {
            float v = acc[r][b];
#pragma unroll
            for (int offset = 16; offset > 0; offset /= 2)
                v += __shfl_xor_sync(0xffffffffu, v, offset);
            if (lane == 0 && b < batch && firstRow + r < rows)
                y[b * rows + firstRow + r] = detail::fromFloat<TAct>(v);
        }
    }
}

template <typename TAct, int kBatch, int kRows>
void launchGemv(cudaStream_t stream, const FourBitTensor& weight, const GemvShape& shape, const TAct* x, TAct* y)
{
    const std::int64_t warps = (shape.rows + kRows - 1) / kRows;
    const std::int64_t blocks = (warps * 32 + kGemvThreads - 1) / kGemvThreads;
    gemv4bitKernel<TAct, kBatch, kRows><<<unsigned(blocks), kGemvThreads, 0, stream>>>(
        weight.packed.as<std::uint8_t>(), weight.absmax.as<float>(), std::countr_zero(unsigned(weight.blocksize)),
        shape.rows, shape.cols, x, shape.batch, y, detail::fourBitCodes(weight.type));
    detail::checkLaunch("gemv4bitKernel");
}

// Fewer rows per warp at batch 1-2 keep enough warps in flight for small matrices; more rows at
// larger batches reuse each activation load for more weights.
template <typename TAct>
void dispatchGemv(cudaStream_t stream, const FourBitTensor& weight, const GemvShape& shape, const TAct* x, TAct* y)
{
    if (shape.batch <= 1)
        launchGemv<TAct, 1, 2>(stream, weight, shape, x, y);
    else if (shape.batch <= 2)
        launchGemv<TAct, 2, 2>(stream, weight, shape, x, y);
    else if (shape.batch <= 4)
        launchGemv<TAct, 4, 4>(stream, weight, shape, x, y);
    else if (shape.batch <= 8)
        launchGemv<TAct, 8, 4>(stream, weight, shape, x, y);
    else
        launchGemv<TAct, 16, 4>(stream, weight, shape, x, y);
}

} // namespace

void gemv4bit(const Stream& stream, const FourBitTensor& weight, const GemvShape& shape, const DeviceBuffer& x,
              FloatType activationType, DeviceBuffer& y)
{
    if (shape.batch < 1 || shape.batch > kGemvMaxBatch)
        throw UsageError(strCat("GEMV batch ", shape.batch, " is outside 1 ... ", kGemvMaxBatch));
    if (shape.rows <= 0 || shape.cols <= 0 || weight.numel != shape.rows * shape.cols)
        throw UsageError(strCat("GEMV shape ", shape.rows, " x ", shape.cols, " does not match the weight's ",
                                weight.numel, " elements"));
    if (shape.cols % kChunk != 0 || shape.cols % weight.blocksize != 0)
        throw UnsupportedError(strCat("GEMV needs the column count (", shape.cols, ") to be a multiple of 32 and of",
                                      " the blocksize (", weight.blocksize, ")"));
    if (weight.doubleQuant)
        throw UnsupportedError("GEMV reads plain fp32 absmax: quantize the weight without double quantization");
    if (activationType == FloatType::F32)
        throw UnsupportedError("GEMV activations must be fp16 or bf16, not fp32");
    const std::size_t elementBytes = floatTypeSize(activationType);
    if (x.size() < std::size_t(shape.batch * shape.cols) * elementBytes)
        throw UsageError(strCat("the activation buffer holds ", x.size(), " bytes; ",
                                std::size_t(shape.batch * shape.cols) * elementBytes, " are needed"));
    if (y.size() < std::size_t(shape.batch * shape.rows) * elementBytes)
        throw UsageError(strCat("the output buffer holds ", y.size(), " bytes; ",
                                std::size_t(shape.batch * shape.rows) * elementBytes, " are needed"));
    const auto s = static_cast<cudaStream_t>(stream.handle());
    if (activationType == FloatType::BF16)
        dispatchGemv(s, weight, shape, x.as<__nv_bfloat16>(), y.as<__nv_bfloat16>());
    else
        dispatchGemv(s, weight, shape, x.as<__half>(), y.as<__half>());
}

} // namespace quantlens::gpu
