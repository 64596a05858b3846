#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace quantlens::gpu::detail {

// Enqueues bitsandbytes' 8-bit blockwise dynamic quantization of n values of T (float, __half,
// __nv_bfloat16). When `subtract` is not null, the value it points to (on the device) is
// subtracted from every input first: double quantization stores absmax - mean(absmax) this way.
template <typename T>
void launchQuantizeDynamic(cudaStream_t stream, const T* input, std::int64_t n, int blocksize, const float* subtract,
                           std::uint8_t* codes, float* absmax);

} // namespace quantlens::gpu::detail
