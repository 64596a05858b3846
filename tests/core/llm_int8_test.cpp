#include "core/quant/llm_int8.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

TEST(LlmInt8, KeepsOutlierColumnsIn16BitAndCountsThem)
{
    // 2 rows x 3 columns; column 1 holds 8.0 (>= 6.0), so it stays in fp16 for every row.
    const std::vector<float> in = {0.5f, 8.0f, -1.0f, 0.25f, 0.1f, 0.125f};
    const LlmInt8Tensor t = quantizeLlmInt8(in, 3);
    EXPECT_EQ(t.outlierColumns, 1u);
    EXPECT_EQ(t.outlierValues, 1u);
    EXPECT_THAT(t.outlierColumn, ElementsAre(0, 1, 0));
    EXPECT_FLOAT_EQ(t.rowAbsmax[0], 1.0f) << "the outlier column does not count in the row absmax";
    EXPECT_FLOAT_EQ(t.rowAbsmax[1], 0.25f);
    std::vector<float> out(in.size());
    dequantizeLlmInt8(t, out);
    EXPECT_EQ(out[1], 8.0f);
    EXPECT_EQ(out[4], 0.0999755859375f) << "0.1 rounded to fp16";
    EXPECT_FLOAT_EQ(out[2], -1.0f);
    EXPECT_NEAR(out[0], 0.5f, 1.0f / 254);
}

TEST(LlmInt8, QuantizesEachRowByItsAbsmaxTo127Steps)
{
    const std::vector<float> in = {127.0f, 63.5f, -1.0f, 2.0f};
    const LlmInt8Tensor t = quantizeLlmInt8(in, 2, 0.0f);
    EXPECT_EQ(t.outlierColumns, 0u);
    EXPECT_THAT(t.codes, ElementsAre(127, 64, -64, 127)) << "63.5 and -63.5 round to even";
}

TEST(LlmInt8, ThreadedRowsGiveTheReferenceResult)
{
    std::mt19937 rng(3);
    std::normal_distribution<float> dist(0.0f, 1.5f);
    const std::uint64_t rows = 97, cols = 131;
    std::vector<float> in(rows * cols);
    for (float& x : in)
        x = dist(rng);
    in[5] = INFINITY;
    const std::vector<float> columnMax = columnAbsmax(in, cols);
    const LlmInt8Tensor a = quantizeLlmInt8RowsReference(in, cols, 6.0f, columnMax);
    const LlmInt8Tensor b = quantizeLlmInt8Rows(in, cols, 6.0f, columnMax, 3);
    EXPECT_GT(a.outlierColumns, 0u);
    EXPECT_EQ(a.codes, b.codes);
    EXPECT_EQ(a.rowAbsmax, b.rowAbsmax);
    EXPECT_EQ(a.outliers, b.outliers);
    EXPECT_EQ(a.outlierValues, b.outlierValues);
    EXPECT_EQ(a.outlierColumn, b.outlierColumn);
}

TEST(LlmInt8, RejectsAChunkThatIsNotWholeRows)
{
    const std::vector<float> in(10, 1.0f);
    EXPECT_THAT([&] { quantizeLlmInt8(in, 4); },
                ThrowsMessage<UsageError>(HasSubstr("10 values are not a multiple of 4 columns")));
}

TEST(LlmInt8, CostsEightBitsPlusRowScalesPlusSixteenBitOutliers)
{
    const std::vector<float> in(64 * 64, 1.0f);
    const LlmInt8Tensor t = quantizeLlmInt8(in, 64);
    EXPECT_NEAR(t.bitsPerParameter(), 8.0 + 32.0 / 64 + 1.0 / 64, 1e-9);
}

} // namespace
