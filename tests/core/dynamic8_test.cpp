#include "bnb_vectors.h"

#include "core/quant/bnb_dynamic8.h"
#include "core/quant/bnb_tables.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>

using namespace quantlens;
using namespace quantlens::core;
using quantlens::test::BnbCase;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

class Dynamic8Vectors : public ::testing::TestWithParam<BnbCase> { };

TEST_P(Dynamic8Vectors, MatchesBitsandbytesBitForBit)
{
    const BnbCase& c = GetParam();
    const std::vector<float> input = test::readAsFloat(c.path("input.bin"), c.dtype);
    const Dynamic8Tensor reference = quantizeDynamic8Reference(input, c.blocksize);
    const Dynamic8Tensor fast = quantizeDynamic8(input, c.blocksize, 2);
    const std::vector<std::uint8_t> codes = test::readBytes(c.path("quant.bin"));
    EXPECT_EQ(test::firstMismatch(fast.codes, reference.codes), -1) << "optimised vs reference codes";
    if (c.dir != "matrix_256x256_rowscale/dyn8_bs256_bfloat16") {
        EXPECT_EQ(test::firstMismatch(reference.codes, codes), -1) << "codes";
    } else {
        // bitsandbytes' fast-math reciprocal (see bnb_4bit_case.h): each differing block must be
        // reproduced by a reciprocal one ulp away from the correctly rounded one.
        std::size_t differing = 0;
        for (std::size_t b = 0; b < reference.absmax.size(); ++b) {
            const std::size_t begin = b * c.blocksize;
            const std::size_t end = std::min<std::size_t>(begin + c.blocksize, input.size());
            if (std::equal(codes.begin() + begin, codes.begin() + end, reference.codes.begin() + begin))
                continue;
            ++differing;
            const float inverse = 1.0f / reference.absmax[b];
            bool explained = false;
            for (float candidate : {std::nextafter(inverse, 0.0f), std::nextafter(inverse, 1e30f)}) {
                bool same = true;
                for (std::size_t i = begin; i < end && same; ++i)
                    same = quantizeDynamicValue(kDynamicCode, input[i] * candidate) == codes[i];
                explained = explained || same;
            }
            EXPECT_TRUE(explained) << "block " << b;
        }
        EXPECT_GT(differing, 0u) << "the known fast-math case now matches";
        EXPECT_LE(differing * 20, reference.absmax.size());
    }
    const auto absmax = test::readArray<std::uint32_t>(c.path("absmax.bin"));
    EXPECT_EQ(test::firstMismatch(test::floatBits(reference.absmax), absmax), -1);
    EXPECT_EQ(test::firstMismatch(test::floatBits(fast.absmax), absmax), -1);
    EXPECT_EQ(test::readArray<std::uint32_t>(c.path("code.bin")), test::floatBits({kDynamicCode, kDynamicCode + 256}));

    Dynamic8Tensor theirs = reference;
    theirs.codes = codes;
    std::vector<float> out(input.size());
    dequantizeDynamic8(theirs, out);
    EXPECT_EQ(test::firstMismatch(test::castBits(out, c.dtype), test::readBits(c.path("dequant.bin"), c.dtype)), -1);
}

INSTANTIATE_TEST_SUITE_P(BnbVectors, Dynamic8Vectors, ::testing::ValuesIn(test::bnbCases("8bit")),
                         [](const auto& info) { return test::bnbCaseName(info.param); });

TEST(Dynamic8Quantizer, OptimisedSearchGivesTheReferenceCodesForEveryBlocksize)
{
    std::mt19937 rng(11);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> in(20011);
    for (float& x : in)
        x = dist(rng) * (rng() % 7 == 0 ? 100.0f : 1.0f);
    in[17] = 0.0f;
    in[18] = -0.0f;
    std::fill(in.begin() + 4096, in.begin() + 4096 + 64, 0.0f);
    for (std::uint32_t blocksize = 32; blocksize <= 4096; blocksize *= 2) {
        const Dynamic8Tensor reference = quantizeDynamic8Reference(in, blocksize);
        const Dynamic8Tensor fast = quantizeDynamic8(in, blocksize, 3);
        ASSERT_EQ(fast.codes, reference.codes) << "blocksize " << blocksize;
        ASSERT_EQ(test::floatBits(fast.absmax), test::floatBits(reference.absmax));
    }
}

TEST(Dynamic8Quantizer, SendsAnAllZeroBlockToCodeZeroWhichDequantizesToNegativeZero)
{
    const std::vector<float> in(64, 0.0f);
    const Dynamic8Tensor q = quantizeDynamic8(in, 64);
    EXPECT_EQ(q.codes[0], 0);
    std::vector<float> out(64);
    dequantizeDynamic8(q, out);
    EXPECT_TRUE(std::signbit(out[0]));
    EXPECT_EQ(out[0], 0.0f);
}

// As the 4-bit quantizer: an all-NaN whole block keeps -FLT_MAX, an all-NaN partial last block
// gets 0 from the zeros the kernel pads it with; the reference and the fast search agree.
TEST(Dynamic8Quantizer, AllNanBlocksGetTheAbsmaxBitsandbytesGives)
{
    const std::uint32_t blocksize = 64;
    for (std::size_t tail : {std::size_t {10}, std::size_t {16}}) {
        std::vector<float> in(3 * blocksize + tail, -0.5f);
        for (std::size_t i = 0; i < in.size(); ++i)
            if ((i >= blocksize && i < 2 * blocksize) || i >= 3 * blocksize)
                in[i] = std::nanf("");
        std::vector<std::uint8_t> codes(in.size()), fastCodes(in.size());
        std::vector<float> absmax(4), fastAbsmax(4);
        quantizeBlockwiseDynamicReference(in, blocksize, kDynamicCode, codes, absmax);
        quantizeBlockwiseDynamic(in, blocksize, kDynamicCode, fastCodes, fastAbsmax);
        EXPECT_EQ(absmax, (std::vector<float> {0.5f, -FLT_MAX, 0.5f, 0.0f}));
        EXPECT_EQ(fastAbsmax, absmax);
        EXPECT_EQ(fastCodes, codes);
    }
}

TEST(Dynamic8Quantizer, RejectsABlocksizeThatIsNotAPowerOfTwoNamingIt)
{
    const std::vector<float> in(10, 1.0f);
    EXPECT_THAT([&] { quantizeDynamic8(in, 100); },
                ThrowsMessage<UsageError>(HasSubstr("8-bit blockwise blocksize 100 is not supported")));
}

TEST(Dynamic8Quantizer, CostsEightBitsPlusOneFp32AbsmaxPerBlock)
{
    EXPECT_DOUBLE_EQ(dynamic8BitsPerParameter(256, 4096), 8.0 + 32.0 / 256);
    EXPECT_DOUBLE_EQ(dynamic8BitsPerParameter(4096, 4096 * 16), 8.0 + 32.0 / 4096);
}

} // namespace
