#include "core/metrics/magnitude_histogram.h"
#include "core/metrics/value_histogram.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(MagnitudeHistogram, EveryValueFallsInsideItsBinsEdges)
{
    for (float v : {1e-19f, 1e-7f, 0.001f, 0.0123f, 0.5f, 1.0f, 1.03f, 3.9f, 1234.5f, 1e18f}) {
        const std::size_t bin = MagnitudeHistogram::binOf(v);
        EXPECT_LE(MagnitudeHistogram::binLower(bin), v) << v;
        EXPECT_GT(MagnitudeHistogram::binUpper(bin), v) << v;
        EXPECT_LE(MagnitudeHistogram::binUpper(bin) / MagnitudeHistogram::binLower(bin), 1.0625 + 1e-12) << v;
    }
}

TEST(MagnitudeHistogram, ZeroAndTinyValuesGoToTheZeroBinAndHugeOnesToTheLast)
{
    EXPECT_EQ(MagnitudeHistogram::binOf(0.0f), 0u);
    EXPECT_EQ(MagnitudeHistogram::binOf(1e-30f), 0u);
    EXPECT_EQ(MagnitudeHistogram::binOf(3e38f), MagnitudeHistogram::kBinCount - 1);
}

TEST(MagnitudeHistogram, QuantileOfEqualValuesIsThatValueWithinTheBin)
{
    MagnitudeHistogram h;
    for (int i = 0; i < 1000; ++i)
        h.add(0.01f);
    EXPECT_NEAR(h.quantile(0.5), 0.01, 0.01 * 0.0625);
    EXPECT_EQ(h.count(), 1000u);
}

TEST(MagnitudeHistogram, QuantileSplitsTwoClustersAtTheRightRank)
{
    MagnitudeHistogram h;
    for (int i = 0; i < 90; ++i)
        h.add(0.001f);
    for (int i = 0; i < 10; ++i)
        h.add(1.0f);
    EXPECT_NEAR(h.quantile(0.90), 0.001, 0.001 * 0.0625);
    EXPECT_NEAR(h.quantile(0.91), 1.0, 0.0625);
    EXPECT_EQ(MagnitudeHistogram().quantile(0.5), 0.0);
}

TEST(ValueHistogram, CountsIntoEqualWidthBinsAndClampsTheEnds)
{
    ValueHistogram h(-1.0, 1.0, 4);
    for (float v : {-1.0f, -0.6f, -0.1f, 0.0f, 0.4f, 0.99f, 1.0f, 5.0f, -5.0f, std::nanf(""), INFINITY})
        h.add(v);
    EXPECT_EQ(std::vector<std::uint64_t>(h.counts().begin(), h.counts().end()),
              (std::vector<std::uint64_t> {3, 1, 2, 3}));
}

TEST(ValueHistogram, RefusesToMergeDifferentRangesNamingThem)
{
    ValueHistogram a(-1.0, 1.0, 4), b(-2.0, 2.0, 4);
    EXPECT_THAT([&] { a.merge(b); }, ThrowsMessage<Error>(HasSubstr("[-2, 2] in 4 bins into [-1, 1]")));
}
