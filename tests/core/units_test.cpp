#include "core/util/units.h"

#include <gtest/gtest.h>

using namespace quantlens::core;

TEST(Units, GigabytesAreDecimalAndGibibytesBinary)
{
    EXPECT_EQ(formatGB(14e9), "14.00 GB");
    EXPECT_EQ(formatGiB(14e9), "13.04 GiB");
    EXPECT_EQ(formatGBAndGiB(1073741824.0), "1.07 GB (1.00 GiB)");
}

TEST(Units, ThousandsSeparatorsGroupByThree)
{
    EXPECT_EQ(formatThousands(0), "0");
    EXPECT_EQ(formatThousands(999), "999");
    EXPECT_EQ(formatThousands(1000), "1,000");
    EXPECT_EQ(formatThousands(6738415616ULL), "6,738,415,616");
    EXPECT_EQ(formatThousands(64760053760ULL), "64,760,053,760");
    EXPECT_EQ(formatThousands(12345), "12,345");
}

TEST(Units, BinaryBytesPickTheLargestUnitBelow1024)
{
    EXPECT_EQ(formatBinaryBytes(512), "512 B");
    EXPECT_EQ(formatBinaryBytes(1536), "1.50 KiB");
    EXPECT_EQ(formatBinaryBytes(3.0 * 1024 * 1024 * 1024), "3.00 GiB");
}

TEST(Units, CountsUseMetricSuffixes)
{
    EXPECT_EQ(formatCount(6.738e9), "6.74 B");
    EXPECT_EQ(formatCount(260032), "260.0 K");
    EXPECT_EQ(formatCount(12), "12");
}
