#pragma once

// The encoders our kernels call, over the one copy of bitsandbytes' tables and decision trees in
// core/quant/bnb_tables.h (compiled here by nvcc, in core by g++).

#include "core/quant/bnb_tables.h"
#include "gpu/bnb_quantize.h"

#include <cstdint>

namespace quantlens::gpu::detail {

// A uniform branch per launch: every thread of a kernel encodes the same format.
__device__ __forceinline__ std::uint32_t encode4bit(FourBitType type, float x)
{
    return type == FourBitType::Nf4 ? core::quantizeNf4Value(x) : core::quantizeFp4Value(x);
}

// `code` is the kernel's shared-memory copy of core::kDynamicCode.
__device__ __forceinline__ std::uint8_t encodeDynamic(const float* code, float x)
{
    return core::quantizeDynamicValue(code, x);
}

} // namespace quantlens::gpu::detail
