#pragma once

// Device helpers shared by our bitsandbytes kernels: element types, 8-wide loads and stores, and
// the code tables, which travel as kernel parameters (by value) and are copied to shared memory at
// the start of each thread block, so that no global state or hidden allocation is needed.

#include "gpu/bnb_quantize.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace quantlens::gpu::detail {

struct FourBitCodes {
    float values[16];
};

struct DynamicCodes {
    float values[256];
};

__device__ __forceinline__ float toFloat(float v)
{
    return v;
}
__device__ __forceinline__ float toFloat(__half v)
{
    return __half2float(v);
}
__device__ __forceinline__ float toFloat(__nv_bfloat16 v)
{
    return __bfloat162float(v);
}

template <typename T> __device__ __forceinline__ T fromFloat(float v);
template <> __device__ __forceinline__ float fromFloat<float>(float v)
{
    return v;
}
template <> __device__ __forceinline__ __half fromFloat<__half>(float v)
{
    return __float2half_rn(v);
}
template <> __device__ __forceinline__ __nv_bfloat16 fromFloat<__nv_bfloat16>(float v)
{
    return __float2bfloat16_rn(v);
}

// Eight consecutive values starting at an index that is a multiple of 8 (so 16- or 32-byte
// aligned in a cudaMalloc buffer): one or two vector loads. `valid` < 8 only in the tail, where
// missing values read as 0, as bitsandbytes pads its last block.
template <typename T> __device__ __forceinline__ void load8(const T* p, int valid, float (&v)[8])
{
    if (valid >= 8) {
        if constexpr (sizeof(T) == 4) {
            const float4 a = reinterpret_cast<const float4*>(p)[0];
            const float4 b = reinterpret_cast<const float4*>(p)[1];
            v[0] = a.x, v[1] = a.y, v[2] = a.z, v[3] = a.w, v[4] = b.x, v[5] = b.y, v[6] = b.z, v[7] = b.w;
        } else {
            const uint4 raw = *reinterpret_cast<const uint4*>(p);
            const T* h = reinterpret_cast<const T*>(&raw);
#pragma unroll
            for (int j = 0; j < 8; ++j)
                v[j] = toFloat(h[j]);
        }
    } else {
#pragma unroll
        for (int j = 0; j < 8; ++j)
            v[j] = j < valid ? toFloat(p[j]) : 0.0f;
    }
}

// Eight values to p[0..7] (aligned as for load8); only the first `valid` in the tail.
template <typename T> __device__ __forceinline__ void store8(T* p, int valid, const float (&v)[8])
{
    if (valid >= 8) {
        if constexpr (sizeof(T) == 4) {
            reinterpret_cast<float4*>(p)[0] = make_float4(v[0], v[1], v[2], v[3]);
            reinterpret_cast<float4*>(p)[1] = make_float4(v[4], v[5], v[6], v[7]);
        } else {
            uint4 raw;
            T* h = reinterpret_cast<T*>(&raw);
#pragma unroll
            for (int j = 0; j < 8; ++j)
                h[j] = fromFloat<T>(v[j]);
            *reinterpret_cast<uint4*>(p) = raw;
        }
    } else {
        for (int j = 0; j < valid; ++j)
            p[j] = fromFloat<T>(v[j]);
    }
}

// The maximum of `v` over the kThreads consecutive threads that share one quantization block.
// Up to a warp: butterfly shuffles inside aligned lane groups. Beyond: one value per warp through
// shared memory (`warpMax`, one slot per warp of the thread block); the caller's loop must not
// reuse `warpMax` before every thread has read it (the second barrier below ensures that).
template <int kThreads> __device__ __forceinline__ float groupMax(float v, float* warpMax)
{
    constexpr int kLanes = kThreads < 32 ? kThreads : 32;
#pragma unroll
    for (int offset = kLanes / 2; offset > 0; offset /= 2)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
    if constexpr (kThreads > 32) {
        constexpr int kWarps = kThreads / 32;
        const int warp = threadIdx.x / 32;
        if (threadIdx.x % 32 == 0)
            warpMax[warp] = v;
        __syncthreads();
        const int first = warp / kWarps * kWarps;
        v = warpMax[first];
#pragma unroll
        for (int w = 1; w < kWarps; ++w)
            v = fmaxf(v, warpMax[first + w]);
        __syncthreads();
    }
    return v;
}

// Eight values to p[0..7] with evict-first stores (st.global.cs), for outputs nothing reads soon.
template <typename T> __device__ __forceinline__ void store8Streaming(T* p, const float (&v)[8])
{
    if constexpr (sizeof(T) == 4) {
        __stcs(reinterpret_cast<float4*>(p), make_float4(v[0], v[1], v[2], v[3]));
        __stcs(reinterpret_cast<float4*>(p) + 1, make_float4(v[4], v[5], v[6], v[7]));
    } else {
        uint4 raw;
        T* h = reinterpret_cast<T*>(&raw);
#pragma unroll
        for (int j = 0; j < 8; ++j)
            h[j] = fromFloat<T>(v[j]);
        __stcs(reinterpret_cast<uint4*>(p), raw);
    }
}

// The code tables of core/quant/bnb_tables.h, as kernel parameters.
FourBitCodes fourBitCodes(FourBitType type);
DynamicCodes dynamicCodes();
// core::kNf4Threshold shifted by one, for encodeNf4Search (bnb_codes.cuh).
FourBitCodes nf4SearchThresholds();

// Throws UsageError when `t`'s buffers are smaller than its numel, blocksize and doubleQuant need
// (a tensor not made by allocateFourBit).
void requireAllocated(const FourBitTensor& t);

// Throws CudaError naming the kernel when its launch failed.
void checkLaunch(const char* kernel);

} // namespace quantlens::gpu::detail
