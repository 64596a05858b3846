#pragma once

#include "core/model/tensor_info.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace quantlens::core {

// Decoding of the plain element types to float32, the inner loop of every streamed read. BF16 and
// F16 have vector paths chosen once at run time (AVX2, F16C; SSE2 is part of x86-64); every other
// type is a scalar loop. Results are bit-identical to core/util/float16.h on every path.

// The instruction sets the 16-bit conversions can use, best last.
enum class ConvertPath { Scalar, Sse2, Avx2 };
// The best path this CPU and build support (AVX2 also requires F16C and the OS saving YMM state).
ConvertPath bestConvertPath();
// The path the plain calls below take: the best, or SSE2 while the kernels run on the baseline set.
ConvertPath activeConvertPath();
const char* convertPathName(ConvertPath path);

// BF16 -> F32: out.size() elements from in (2 bytes each, little-endian, any alignment).
void bf16RowToFloat(std::span<const std::byte> in, std::span<float> out);
// F16 -> F32, bit-identical to fp16ToFloat.
void fp16RowToFloat(std::span<const std::byte> in, std::span<float> out);
// The same on a given path (for tests and benchmarks); a path above bestConvertPath() throws
// UnsupportedError. F16 has no SSE2 path: Sse2 runs the scalar loop.
void bf16RowToFloat(std::span<const std::byte> in, std::span<float> out, ConvertPath path);
void fp16RowToFloat(std::span<const std::byte> in, std::span<float> out, ConvertPath path);
// The OCP 8-bit floats as torch stores them (float8_e4m3fn: no infinities, S.1111.111 is NaN;
// float8_e5m2: IEEE-like with infinities).
float fp8E4m3ToFloat(std::uint8_t bits);
float fp8E5m2ToFloat(std::uint8_t bits);

// Any plain dtype (F64 ... BOOL) -> F32; `in` must hold out.size() * dtypeElementBytes(type) bytes.
// Throws UnsupportedError for other dtypes.
void plainRowToFloat(DType type, std::span<const std::byte> in, std::span<float> out);

} // namespace quantlens::core
