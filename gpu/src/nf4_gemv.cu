#include "gpu/nf4_gemv.h"

#include "bnb_device.cuh"
#include "core/util/error.h"
#include "core/util/float16.h"
#include "core/util/str_cat.h"

#include <bit>
#include <type_traits>

// The fused 4-bit GEMVs. bitsandbytes' kgemm_4bit_inference_naive (csrc/kernels.cu) handles one
// activation row, so batch 16 means 16 passes over the weight; on an H100 it is only 1.45-1.6x
// faster than cuBLAS bf16 at batch 1 and slower at batch 16. Here every kernel reads the weight
// once for all activation rows (1 ... 16) and never writes it out:
// - gemv4bitKernel (GemvKernel::CudaCore): one warp owns kRows output rows; each lane decodes 32
//   weights per load to fp32 (code[q] * absmax, the values dequantize4bit writes) and feeds every
//   batch row with FMAs;
// - gemv4bitMmaKernel (tensor cores, blocksize 32): the same decode rounded to the activation type,
//   multiplied on mma.sync with the batch rows as N;
// - gemv4bitStreamKernel (tensor cores, blocksize >= 64, the default): codes decoded from registers
//   with prmt and each block's absmax applied once per 64-wide step (see below).
// Accumulation is fp32 throughout.
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

// The tensor-core GEMV. The CUDA-core kernel above spends 16 FMAs per weight at batch 16 and
// fell to 0.2-0.3x of cuBLAS there; here the product runs on mma.sync.m16n8k16 (bf16 or fp16 in,
// fp32 accumulate) with batch rows as the N dimension, so batch 1 ... 16 cost the same arithmetic
// pass and the kernel stays bound by reading the 4-bit weight. A block of kMmaWarps warps owns 16
// output rows and splits K between its warps (more warps in flight for short matrices), then
// adds the warps' partial sums through shared memory.
//
// Fragment layout (PTX ISA, mma.m16n8k16, groupID g = lane / 4, t = lane % 4): A holds rows g and
// g + 8 at k slots {2t, 2t + 1, 2t + 8, 2t + 9}; B holds batch row g at the same k slots; C holds
// rows g, g + 8 at batch rows 2t, 2t + 1. A dot product may take its k in any order as long as A
// and B agree, so thread t owns the 32 consecutive k [kc + 32t, kc + 32t + 32) of a 128-wide
// chunk: one 16-byte load of packed weights per row, four of activations per batch row, and
// mma m (0 ... 7) takes k 4m ... 4m + 3 of that range. Weights are decoded as code[q] * absmax in
// fp32 and rounded to the activation type: the values dequantize4bit writes in that type.
template <typename TAct> __device__ __forceinline__ std::uint32_t packPair(float lo, float hi)
{
    const TAct a = detail::fromFloat<TAct>(lo);
    const TAct b = detail::fromFloat<TAct>(hi);
    return std::uint32_t(*reinterpret_cast<const std::uint16_t*>(&a))
        | (std::uint32_t(*reinterpret_cast<const std::uint16_t*>(&b)) << 16);
}

template <typename TAct>
__device__ __forceinline__ void mma16816(float (&c)[4], const std::uint32_t (&a)[4], std::uint32_t b0, std::uint32_t b1)
{
    if constexpr (std::is_same_v<TAct, __nv_bfloat16>)
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                     "{%8, %9}, {%0, %1, %2, %3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
    else
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
                     "{%8, %9}, {%0, %1, %2, %3};\n"
                     : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

constexpr int kMmaWarps = 8;
constexpr int kMmaChunk = 128; // k per warp step: 4 threads x 32

template <typename TAct, int kTiles>
__global__ void __launch_bounds__(kMmaWarps * 32)
    gemv4bitMmaKernel(const std::uint8_t* __restrict__ packed, const float* __restrict__ absmax, int blocksizeLog2,
                      std::int64_t rows, std::int64_t cols, const TAct* __restrict__ x, int batch, TAct* __restrict__ y,
                      FourBitCodes codes)
{
    __shared__ float code[16];
    __shared__ float partial[kMmaWarps][32][4 * kTiles];
    if (threadIdx.x < 16)
        code[threadIdx.x] = codes.values[threadIdx.x];
    __syncthreads();
    const int warp = threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    const int g = lane / 4;
    const int t = lane % 4;
    const std::int64_t firstRow = std::int64_t(blockIdx.x) * 16;
    const std::int64_t rowA = firstRow + g < rows ? firstRow + g : rows - 1;
    const std::int64_t rowB = firstRow + g + 8 < rows ? firstRow + g + 8 : rows - 1;
    float c[kTiles][4] = {};
    // One step's operands. The next step's loads are issued before this step's mma (a register
    // double buffer), so that each warp keeps two 128-wide chunks of weights in flight.
    struct Stage {
        uint4 wa;
        uint4 wb;
        float scaleA;
        float scaleB;
        uint4 act[kTiles][4];
    };
    auto load = [&](Stage& st, std::int64_t kc) {
        const std::int64_t k = kc + 32 * t;
        const bool valid = k < cols; // cols is a multiple of 32: a thread's range is all in or all out
        st.wa = make_uint4(0, 0, 0, 0);
        st.wb = make_uint4(0, 0, 0, 0);
        st.scaleA = 0.0f;
        st.scaleB = 0.0f;
        if (valid) {
            const std::int64_t ia = rowA * cols + k;
            const std::int64_t ib = rowB * cols + k;
            st.wa = __ldcs(reinterpret_cast<const uint4*>(packed + ia / 2));
            st.wb = __ldcs(reinterpret_cast<const uint4*>(packed + ib / 2));
            st.scaleA = absmax[ia >> blocksizeLog2];
            st.scaleB = absmax[ib >> blocksizeLog2];
        }
#pragma unroll
        for (int tile = 0; tile < kTiles; ++tile) {
            const int b = tile * 8 + g;
#pragma unroll
            for (int q = 0; q < 4; ++q)
                st.act[tile][q] = valid && b < batch
                    ? *reinterpret_cast<const uint4*>(x + std::int64_t(b) * cols + k + 8 * q)
                    : make_uint4(0, 0, 0, 0);
        }
    };
    auto multiply = [&](const Stage& st) {
        const std::uint32_t wordsA[4] = {st.wa.x, st.wa.y, st.wa.z, st.wa.w};
        const std::uint32_t wordsB[4] = {st.wb.x, st.wb.y, st.wb.z, st.wb.w};
#pragma unroll
        for (int m = 0; m < 8; ++m) {
            // mma m takes packed bytes 2m (k 4m, 4m + 1) and 2m + 1 (k 4m + 2, 4m + 3).
            const std::uint32_t bytesA = (wordsA[m / 2] >> (16 * (m % 2))) & 0xffffu;
            const std::uint32_t bytesB = (wordsB[m / 2] >> (16 * (m % 2))) & 0xffffu;
            const float sa = st.scaleA;
            const float sb = st.scaleB;
            std::uint32_t a[4];
            a[0] = packPair<TAct>(__fmul_rn(code[(bytesA >> 4) & 0xf], sa), __fmul_rn(code[bytesA & 0xf], sa));
            a[1] = packPair<TAct>(__fmul_rn(code[(bytesB >> 4) & 0xf], sb), __fmul_rn(code[bytesB & 0xf], sb));
            a[2] = packPair<TAct>(__fmul_rn(code[bytesA >> 12], sa), __fmul_rn(code[(bytesA >> 8) & 0xf], sa));
            a[3] = packPair<TAct>(__fmul_rn(code[bytesB >> 12], sb), __fmul_rn(code[(bytesB >> 8) & 0xf], sb));
#pragma unroll
            for (int tile = 0; tile < kTiles; ++tile) {
                const uint4& v = st.act[tile][m / 2];
                mma16816<TAct>(c[tile], a, m % 2 == 0 ? v.x : v.z, m % 2 == 0 ? v.y : v.w);
            }
        }
    };
    constexpr std::int64_t kStride = std::int64_t(kMmaWarps) * kMmaChunk;
    Stage current;
    load(current, std::int64_t(warp) * kMmaChunk);
    for (std::int64_t kc = std::int64_t(warp) * kMmaChunk; kc < cols; kc += kStride) {
        Stage next;
        load(next, kc + kStride);
        multiply(current);
        current = next;
    }
#pragma unroll
    for (int tile = 0; tile < kTiles; ++tile)
#pragma unroll
        for (int i = 0; i < 4; ++i)
            partial[warp][lane][tile * 4 + i] = c[tile][i];
    __syncthreads();
    if (warp != 0)
        return;
#pragma unroll
    for (int tile = 0; tile < kTiles; ++tile) {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            float sum = 0.0f;
#pragma unroll
            for (int w = 0; w < kMmaWarps; ++w)
                sum += partial[w][lane][tile * 4 + i];
            const std::int64_t row = firstRow + g + (i >= 2 ? 8 : 0);
            const int b = tile * 8 + 2 * t + (i % 2);
            if (row < rows && b < batch)
                y[std::int64_t(b) * rows + row] = detail::fromFloat<TAct>(sum);
        }
    }
}

template <typename TAct>
void launchGemvMma(cudaStream_t stream, const FourBitTensor& weight, const GemvShape& shape, const TAct* x, TAct* y)
{
    const unsigned blocks = unsigned((shape.rows + 15) / 16);
    const int log2 = std::countr_zero(unsigned(weight.blocksize));
    if (shape.batch <= 8)
        gemv4bitMmaKernel<TAct, 1><<<blocks, kMmaWarps * 32, 0, stream>>>(
            weight.packed.as<std::uint8_t>(), weight.absmax.as<float>(), log2, shape.rows, shape.cols, x, shape.batch,
            y, detail::fourBitCodes(weight.type));
    else
        gemv4bitMmaKernel<TAct, 2><<<blocks, kMmaWarps * 32, 0, stream>>>(
            weight.packed.as<std::uint8_t>(), weight.absmax.as<float>(), log2, shape.rows, shape.cols, x, shape.batch,
            y, detail::fourBitCodes(weight.type));
    detail::checkLaunch("gemv4bitMmaKernel");
}

// The streaming tensor-core GEMV (blocksize >= 64; the kernel above handles blocksize 32). Measured
// on the H100 with ncu, the kernel above issued 7 instructions per weight: a shared-memory code
// lookup, an fp32 multiply by absmax and a conversion per weight, and it reached 1.1-1.3 TB/s.
// Here a step is one 64-wide k range of a row, which lies inside one absmax block, so:
// - the mma multiplies the unscaled codes, rounded once to the activation type, and each step's
//   fp32 partial sums are scaled by the rows' absmax afterwards (one FMA per 8 weights and lane);
// - the 16-entry table lives in eight registers (low and high bytes of the 16-bit codes): prmt
//   picks the bytes of four nibbles at a time, a mask built from the nibbles' top bits chooses
//   between the table's halves, and two more prmt interleave bytes into the mma's 16-bit pairs:
//   about 2.6 integer instructions per weight, no shared-memory traffic.
// Thread t of a quad takes bytes 8t ... 8t + 7 of the step's 32 (k 16t ... 16t + 15); mma m takes
// its nibbles 4m ... 4m + 3, so each mma's k all come from one block. A warp owns kMTiles x 16 rows
// and a contiguous range of steps, kept kUnroll steps ahead in registers; the block's warps split
// K and add their partial sums through shared memory.
struct CodeBytes {
    std::uint32_t low[4]; // byte i: low byte of the 16-bit code i
    std::uint32_t high[4]; // byte i: high byte
};

CodeBytes codeBytes(const FourBitCodes& codes, FloatType activation)
{
    std::uint8_t low[16];
    std::uint8_t high[16];
    for (int i = 0; i < 16; ++i) {
        const std::uint16_t bits
            = activation == FloatType::BF16 ? core::floatToBf16(codes.values[i]) : core::floatToFp16(codes.values[i]);
        low[i] = std::uint8_t(bits & 0xffu);
        high[i] = std::uint8_t(bits >> 8);
    }
    CodeBytes table {};
    for (int i = 0; i < 16; ++i) {
        table.low[i / 4] |= std::uint32_t(low[i]) << (8 * (i % 4));
        table.high[i / 4] |= std::uint32_t(high[i]) << (8 * (i % 4));
    }
    return table;
}

__device__ __forceinline__ std::uint32_t prmt(std::uint32_t a, std::uint32_t b, std::uint32_t selector)
{
    std::uint32_t d;
    asm("prmt.b32 %0, %1, %2, %3;" : "=r"(d) : "r"(a), "r"(b), "r"(selector));
    return d;
}

// Four nibbles (the low 16 bits of `nibbles`, top bits cleared; `topBits` has 0xff in byte i where
// nibble i is 8 ... 15) -> the codes of elements 0, 1 (in `first`) and 2, 3 (in `second`), first
// element in the low half. The halfword holds bytes (e0 << 4 | e1), (e2 << 4 | e3): nibble i of
// the selector is e1, e0, e3, e2 for i = 0 ... 3.
__device__ __forceinline__ void decodeFour(const CodeBytes& table, std::uint32_t nibbles, std::uint32_t topBits,
                                           std::uint32_t& first, std::uint32_t& second)
{
    const std::uint32_t lowLow = prmt(table.low[0], table.low[1], nibbles);
    const std::uint32_t lowHigh = prmt(table.low[2], table.low[3], nibbles);
    const std::uint32_t highLow = prmt(table.high[0], table.high[1], nibbles);
    const std::uint32_t highHigh = prmt(table.high[2], table.high[3], nibbles);
    const std::uint32_t low = (lowLow & ~topBits) | (lowHigh & topBits);
    const std::uint32_t high = (highLow & ~topBits) | (highHigh & topBits);
    first = prmt(low, high, 0x4051); // low byte 1, high byte 1, low byte 0, high byte 0: e0, e1
    second = prmt(low, high, 0x6273); // e2, e3
}

template <typename TAct, int kTiles, int kMTiles, int kWarps, int kUnroll>
__global__ void __launch_bounds__(kWarps * 32)
    gemv4bitStreamKernel(const std::uint8_t* __restrict__ packed, const float* __restrict__ absmax, int blocksizeLog2,
                         std::int64_t rows, std::int64_t cols, const TAct* __restrict__ x, int batch,
                         TAct* __restrict__ y, CodeBytes table)
{
    constexpr int kOutputs = 4 * kTiles * kMTiles;
    __shared__ float partial[kWarps][32][kOutputs];
    const int warp = threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    const int g = lane / 4;
    const int t = lane % 4;
    const std::int64_t firstRow = std::int64_t(blockIdx.x) * 16 * kMTiles;
    const std::uint8_t* rowBytes[kMTiles][2];
    const float* rowScales[kMTiles][2];
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            // Rows past the end repeat the last row; their sums are never stored.
            const std::int64_t wanted = firstRow + mt * 16 + g + 8 * h;
            const std::int64_t row = wanted < rows ? wanted : rows - 1;
            rowBytes[mt][h] = packed + row * (cols / 2) + 8 * t;
            rowScales[mt][h] = absmax + ((row * cols) >> blocksizeLog2);
        }
    }
    const std::int64_t steps = cols / 64;
    const std::int64_t perWarp = (steps + kWarps - 1) / kWarps;
    const std::int64_t begin = warp * perWarp;
    const std::int64_t end = begin + perWarp < steps ? begin + perWarp : steps;
    struct Stage {
        uint2 weights[kMTiles][2];
        float scale[kMTiles][2];
        uint4 act[kTiles][2];
    };
    auto load = [&](Stage& stage, std::int64_t step) {
        const bool valid = step < end;
        const std::int64_t s = valid ? step : 0; // a warp past the last step still reads inside the row
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                stage.weights[mt][h] = __ldcs(reinterpret_cast<const uint2*>(rowBytes[mt][h] + 32 * s));
                stage.scale[mt][h] = valid ? rowScales[mt][h][(s * 64) >> blocksizeLog2] : 0.0f;
            }
        }
#pragma unroll
        for (int tile = 0; tile < kTiles; ++tile) {
            const int b = tile * 8 + g;
            const uint4* a = reinterpret_cast<const uint4*>(x + std::int64_t(b) * cols + 64 * s + 16 * t);
            stage.act[tile][0] = valid && b < batch ? a[0] : make_uint4(0, 0, 0, 0);
            stage.act[tile][1] = valid && b < batch ? a[1] : make_uint4(0, 0, 0, 0);
        }
    };
    float c[kMTiles][kTiles][4] = {};
    auto multiply = [&](const Stage& stage) {
#pragma unroll
        for (int mt = 0; mt < kMTiles; ++mt) {
            const std::uint32_t words[2][2]
                = {{stage.weights[mt][0].x, stage.weights[mt][0].y}, {stage.weights[mt][1].x, stage.weights[mt][1].y}};
            std::uint32_t nibbles[2][2];
            std::uint32_t topBits[2][2][2];
#pragma unroll
            for (int r = 0; r < 2; ++r) {
#pragma unroll
                for (int w = 0; w < 2; ++w) {
                    const std::uint32_t v = words[r][w];
                    nibbles[r][w] = v & 0x77777777u;
                    // Sign-replicating prmt: byte i becomes 0xff where nibble i (of each halfword) is >= 8.
                    topBits[r][w][0] = prmt(v, v << 4, 0x9D8C);
                    topBits[r][w][1] = prmt(v, v << 4, 0xBFAE);
                }
            }
            float sums[kTiles][4] = {};
#pragma unroll
            for (int m = 0; m < 4; ++m) {
                const int w = m / 2;
                const int h = m % 2;
                std::uint32_t a[4];
                decodeFour(table, h ? nibbles[0][w] >> 16 : nibbles[0][w], topBits[0][w][h], a[0], a[2]);
                decodeFour(table, h ? nibbles[1][w] >> 16 : nibbles[1][w], topBits[1][w][h], a[1], a[3]);
#pragma unroll
                for (int tile = 0; tile < kTiles; ++tile) {
                    const uint4& v = stage.act[tile][m / 2];
                    mma16816<TAct>(sums[tile], a, m % 2 == 0 ? v.x : v.z, m % 2 == 0 ? v.y : v.w);
                }
            }
#pragma unroll
            for (int tile = 0; tile < kTiles; ++tile) {
                c[mt][tile][0] = fmaf(stage.scale[mt][0], sums[tile][0], c[mt][tile][0]);
                c[mt][tile][1] = fmaf(stage.scale[mt][0], sums[tile][1], c[mt][tile][1]);
                c[mt][tile][2] = fmaf(stage.scale[mt][1], sums[tile][2], c[mt][tile][2]);
                c[mt][tile][3] = fmaf(stage.scale[mt][1], sums[tile][3], c[mt][tile][3]);
            }
        }
    };
    Stage stages[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u)
        load(stages[u], begin + u);
    for (std::int64_t s0 = begin; s0 < end; s0 += kUnroll) {
#pragma unroll
        for (int u = 0; u < kUnroll; ++u) {
            if (s0 + u < end)
                multiply(stages[u]);
            load(stages[u], s0 + u + kUnroll);
        }
    }
#pragma unroll
    for (int mt = 0; mt < kMTiles; ++mt)
#pragma unroll
        for (int tile = 0; tile < kTiles; ++tile)
#pragma unroll
            for (int i = 0; i < 4; ++i)
                partial[warp][lane][(mt * kTiles + tile) * 4 + i] = c[mt][tile][i];
    __syncthreads();
    // Warp w adds up outputs w, w + kWarps, ... of each lane.
    for (int o = warp; o < kOutputs; o += kWarps) {
        float sum = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w)
            sum += partial[w][lane][o];
        const int mt = o / (4 * kTiles);
        const int tile = (o / 4) % kTiles;
        const int i = o % 4;
        const std::int64_t row = firstRow + mt * 16 + g + (i >= 2 ? 8 : 0);
        const int b = tile * 8 + 2 * t + (i % 2);
        if (row < rows && b < batch)
            y[std::int64_t(b) * rows + row] = detail::fromFloat<TAct>(sum);
    }
}

template <typename TAct, int kTiles, int kMTiles, int kWarps, int kUnroll>
void launchStream(cudaStream_t stream, const FourBitTensor& weight, const GemvShape& shape, const TAct* x, TAct* y)
{
    constexpr FloatType activation = std::is_same_v<TAct, __nv_bfloat16> ? FloatType::BF16 : FloatType::F16;
    const auto blocks = unsigned((shape.rows + 16 * kMTiles - 1) / (16 * kMTiles));
    gemv4bitStreamKernel<TAct, kTiles, kMTiles, kWarps, kUnroll><<<blocks, kWarps * 32, 0, stream>>>(
        weight.packed.as<std::uint8_t>(), weight.absmax.as<float>(), std::countr_zero(unsigned(weight.blocksize)),
        shape.rows, shape.cols, x, shape.batch, y, codeBytes(detail::fourBitCodes(weight.type), activation));
    detail::checkLaunch("gemv4bitStreamKernel");
}

// Measured on the H100 (docs/gpu.md): long rows (cols >= 8192) with 32 rows and 16 warps splitting
// K per block (4096 x 14336: 22 us against 26 us), shorter rows with 16 rows and 4 warps
// (14336 x 4096: 24 us against 29 us); on 8192 x 8192 the two measure within 2%.
template <typename TAct>
void dispatchStream(cudaStream_t stream, const FourBitTensor& weight, const GemvShape& shape, const TAct* x, TAct* y)
{
    const bool twoTiles = shape.batch > 8;
    if (shape.cols >= 8192) {
        if (twoTiles)
            launchStream<TAct, 2, 2, 16, 2>(stream, weight, shape, x, y);
        else
            launchStream<TAct, 1, 2, 16, 2>(stream, weight, shape, x, y);
    } else {
        if (twoTiles)
            launchStream<TAct, 2, 1, 4, 4>(stream, weight, shape, x, y);
        else
            launchStream<TAct, 1, 1, 4, 4>(stream, weight, shape, x, y);
    }
}

} // namespace

void gemv4bit(const Stream& stream, const FourBitTensor& weight, const GemvShape& shape, const DeviceBuffer& x,
              FloatType activationType, DeviceBuffer& y, GemvKernel kernel)
{
    if (shape.batch < 1 || shape.batch > kGemvMaxBatch)
        throw UsageError(strCat("GEMV batch ", shape.batch, " is outside 1 ... ", kGemvMaxBatch));
    detail::requireAllocated(weight);
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
    if (kernel == GemvKernel::TensorCore && weight.blocksize >= 64) {
        if (activationType == FloatType::BF16)
            dispatchStream(s, weight, shape, x.as<__nv_bfloat16>(), y.as<__nv_bfloat16>());
        else
            dispatchStream(s, weight, shape, x.as<__half>(), y.as<__half>());
    } else if (kernel == GemvKernel::TensorCore) {
        if (activationType == FloatType::BF16)
            launchGemvMma(s, weight, shape, x.as<__nv_bfloat16>(), y.as<__nv_bfloat16>());
        else
            launchGemvMma(s, weight, shape, x.as<__half>(), y.as<__half>());
    } else {
        if (activationType == FloatType::BF16)
            dispatchGemv(s, weight, shape, x.as<__nv_bfloat16>(), y.as<__nv_bfloat16>());
        else
            dispatchGemv(s, weight, shape, x.as<__half>(), y.as<__half>());
    }
}

} // namespace quantlens::gpu
