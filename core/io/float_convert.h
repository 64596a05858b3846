#pragma once

#include "core/model/tensor_info.h"

#include <cstddef>
#include <cstdint>
#include <span>

namespace quantlens::core {

// Decoding of the plain element types to float32, the inner loop of every streamed read. BF16 and
// F32 use SSE2 (part of x86-64, so no runtime check is needed); every other type is a scalar loop.
// Results are bit-identical to core/util/float16.h.

// BF16 -> F32: out.size() elements from in (2 bytes each, little-endian, any alignment).
void bf16RowToFloat(std::span<const std::byte> in, std::span<float> out);
// F16 -> F32, bit-identical to fp16ToFloat.
void fp16RowToFloat(std::span<const std::byte> in, std::span<float> out);
// The OCP 8-bit floats as torch stores them (float8_e4m3fn: no infinities, S.1111.111 is NaN;
// float8_e5m2: IEEE-like with infinities).
float fp8E4m3ToFloat(std::uint8_t bits);
float fp8E5m2ToFloat(std::uint8_t bits);

// Any plain dtype (F64 ... BOOL) -> F32; `in` must hold out.size() * dtypeElementBytes(type) bytes.
// Throws UnsupportedError for other dtypes.
void plainRowToFloat(DType type, std::span<const std::byte> in, std::span<float> out);

} // namespace quantlens::core
