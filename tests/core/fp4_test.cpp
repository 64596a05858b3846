#include "bnb_4bit_case.h"
#include "bnb_vectors.h"

#include "core/quant/bnb_4bit.h"
#include "core/quant/bnb_tables.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace quantlens;
using namespace quantlens::core;
using quantlens::test::BnbCase;

namespace {

class Fp4Vectors : public ::testing::TestWithParam<BnbCase> { };

TEST_P(Fp4Vectors, MatchesBitsandbytesBitForBit)
{
    test::expectFourBitCaseMatches(GetParam());
}

INSTANTIATE_TEST_SUITE_P(BnbVectors, Fp4Vectors, ::testing::ValuesIn(test::bnbCases("4bit", "fp4")),
                         [](const auto& info) { return test::bnbCaseName(info.param); });

Bnb4BitOptions fp4(std::uint32_t blocksize)
{
    Bnb4BitOptions options;
    options.type = FourBitType::Fp4;
    options.blocksize = blocksize;
    return options;
}

TEST(Fp4Quantizer, SendsAMagnitudeOnAThresholdDownAndOneUlpAboveItUp)
{
    // dQuantizeFP4's leaves in ascending magnitude.
    const std::uint8_t ascending[8] = {0b000, 0b001, 0b110, 0b111, 0b100, 0b101, 0b010, 0b011};
    for (int i = 0; i < 7; ++i) {
        const float t = kFp4Threshold[i];
        EXPECT_EQ(quantizeFp4Value(t), ascending[i]) << "threshold " << i;
        EXPECT_EQ(quantizeFp4Value(std::nextafter(t, 2.0f)), ascending[i + 1]) << "threshold " << i;
        EXPECT_EQ(quantizeFp4Value(-t), ascending[i] | 0b1000) << "threshold " << i;
    }
}

TEST(Fp4Quantizer, KeepsTheSignBitForTinyNegativesButNotForNegativeZeroOrNaN)
{
    EXPECT_EQ(quantizeFp4Value(-1e-30f), 0b1000);
    EXPECT_EQ(quantizeFp4Value(-0.0f), 0b0000);
    EXPECT_EQ(quantizeFp4Value(std::nanf("")), 0b0000);
    EXPECT_EQ(kFp4Code[quantizeFp4Value(-1.0f)], -1.0f);
}

TEST(Fp4Quantizer, TurnsAnAllZeroBlockIntoCodeZeroAndPositiveZero)
{
    const std::vector<float> in(64, 0.0f);
    const Bnb4BitTensor q = quantize4bit(in, fp4(64));
    for (std::uint8_t byte : q.packed)
        EXPECT_EQ(byte, 0x00);
    std::vector<float> out(in.size());
    dequantize4bit(q, out);
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_FALSE(std::signbit(out[0])) << "FP4 code 0 is +0.0";
}

TEST(Fp4Quantizer, OptimisedPathGivesTheReferenceBytesForEveryBlocksizeAndLength)
{
    std::mt19937 rng(5);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (std::uint32_t blocksize = 32; blocksize <= 4096; blocksize *= 2) {
        for (std::size_t n : {std::size_t {1}, std::size_t {33}, std::size_t {blocksize + 1}, std::size_t {9999}}) {
            std::vector<float> in(n);
            for (float& x : in)
                x = dist(rng);
            in[0] = -0.0f;
            const Bnb4BitTensor reference = quantize4bitReference(in, fp4(blocksize));
            const Bnb4BitTensor fast = quantize4bit(in, fp4(blocksize), 2);
            ASSERT_EQ(fast.packed, reference.packed) << "blocksize " << blocksize << " n " << n;
            ASSERT_EQ(test::floatBits(fast.absmax), test::floatBits(reference.absmax));
            std::vector<float> a(n), b(n);
            dequantize4bit(fast, a);
            dequantize4bitReference(reference, b);
            ASSERT_EQ(test::floatBits(a), test::floatBits(b));
        }
    }
}

} // namespace
