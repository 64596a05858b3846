#include "bnb_vectors.h"

#include "core/quant/bnb_tables.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>

using namespace quantlens;
using namespace quantlens::core;

namespace {

std::vector<std::uint32_t> bitsOf(const float* values, std::size_t n)
{
    std::vector<std::uint32_t> bits(n);
    for (std::size_t i = 0; i < n; ++i)
        bits[i] = std::bit_cast<std::uint32_t>(values[i]);
    return bits;
}

TEST(BnbTables, DynamicMapEqualsBitsandbytesCodeFileBitForBit)
{
    const auto expected = test::readArray<std::uint32_t>(test::bnbVectorsDir() + "/codes/dynamic.bin");
    EXPECT_EQ(bitsOf(kDynamicCode, 256), expected);
}

TEST(BnbTables, Nf4CodeEqualsBitsandbytesCodeFileBitForBit)
{
    const auto expected = test::readArray<std::uint32_t>(test::bnbVectorsDir() + "/codes/nf4.bin");
    EXPECT_EQ(bitsOf(kNf4Code, 16), expected);
}

TEST(BnbTables, Fp4CodeEqualsBitsandbytesCodeFileExceptNegativeZeroAtIndexEight)
{
    auto expected = test::readArray<std::uint32_t>(test::bnbVectorsDir() + "/codes/fp4.bin");
    ASSERT_EQ(expected.size(), 16u);
    EXPECT_EQ(expected[8], 0u) << "the Python table holds +0.0";
    expected[8] = 0x80000000u; // the kernels decode code 8 as -0.0
    EXPECT_EQ(bitsOf(kFp4Code, 16), expected);
}

TEST(BnbTables, Nf4ThresholdsLieBetweenNeighbouringCodes)
{
    for (int i = 0; i < 15; ++i) {
        EXPECT_GT(kNf4Threshold[i], kNf4Code[i]);
        EXPECT_LT(kNf4Threshold[i], kNf4Code[i + 1]);
        EXPECT_NEAR(kNf4Threshold[i], (kNf4Code[i] + kNf4Code[i + 1]) / 2, 1e-6);
    }
}

TEST(BnbTables, DynamicQuantizationOfEveryCodeValueReturnsItsIndex)
{
    for (int i = 0; i < 256; ++i)
        EXPECT_EQ(quantizeDynamicValue(kDynamicCode, kDynamicCode[i]), i) << "code " << i;
    EXPECT_EQ(quantizeDynamicValue(kDynamicCode, -1.0f), 0);
    EXPECT_EQ(quantizeDynamicValue(kDynamicCode, std::nanf("")), 0) << "an all-zero block's NaN";
}

} // namespace
