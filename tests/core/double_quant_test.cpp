#include "bnb_vectors.h"

#include "core/quant/bnb_4bit.h"
#include "core/quant/bnb_tables.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <vector>

using namespace quantlens;
using namespace quantlens::core;

namespace {

TEST(DoubleQuant, TakesTheOffsetAsTheCorrectlyRoundedMeanOfTheBlockAbsmax)
{
    // 0.1f + 0.2f + 0.3f summed in fp32 then divided differs from the double sum rounded once.
    const std::vector<float> absmax = {0.1f, 0.2f, 0.3f, 1e-8f};
    const double exact = (double(0.1f) + double(0.2f) + double(0.3f) + double(1e-8f)) / 4.0;
    EXPECT_EQ(doubleQuantOffset(absmax), static_cast<float>(exact));
    EXPECT_EQ(doubleQuantOffset({}), 0.0f);
}

TEST(DoubleQuant, ReconstructsAnAbsmaxEqualToTheOffsetFromAnAllZeroNestedBlock)
{
    // One block: absmax - offset is 0, its nested absmax is 0, the code is 0 (NaN path) and the
    // reconstruction is -1.0 * 0 + offset = offset.
    const std::vector<float> absmax = {0.37f};
    const DoubleQuantState state = doubleQuantize(absmax, doubleQuantOffset(absmax));
    ASSERT_EQ(state.nestedAbsmax.size(), 1u);
    EXPECT_EQ(state.nestedAbsmax[0], 0.0f);
    EXPECT_EQ(state.absmaxCodes[0], 0);
    std::vector<float> back(1);
    doubleDequantize(state.absmaxCodes, state.nestedAbsmax, state.offset, back);
    EXPECT_EQ(back[0], 0.37f);
}

TEST(DoubleQuant, GroupsTheBlockAbsmaxIn256AndUsesTheDynamicMapStoredWithTheVectors)
{
    std::vector<float> absmax(600);
    for (std::size_t i = 0; i < absmax.size(); ++i)
        absmax[i] = 0.01f + 0.0001f * static_cast<float>(i % 97);
    const DoubleQuantState state = doubleQuantize(absmax, doubleQuantOffset(absmax));
    EXPECT_EQ(state.absmaxCodes.size(), 600u);
    EXPECT_EQ(state.nestedAbsmax.size(), 3u);
    std::vector<float> back(600);
    doubleDequantize(state.absmaxCodes, state.nestedAbsmax, state.offset, back);
    for (std::size_t i = 0; i < back.size(); ++i)
        EXPECT_NEAR(back[i], absmax[i], 0.01f * state.nestedAbsmax[i / 256] + 1e-7f) << i;

    const auto nestedCode = test::readArray<std::uint32_t>(test::bnbVectorsDir()
                                                           + "/normal_4096x64/nf4_bs64_dq_bfloat16/nested_code.bin");
    for (int i = 0; i < 256; ++i)
        EXPECT_EQ(nestedCode[static_cast<std::size_t>(i)], std::bit_cast<std::uint32_t>(kDynamicCode[i])) << i;
}

TEST(DoubleQuant, SavesAbout0Point373BitPerParameterAtBlocksize64)
{
    Bnb4BitOptions plain;
    Bnb4BitOptions dq;
    dq.doubleQuant = true;
    const std::uint64_t n = 8192ull * 8192ull;
    EXPECT_NEAR(bnb4BitBitsPerParameter(plain, n) - bnb4BitBitsPerParameter(dq, n), 0.373, 0.001);
}

} // namespace
