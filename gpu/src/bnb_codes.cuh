#pragma once

// The encoders our kernels call, over the one copy of bitsandbytes' tables and decision trees in
// core/quant/bnb_tables.h (compiled here by nvcc, in core by g++).

#include "core/quant/bnb_tables.h"
#include "gpu/bnb_quantize.h"

#include <cstdint>

namespace quantlens::gpu::detail {

// dQuantizeNF4 without branches. bitsandbytes' tree is a balanced binary search over the 15
// thresholds (root 7|8, then 3|4 or 11|12, ...), so the same four comparisons, each choosing the
// next threshold by index, give the same code for every input, NaN included (every comparison
// false: code 0). `thresholds` is nf4SearchThresholds() in shared memory: entry i separates codes
// i - 1 and i. Data-dependent branches in the tree made warps diverge; this runs 4 compares.
__device__ __forceinline__ std::uint32_t encodeNf4Search(const float* thresholds, float x)
{
    std::uint32_t c = x > thresholds[8] ? 8u : 0u;
    c += x > thresholds[c + 4] ? 4u : 0u;
    c += x > thresholds[c + 2] ? 2u : 0u;
    c += x > thresholds[c + 1] ? 1u : 0u;
    return c;
}

// A uniform branch per launch: every thread of a kernel encodes the same format.
__device__ __forceinline__ std::uint32_t encode4bit(FourBitType type, const float* nf4Thresholds, float x)
{
    return type == FourBitType::Nf4 ? encodeNf4Search(nf4Thresholds, x) : core::quantizeFp4Value(x);
}

// `code` is the kernel's shared-memory copy of core::kDynamicCode.
__device__ __forceinline__ std::uint8_t encodeDynamic(const float* code, float x)
{
    return core::quantizeDynamicValue(code, x);
}

} // namespace quantlens::gpu::detail
