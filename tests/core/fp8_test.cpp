#include "core/quant/fp8.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>

using namespace quantlens::core;

namespace {

TEST(Fp8, DecodesTheOcpExtremes)
{
    EXPECT_EQ(fp8ToFloat(0x7e, Fp8Format::E4M3), 448.0f);
    EXPECT_TRUE(std::isnan(fp8ToFloat(0x7f, Fp8Format::E4M3)));
    EXPECT_EQ(fp8ToFloat(0x01, Fp8Format::E4M3), std::ldexp(1.0f, -9));
    EXPECT_EQ(fp8ToFloat(0x08, Fp8Format::E4M3), std::ldexp(1.0f, -6));
    EXPECT_EQ(fp8ToFloat(0x7b, Fp8Format::E5M2), 57344.0f);
    EXPECT_TRUE(std::isinf(fp8ToFloat(0x7c, Fp8Format::E5M2)));
    EXPECT_EQ(fp8ToFloat(0x01, Fp8Format::E5M2), std::ldexp(1.0f, -16));
    EXPECT_EQ(fp8ToFloat(0xc0, Fp8Format::E4M3), -2.0f);
}

TEST(Fp8, EncodesEveryFiniteCodeBackToItself)
{
    for (Fp8Format f : {Fp8Format::E4M3, Fp8Format::E5M2}) {
        for (int c = 0; c < 256; ++c) {
            const float v = fp8ToFloat(static_cast<std::uint8_t>(c), f);
            if (std::isfinite(v)) {
                EXPECT_EQ(floatToFp8(v, f), c) << "code " << c;
            }
        }
    }
}

TEST(Fp8, RoundsMidpointsToTheEvenCodeAndSaturatesPastTheMaximum)
{
    // 1.0625 lies halfway between 1.0 (0x38) and 1.125 (0x39) in E4M3: even wins.
    EXPECT_EQ(floatToFp8(1.0625f, Fp8Format::E4M3), 0x38);
    EXPECT_EQ(floatToFp8(std::nextafter(1.0625f, 2.0f), Fp8Format::E4M3), 0x39);
    EXPECT_EQ(floatToFp8(1.1875f, Fp8Format::E4M3), 0x3a) << "between 0x39 and 0x3a: even";
    EXPECT_EQ(floatToFp8(1000.0f, Fp8Format::E4M3), 0x7e);
    EXPECT_EQ(floatToFp8(-INFINITY, Fp8Format::E4M3), 0xfe);
    EXPECT_EQ(floatToFp8(1e6f, Fp8Format::E5M2), 0x7b);
    EXPECT_EQ(floatToFp8(std::ldexp(1.0f, -10), Fp8Format::E4M3), 0x00) << "half the smallest subnormal: even";
}

TEST(Fp8, OptimisedEncoderEqualsTheNearestValueSearchEverywhere)
{
    std::mt19937 rng(1);
    for (Fp8Format f : {Fp8Format::E4M3, Fp8Format::E5M2}) {
        // Every decoded value, its neighbours and the midpoints between consecutive codes.
        for (int c = 0; c < 127; ++c) {
            const float a = fp8ToFloat(static_cast<std::uint8_t>(c), f);
            const float b = fp8ToFloat(static_cast<std::uint8_t>(c + 1), f);
            if (!std::isfinite(b))
                continue;
            const float mid = (a + b) / 2;
            for (float x : {a, mid, std::nextafter(mid, 0.0f), std::nextafter(mid, 1e9f), -mid})
                ASSERT_EQ(floatToFp8(x, f), floatToFp8Reference(x, f)) << "x " << x;
        }
        for (int i = 0; i < 20000; ++i) {
            const float x = std::bit_cast<float>(static_cast<std::uint32_t>(rng()));
            if (!std::isnan(x)) {
                ASSERT_EQ(floatToFp8(x, f), floatToFp8Reference(x, f)) << "x " << x;
            }
        }
    }
}

TEST(Fp8, ScalesATensorSoThatItsAmaxMapsToTheLargestValue)
{
    const std::vector<float> in = {0.5f, -3.0f, 1.0f, 0.0f};
    const float scale = fp8TensorScale(3.0f, Fp8Format::E4M3);
    std::vector<std::uint8_t> q(in.size());
    quantizeFp8(in, scale, Fp8Format::E4M3, q);
    EXPECT_EQ(q[1], 0xfe);
    std::vector<float> out(in.size());
    dequantizeFp8(q, scale, Fp8Format::E4M3, out);
    EXPECT_FLOAT_EQ(out[1], -3.0f);
    EXPECT_EQ(out[3], 0.0f);
    EXPECT_EQ(fp8TensorScale(0.0f, Fp8Format::E5M2), 1.0f);
}

} // namespace
