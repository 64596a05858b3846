#include "core/quant/fp8.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <bit>
#include <cmath>
#include <cstdlib>

namespace quantlens::core {

namespace {

struct Layout {
    int mantissaBits;
    int bias;
    std::uint8_t maxCode; // largest finite magnitude code
    std::uint8_t nanCode;
};

Layout layoutOf(Fp8Format format)
{
    return format == Fp8Format::E4M3 ? Layout {3, 7, 0x7e, 0x7f} : Layout {2, 15, 0x7b, 0x7e};
}

} // namespace

float fp8MaxValue(Fp8Format format)
{
    return format == Fp8Format::E4M3 ? 448.0f : 57344.0f;
}

float fp8ToFloat(std::uint8_t code, Fp8Format format)
{
    const Layout l = layoutOf(format);
    const int exponentBits = 7 - l.mantissaBits;
    const int mantissa = code & ((1 << l.mantissaBits) - 1);
    const int exponent = (code >> l.mantissaBits) & ((1 << exponentBits) - 1);
    const float sign = (code & 0x80) ? -1.0f : 1.0f;
    if (format == Fp8Format::E4M3 && exponent == 15 && mantissa == 7)
        return std::nanf("");
    if (format == Fp8Format::E5M2 && exponent == 31)
        return mantissa == 0 ? sign * INFINITY : std::nanf("");
    if (exponent == 0)
        return sign * std::ldexp(static_cast<float>(mantissa), 1 - l.bias - l.mantissaBits);
    return sign
        * std::ldexp(1.0f + static_cast<float>(mantissa) / static_cast<float>(1 << l.mantissaBits), exponent - l.bias);
}

std::uint8_t floatToFp8(float x, Fp8Format format)
{
    const Layout l = layoutOf(format);
    const std::uint32_t u = std::bit_cast<std::uint32_t>(x);
    const std::uint8_t sign = static_cast<std::uint8_t>((u >> 24) & 0x80);
    const std::uint32_t magnitudeBits = u & 0x7fffffffu;
    if (magnitudeBits > 0x7f800000u)
        return static_cast<std::uint8_t>(sign | l.nanCode);
    const float a = std::bit_cast<float>(magnitudeBits);
    std::uint32_t code;
    if (a < std::ldexp(1.0f, 1 - l.bias)) {
        // Subnormal range: a multiple of the smallest subnormal, rounded to nearest even (the
        // scaling by a power of two is exact); 2^m lands on the smallest normal's code.
        code = static_cast<std::uint32_t>(std::nearbyint(std::ldexp(a, l.bias - 1 + l.mantissaBits)));
    } else {
        const int shift = 23 - l.mantissaBits;
        const std::uint32_t rounded = magnitudeBits + ((1u << (shift - 1)) - 1u) + ((magnitudeBits >> shift) & 1u);
        const std::int64_t exponent = static_cast<std::int64_t>(rounded >> 23) - 127 + l.bias;
        code = exponent > 31 ? 0xffu
                             : static_cast<std::uint32_t>(exponent) << l.mantissaBits
                | ((rounded >> shift) & ((1u << l.mantissaBits) - 1u));
    }
    if (code > l.maxCode)
        code = l.maxCode;
    return static_cast<std::uint8_t>(sign | code);
}

std::uint8_t floatToFp8Reference(float x, Fp8Format format)
{
    const Layout l = layoutOf(format);
    if (std::isnan(x))
        return static_cast<std::uint8_t>((std::signbit(x) ? 0x80 : 0) | l.nanCode);
    const std::uint8_t sign = std::signbit(x) ? 0x80 : 0x00;
    const double a = std::fabs(static_cast<double>(x));
    if (a >= fp8MaxValue(format)) // saturation
        return static_cast<std::uint8_t>(sign | l.maxCode);
    std::uint8_t best = 0;
    double bestDistance = INFINITY;
    for (std::uint32_t code = 0; code <= l.maxCode; ++code) {
        const double d = std::fabs(static_cast<double>(fp8ToFloat(static_cast<std::uint8_t>(code), format)) - a);
        if (d < bestDistance || (d == bestDistance && (code & 1u) == 0)) {
            best = static_cast<std::uint8_t>(code);
            bestDistance = d;
        }
    }
    return static_cast<std::uint8_t>(sign | best);
}

float fp8TensorScale(float amax, Fp8Format format)
{
    if (!(amax > 0.0f) || std::isinf(amax))
        return 1.0f;
    return amax / fp8MaxValue(format);
}

void quantizeFp8(std::span<const float> in, float scale, Fp8Format format, std::span<std::uint8_t> out)
{
    if (out.size() != in.size())
        throw UsageError(strCat("FP8 quantization of ", in.size(), " values into ", out.size(), " codes"));
    for (std::size_t i = 0; i < in.size(); ++i)
        out[i] = floatToFp8(in[i] / scale, format);
}

void dequantizeFp8(std::span<const std::uint8_t> in, float scale, Fp8Format format, std::span<float> out)
{
    if (out.size() != in.size())
        throw UsageError(strCat("FP8 dequantization of ", in.size(), " codes into ", out.size(), " values"));
    float table[256];
    for (int c = 0; c < 256; ++c)
        table[c] = fp8ToFloat(static_cast<std::uint8_t>(c), format);
    for (std::size_t i = 0; i < in.size(); ++i)
        out[i] = table[in[i]] * scale;
}

} // namespace quantlens::core
