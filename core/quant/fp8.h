#pragma once

#include <cstdint>
#include <span>

// FP8 E4M3 (OCP "FN": bias 7, no infinities, NaN = S.1111.111, max 448, subnormals down to 2^-9)
// and E5M2 (bias 15, IEEE-like with inf and NaN, max 57344, subnormals down to 2^-16), simulated
// with a per-tensor scale s = amax / max representable (the usual "per-tensor scaling" of FP8
// training and inference recipes): q = fp8(x / s) rounded to nearest even and saturated to the
// largest finite value; dequantized q * s. Definitions: the OCP 8-bit floating point spec (v1.0).
namespace quantlens::core {

enum class Fp8Format : std::uint8_t { E4M3, E5M2 };

float fp8MaxValue(Fp8Format format); // 448 or 57344

// Round to nearest even from fp32 bits; |x| past the largest finite value saturates to it (inf
// too); NaN stays NaN. The optimised encoder.
std::uint8_t floatToFp8(float x, Fp8Format format);
// The reference encoder: the nearest of the 256 decoded values, ties to the even code. Slow and
// obviously right; the tests sweep floatToFp8 against it.
std::uint8_t floatToFp8Reference(float x, Fp8Format format);
float fp8ToFloat(std::uint8_t code, Fp8Format format);

// The per-tensor scale for a tensor whose largest magnitude is amax (1 for an all-zero tensor).
float fp8TensorScale(float amax, Fp8Format format);

void quantizeFp8(std::span<const float> in, float scale, Fp8Format format, std::span<std::uint8_t> out);
void dequantizeFp8(std::span<const std::uint8_t> in, float scale, Fp8Format format, std::span<float> out);

} // namespace quantlens::core
