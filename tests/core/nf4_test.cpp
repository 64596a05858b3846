#include "bnb_4bit_case.h"
#include "bnb_vectors.h"

#include "core/quant/bnb_4bit.h"
#include "core/quant/bnb_tables.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <random>

using namespace quantlens;
using namespace quantlens::core;
using quantlens::test::BnbCase;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

class Nf4Vectors : public ::testing::TestWithParam<BnbCase> { };

TEST_P(Nf4Vectors, MatchesBitsandbytesBitForBit)
{
    test::expectFourBitCaseMatches(GetParam());
}

INSTANTIATE_TEST_SUITE_P(BnbVectors, Nf4Vectors, ::testing::ValuesIn(test::bnbCases("4bit", "nf4")),
                         [](const auto& info) { return test::bnbCaseName(info.param); });

Bnb4BitOptions nf4(std::uint32_t blocksize)
{
    Bnb4BitOptions options;
    options.type = FourBitType::Nf4;
    options.blocksize = blocksize;
    return options;
}

std::vector<float> normal(std::size_t n, unsigned seed, float sigma = 0.02f)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, sigma);
    std::vector<float> v(n);
    for (float& x : v)
        x = dist(rng);
    return v;
}

TEST(Nf4Quantizer, TurnsAnAllZeroBlockIntoCodeZeroAndNegativeZero)
{
    std::vector<float> in(128, 0.0f);
    for (std::size_t i = 64; i < 128; ++i)
        in[i] = 0.01f * static_cast<float>(i - 96);
    const Bnb4BitTensor q = quantize4bit(in, nf4(64));
    EXPECT_EQ(q.absmax[0], 0.0f);
    for (std::size_t i = 0; i < 32; ++i)
        EXPECT_EQ(q.packed[i], 0x00) << "byte " << i;
    std::vector<float> out(in.size());
    dequantize4bit(q, out);
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_TRUE(std::signbit(out[0])) << "code 0 is -1.0, times absmax 0 is -0.0";
}

TEST(Nf4Quantizer, QuantizesTheMissingPartnerOfAnOddTailAsZeroInTheLowNibble)
{
    const std::vector<float> in = normal(777, 3);
    const Bnb4BitTensor q = quantize4bit(in, nf4(64));
    ASSERT_EQ(q.packed.size(), 389u);
    EXPECT_EQ(q.packed.back() & 0x0f, 0x07) << "0.0 is NF4 code 7";
    EXPECT_EQ(q.absmax.size(), 13u);
    EXPECT_EQ(quantize4bitReference(in, nf4(64)).packed, q.packed);
}

TEST(Nf4Quantizer, SendsAValueOnAThresholdDownAndOneUlpAboveItUp)
{
    for (int i = 0; i < 15; ++i) {
        const float t = kNf4Threshold[i];
        EXPECT_EQ(quantizeNf4Value(t), i) << "threshold " << i;
        EXPECT_EQ(quantizeNf4Value(std::nextafter(t, 2.0f)), i + 1) << "threshold " << i;
    }
    EXPECT_EQ(quantizeNf4Value(std::nanf("")), 0);
    EXPECT_EQ(quantizeNf4Value(-1.0f), 0);
    EXPECT_EQ(quantizeNf4Value(1.0f), 15);
}

TEST(Nf4Quantizer, OptimisedPathGivesTheReferenceBytesForEveryBlocksizeAndLength)
{
    for (std::uint32_t blocksize = 32; blocksize <= 4096; blocksize *= 2) {
        for (std::size_t n : {std::size_t {0}, std::size_t {1}, std::size_t {7}, std::size_t {blocksize - 1},
                              std::size_t {blocksize + 3}, std::size_t {3 * blocksize}, std::size_t {10001}}) {
            std::vector<float> in = normal(n, static_cast<unsigned>(n + blocksize));
            if (n > 5)
                in[5] = std::nanf(""); // a NaN in a block: fmaxf ignores it in the absmax
            for (bool dq : {false, true}) {
                Bnb4BitOptions options = nf4(blocksize);
                options.doubleQuant = dq;
                const Bnb4BitTensor reference = quantize4bitReference(in, options);
                const Bnb4BitTensor fast = quantize4bit(in, options, 3);
                ASSERT_EQ(fast.packed, reference.packed) << "blocksize " << blocksize << " n " << n;
                ASSERT_EQ(test::floatBits(fast.absmax), test::floatBits(reference.absmax));
                std::vector<float> a(n), b(n);
                dequantize4bit(fast, a, 2);
                dequantize4bitReference(reference, b);
                ASSERT_EQ(test::floatBits(a), test::floatBits(b)) << "blocksize " << blocksize << " n " << n;
            }
        }
    }
}

// A block with no finite value, as bitsandbytes' kernel sees it: fmaxf from -FLT_MAX skips every
// NaN, so a whole block keeps -FLT_MAX, while the zeros the load pads a partial last block with
// make its absmax 0. The reference and the fast path agree, with and without double quantization.
TEST(Nf4Quantizer, AllNanBlocksGetTheAbsmaxBitsandbytesGives)
{
    const std::uint32_t blocksize = 64;
    // Blocks 1 and 3 (partial) all NaN; a tail of 16 is a whole number of the fast path's groups
    // of 8, so no padding zero lands in it, and one of 10 is not.
    for (std::size_t tail : {std::size_t {10}, std::size_t {16}})
        for (bool dq : {false, true}) {
            std::vector<float> in(3 * blocksize + tail, 0.25f);
            for (std::size_t i = 0; i < in.size(); ++i)
                if ((i >= blocksize && i < 2 * blocksize) || i >= 3 * blocksize)
                    in[i] = std::nanf("");
            Bnb4BitOptions options = nf4(blocksize);
            options.doubleQuant = dq;
            const Bnb4BitTensor reference = quantize4bitReference(in, options);
            const Bnb4BitTensor fast = quantize4bit(in, options, 2);
            EXPECT_EQ(reference.absmax, (std::vector<float> {0.25f, -FLT_MAX, 0.25f, 0.0f})) << tail;
            EXPECT_EQ(test::floatBits(fast.absmax), test::floatBits(reference.absmax)) << tail;
            EXPECT_EQ(fast.packed, reference.packed) << tail;
        }
}

TEST(Nf4Quantizer, DequantizesAnyElementRangeOfStoredTensorLikeTheWhole)
{
    const std::vector<float> in = normal(1001, 9);
    Bnb4BitOptions options = nf4(64);
    options.doubleQuant = true;
    const Bnb4BitTensor q = quantize4bit(in, options);
    std::vector<float> whole(in.size());
    dequantize4bit(q, whole);
    Bnb4BitStorage storage;
    storage.type = FourBitType::Nf4;
    storage.blocksize = 64;
    storage.elements = in.size();
    storage.packed = q.packed;
    storage.absmaxCodes = q.doubleQuant->absmaxCodes;
    storage.nestedAbsmax = q.doubleQuant->nestedAbsmax;
    storage.offset = q.doubleQuant->offset;
    for (auto [first, count] : {std::pair {0, 1001}, {1, 2}, {63, 3}, {500, 501}, {1000, 1}, {77, 0}}) {
        std::vector<float> part(static_cast<std::size_t>(count));
        dequantize4bitRange(storage, static_cast<std::uint64_t>(first), part);
        for (int i = 0; i < count; ++i)
            ASSERT_EQ(std::bit_cast<std::uint32_t>(part[static_cast<std::size_t>(i)]),
                      std::bit_cast<std::uint32_t>(whole[static_cast<std::size_t>(first + i)]))
                << "element " << first + i;
    }
    std::vector<float> past(3);
    EXPECT_THAT([&] { dequantize4bitRange(storage, 1000, past); },
                ThrowsMessage<UsageError>(HasSubstr("past the end of a 4-bit tensor of 1001 values")));
    storage.nestedAbsmax = {};
    EXPECT_THAT([&] { dequantize4bitRange(storage, 0, past); },
                ThrowsMessage<FormatError>(HasSubstr("too few nested_absmax entries")));
}

TEST(Nf4Quantizer, RejectsABlocksizeBitsandbytesDoesNotAcceptNamingIt)
{
    const std::vector<float> in(100, 1.0f);
    EXPECT_THAT([&] { quantize4bit(in, nf4(48)); },
                ThrowsMessage<UsageError>(HasSubstr("4-bit blocksize 48 is not supported")));
    EXPECT_THAT([&] { quantize4bitReference(in, nf4(8192)); }, ThrowsMessage<UsageError>(HasSubstr("32, 64, 128")));
}

TEST(Nf4Quantizer, CostsFourAndAHalfBitsAtBlocksize64AndAbout4Point127WithDoubleQuant)
{
    const std::uint64_t n = 4096ull * 4096ull;
    EXPECT_NEAR(bnb4BitBitsPerParameter(nf4(64), n), 4.5, 1e-4);
    Bnb4BitOptions dq = nf4(64);
    dq.doubleQuant = true;
    EXPECT_NEAR(bnb4BitBitsPerParameter(dq, n), 4.0 + 8.0 / 64 + 32.0 / (64 * 256), 1e-3);
}

} // namespace
