#include "core/util/float16.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

using namespace quantlens::core;

TEST(Float16, EveryHalfRoundTripsThroughFloat)
{
    for (std::uint32_t h = 0; h < 0x10000u; ++h) {
        const float f = fp16ToFloat(static_cast<std::uint16_t>(h));
        if (std::isnan(f))
            continue;
        ASSERT_EQ(floatToFp16(f), h) << "half 0x" << std::hex << h;
    }
}

TEST(Float16, RoundsToNearestEvenAndOverflowsToInfinity)
{
    EXPECT_EQ(floatToFp16(1.0f + 1.0f / 2048.0f), 0x3c00u); // tie between 1 and 1+2^-10: even wins
    EXPECT_EQ(floatToFp16(1.0f + 3.0f / 2048.0f), 0x3c02u); // tie: rounds up to even mantissa 2
    EXPECT_EQ(floatToFp16(65504.0f), 0x7bffu);
    EXPECT_EQ(floatToFp16(65519.0f), 0x7bffu);
    EXPECT_EQ(floatToFp16(65520.0f), 0x7c00u);
    EXPECT_EQ(floatToFp16(-1e10f), 0xfc00u);
    EXPECT_EQ(floatToFp16(std::ldexp(1.0f, -25)), 0x0000u); // half of the smallest subnormal: ties to even 0
    EXPECT_EQ(floatToFp16(std::ldexp(1.5f, -25)), 0x0001u);
    EXPECT_TRUE(std::isnan(fp16ToFloat(floatToFp16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(Bfloat16, RoundsToNearestEvenAndKeepsNanQuiet)
{
    EXPECT_EQ(floatToBf16(1.0f), 0x3f80u);
    EXPECT_EQ(floatToBf16(std::bit_cast<float>(0x3f808000u)), 0x3f80u); // tie, even stays
    EXPECT_EQ(floatToBf16(std::bit_cast<float>(0x3f818000u)), 0x3f82u); // tie, odd rounds up
    EXPECT_EQ(floatToBf16(std::bit_cast<float>(0x3f808001u)), 0x3f81u);
    EXPECT_TRUE(std::isnan(bf16ToFloat(floatToBf16(std::bit_cast<float>(0x7f800001u)))));
    for (std::uint32_t b = 0; b < 0x10000u; ++b) {
        const float f = bf16ToFloat(static_cast<std::uint16_t>(b));
        if (!std::isnan(f)) {
            ASSERT_EQ(floatToBf16(f), b);
        }
    }
}
