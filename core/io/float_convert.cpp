#include "core/io/float_convert.h"

#include "core/util/error.h"
#include "core/util/float16.h"
#include "core/util/str_cat.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace quantlens::core {

namespace {

template <typename T> T loadUnaligned(const std::byte* p)
{
    T value;
    std::memcpy(&value, p, sizeof(T));
    return value;
}

template <typename T> void integersToFloat(std::span<const std::byte> in, std::span<float> out)
{
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = static_cast<float>(loadUnaligned<T>(in.data() + i * sizeof(T)));
}

} // namespace

void bf16RowToFloat(std::span<const std::byte> in, std::span<float> out)
{
    std::size_t i = 0;
#if defined(__SSE2__)
    // Interleaving zero words below each bf16 word is exactly bits << 16, 8 values per step.
    const __m128i zero = _mm_setzero_si128();
    for (; i + 8 <= out.size(); i += 8) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in.data() + 2 * i));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out.data() + i), _mm_unpacklo_epi16(zero, h));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out.data() + i + 4), _mm_unpackhi_epi16(zero, h));
    }
#endif
    for (; i < out.size(); ++i)
        out[i] = bf16ToFloat(loadUnaligned<std::uint16_t>(in.data() + 2 * i));
}

void fp16RowToFloat(std::span<const std::byte> in, std::span<float> out)
{
    for (std::size_t i = 0; i < out.size(); ++i)
        out[i] = fp16ToFloat(loadUnaligned<std::uint16_t>(in.data() + 2 * i));
}

float fp8E4m3ToFloat(std::uint8_t bits)
{
    const float sign = (bits & 0x80u) ? -1.0f : 1.0f;
    const int exponent = (bits >> 3) & 0xf;
    const int mantissa = bits & 0x7;
    if (exponent == 0xf && mantissa == 0x7)
        return std::numeric_limits<float>::quiet_NaN();
    if (exponent == 0)
        return sign * std::ldexp(static_cast<float>(mantissa), -9); // subnormal: m/8 * 2^-6
    return sign * std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
}

float fp8E5m2ToFloat(std::uint8_t bits)
{
    // E5M2 is the top byte of an IEEE half.
    return fp16ToFloat(static_cast<std::uint16_t>(bits << 8));
}

void plainRowToFloat(DType type, std::span<const std::byte> in, std::span<float> out)
{
    switch (type) {
    case DType::F32:
        std::memcpy(out.data(), in.data(), out.size() * sizeof(float));
        return;
    case DType::BF16:
        bf16RowToFloat(in, out);
        return;
    case DType::F16:
        fp16RowToFloat(in, out);
        return;
    case DType::F64:
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] = static_cast<float>(loadUnaligned<double>(in.data() + 8 * i));
        return;
    case DType::F8_E4M3:
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] = fp8E4m3ToFloat(static_cast<std::uint8_t>(in[i]));
        return;
    case DType::F8_E5M2:
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] = fp8E5m2ToFloat(static_cast<std::uint8_t>(in[i]));
        return;
    case DType::I64:
        integersToFloat<std::int64_t>(in, out);
        return;
    case DType::I32:
        integersToFloat<std::int32_t>(in, out);
        return;
    case DType::I16:
        integersToFloat<std::int16_t>(in, out);
        return;
    case DType::I8:
        integersToFloat<std::int8_t>(in, out);
        return;
    case DType::U8:
        integersToFloat<std::uint8_t>(in, out);
        return;
    case DType::BOOL:
        for (std::size_t i = 0; i < out.size(); ++i)
            out[i] = in[i] != std::byte {0} ? 1.0f : 0.0f;
        return;
    default:
        break;
    }
    throw UnsupportedError(strCat("conversion of ", dtypeName(type), " to float is not a plain element conversion"));
}

} // namespace quantlens::core
