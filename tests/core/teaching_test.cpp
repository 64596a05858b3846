#include "core/quant/teaching.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

TeachingOptions options(TeachingGrid grid, int bits, Granularity granularity = Granularity::Tensor)
{
    TeachingOptions o;
    o.grid = grid;
    o.bits = bits;
    o.granularity = granularity;
    return o;
}

std::vector<float> roundTrip(const std::vector<float>& in, const TeachingOptions& o, std::uint64_t rowLength = 0)
{
    const TeachingTensor t = quantizeTeaching(in, rowLength, o);
    std::vector<float> out(in.size());
    dequantizeTeaching(t, out);
    return out;
}

TEST(TeachingScheme, DrawsTheCourseLevelsWithAGapAtZero)
{
    EXPECT_THAT(teachingLevels(TeachingGrid::Course, 3),
                ElementsAre(-1.0f, -0.75f, -0.5f, -0.25f, 0.25f, 0.5f, 0.75f, 1.0f));
    EXPECT_THAT(teachingLevels(TeachingGrid::Course, 2), ElementsAre(-1.0f, -0.5f, 0.5f, 1.0f));
}

TEST(TeachingScheme, SnapsTheCourseExamplesToTheirLevels)
{
    // -0.7 -> -0.75, 0.05 -> 0.25, 0.45 -> 0.5 with 3 bits (the course's worked examples).
    const std::vector<float> in = {-0.7f, 0.05f, 0.45f, 1.0f, 0.0f};
    EXPECT_THAT(roundTrip(in, options(TeachingGrid::Course, 3)), ElementsAre(-0.75f, 0.25f, 0.5f, 1.0f, 0.25f));
}

TEST(TeachingScheme, SymmetricGridContainsPlusMinusOneButNoZeroForEvenCounts)
{
    const auto levels = teachingLevels(TeachingGrid::Symmetric, 2);
    EXPECT_THAT(levels, ElementsAre(-1.0f, FloatEq(-1.0f / 3), FloatEq(1.0f / 3), 1.0f));
    EXPECT_THAT(roundTrip({3.0f, 0.2f, -3.0f}, options(TeachingGrid::Symmetric, 2)),
                ElementsAre(3.0f, FloatEq(1.0f), -3.0f));
}

TEST(TeachingScheme, Int8AbsmaxKeepsZeroExactAndRoundsToTheNearestStep)
{
    const std::vector<float> in = {1.27f, 0.0f, -0.505f, 0.004f};
    const TeachingTensor t = quantizeTeaching(in, 0, options(TeachingGrid::IntegerZero, 8));
    EXPECT_FLOAT_EQ(t.groups[0].scale, 0.01f);
    std::vector<float> out(in.size());
    dequantizeTeaching(t, out);
    EXPECT_FLOAT_EQ(out[0], 1.27f);
    EXPECT_EQ(out[1], 0.0f);
    EXPECT_FLOAT_EQ(out[2], -0.51f) << "-50.5 rounds away from zero";
    EXPECT_EQ(out[3], 0.0f);
}

TEST(TeachingScheme, ZeroPointGridUsesTheWholeRangeOfAnAsymmetricGroup)
{
    const std::vector<float> in = {0.0f, 1.0f, 2.0f, 3.0f};
    const TeachingTensor t = quantizeTeaching(in, 0, options(TeachingGrid::ZeroPoint, 2));
    EXPECT_EQ(t.groups[0].zeroPoint, 0);
    EXPECT_THAT(t.codes, ElementsAre(0, 1, 2, 3));
    EXPECT_THAT(roundTrip({-1.0f, 0.0f, 2.0f}, options(TeachingGrid::ZeroPoint, 4)), ElementsAre(-1.0f, 0.0f, 2.0f));
}

TEST(TeachingScheme, GivesEachRowItsOwnScalePerChannel)
{
    const std::vector<float> in = {1.0f, 0.5f, 100.0f, 50.0f};
    const TeachingTensor t = quantizeTeaching(in, 2, options(TeachingGrid::IntegerZero, 4, Granularity::Channel));
    ASSERT_EQ(t.groups.size(), 2u);
    EXPECT_FLOAT_EQ(t.groups[0].scale, 1.0f / 7);
    EXPECT_FLOAT_EQ(t.groups[1].scale, 100.0f / 7);
}

TEST(TeachingScheme, DequantizesAnAllZeroGroupToZero)
{
    for (TeachingGrid g :
         {TeachingGrid::Course, TeachingGrid::Symmetric, TeachingGrid::IntegerZero, TeachingGrid::ZeroPoint})
        EXPECT_THAT(roundTrip({0.0f, 0.0f}, options(g, 3)), ElementsAre(0.0f, 0.0f));
}

TEST(TeachingScheme, OptimisedPathGivesTheReferenceCodesForEveryGridBitsAndGranularity)
{
    std::mt19937 rng(2);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> in(3001);
    for (float& x : in)
        x = dist(rng);
    in[7] = INFINITY;
    in[8] = std::nanf("");
    for (TeachingGrid g :
         {TeachingGrid::Course, TeachingGrid::Symmetric, TeachingGrid::IntegerZero, TeachingGrid::ZeroPoint})
        for (int bits = 2; bits <= 8; ++bits)
            for (Granularity gr : {Granularity::Tensor, Granularity::Channel, Granularity::Block}) {
                const TeachingOptions o = options(g, bits, gr);
                const TeachingTensor a = quantizeTeachingReference(in, 100, o);
                const TeachingTensor b = quantizeTeaching(in, 100, o, 3);
                ASSERT_EQ(a.codes, b.codes) << "bits " << bits;
                ASSERT_EQ(a.groups.size(), b.groups.size());
            }
}

TEST(TeachingScheme, RejectsBitsOutsideTwoToEight)
{
    EXPECT_THAT([] { quantizeTeaching(std::vector<float> {1.0f}, 0, options(TeachingGrid::Course, 9)); },
                ThrowsMessage<UsageError>(HasSubstr("teaching scheme with 9 bits: use 2 to 8 bits")));
}

TEST(TeachingScheme, CountsTheScalePerGroupInTheStorageCost)
{
    TeachingOptions o = options(TeachingGrid::IntegerZero, 4, Granularity::Block);
    o.blocksize = 32;
    EXPECT_DOUBLE_EQ(teachingBitsPerParameter(o, 4096, 64), 5.0);
    o.grid = TeachingGrid::ZeroPoint;
    EXPECT_DOUBLE_EQ(teachingBitsPerParameter(o, 4096, 64), 4.0 + 40.0 / 32);
}

} // namespace
