#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

// IEEE binary16 and bfloat16 conversions, scalar and exact. Shared by the readers, the quantizers
// and the tests; vectorised loops elsewhere must produce the same bits as these.
namespace quantlens::core {

inline float bf16ToFloat(std::uint16_t bits)
{
    return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

// Round to nearest even, NaN kept quiet (torch's and ggml's rule).
inline std::uint16_t floatToBf16(float value)
{
    const std::uint32_t u = std::bit_cast<std::uint32_t>(value);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return static_cast<std::uint16_t>((u >> 16) | 0x40u);
    return static_cast<std::uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

inline float fp16ToFloat(std::uint16_t h)
{
    const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    const std::uint32_t exponent = (h >> 10) & 0x1fu;
    std::uint32_t mantissa = h & 0x3ffu;
    std::uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { // subnormal: normalise
            int e = -1;
            do {
                ++e;
                mantissa <<= 1;
            } while ((mantissa & 0x400u) == 0);
            bits = sign | (static_cast<std::uint32_t>(127 - 15 - e) << 23) | ((mantissa & 0x3ffu) << 13);
        }
    } else if (exponent == 0x1f) { // inf, or NaN made quiet as IEEE conversions (and vcvtph2ps) do
        bits = sign | 0x7f800000u | (mantissa << 13) | (mantissa != 0 ? 0x00400000u : 0u);
    } else {
        bits = sign | ((exponent + (127 - 15)) << 23) | (mantissa << 13);
    }
    return std::bit_cast<float>(bits);
}

// IEEE round to nearest even; overflow gives inf, NaN stays NaN.
inline std::uint16_t floatToFp16(float value)
{
    const std::uint32_t u = std::bit_cast<std::uint32_t>(value);
    const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
    const std::uint32_t absBits = u & 0x7fffffffu;
    if (absBits > 0x7f800000u)
        return static_cast<std::uint16_t>(sign | 0x7e00u);
    if (absBits >= 0x477ff000u) // rounds to >= 65520: inf
        return static_cast<std::uint16_t>(sign | 0x7c00u);
    if (absBits < 0x38800000u) { // below the smallest normal half (2^-14): subnormal or zero
        // Add 0.5 so that the float adder does the round-to-nearest-even at the 2^-24 grid.
        const float magnitude = std::bit_cast<float>(absBits) + 0.5f;
        return static_cast<std::uint16_t>(sign | (std::bit_cast<std::uint32_t>(magnitude) - 0x3f000000u));
    }
    const std::uint32_t mantissaOdd = (absBits >> 13) & 1u;
    const std::uint32_t rounded = absBits + 0xc8000fffu + mantissaOdd; // rebias (-112 << 23) and round
    return static_cast<std::uint16_t>(sign | (rounded >> 13));
}

} // namespace quantlens::core
