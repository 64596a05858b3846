#pragma once

#include "gpu/bnb_quantize.h"

// The fused 4-bit matrix-vector product for inference: y = x W^T for a weight W (rows x cols,
// row-major, quantized with quantize4bit) and 1 to 16 activation rows, dequantizing W in
// registers so that the full-precision weight is never written.
namespace quantlens::gpu {

struct GemvShape {
    std::int64_t rows = 0; // output features (N)
    std::int64_t cols = 0; // input features (K)
    int batch = 1; // activation rows, 1 ... 16
};

inline constexpr int kGemvMaxBatch = 16;

// TensorCore (the default) multiplies on mma.sync with batch rows as N. For blocksize >= 64 the
// weights enter the product as their codes rounded to the activation type, and each 64-wide block
// slice's fp32 partial sum is multiplied by its absmax: y = sum over slices of absmax * sum(
// round16(code) * x). For blocksize 32 the weights are round16(code * absmax), the values
// dequantize4bit writes. CudaCore decodes to fp32 (code * absmax) and accumulates with FMAs: exact
// fp32 weights, but its arithmetic grows with the batch (kept for that precision and for
// comparison in the benchmark).
enum class GemvKernel { TensorCore, CudaCore };

// x: batch x cols values of `activationType` (F16 or BF16); y: batch x rows of the same type,
// accumulated in fp32. The weight must use plain fp32 absmax (no DQ) and cols must be a multiple
// of 32 and of the blocksize, so that no block straddles two rows; UsageError/UnsupportedError
// name the value otherwise.
void gemv4bit(const Stream& stream, const FourBitTensor& weight, const GemvShape& shape, const DeviceBuffer& x,
              FloatType activationType, DeviceBuffer& y, GemvKernel kernel = GemvKernel::TensorCore);

} // namespace quantlens::gpu
