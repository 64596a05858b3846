#include "core/quant/ggml_types.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

TEST(GgmlTypes, ListTheBlockGeometryOfGgmlCommonH)
{
    const auto* q4k = ggmlTraitsById(12);
    ASSERT_NE(q4k, nullptr);
    EXPECT_EQ(q4k->dtype, DType::Q4_K);
    EXPECT_EQ(q4k->name, "q4_K");
    EXPECT_EQ(q4k->blockElements, 256u);
    EXPECT_EQ(q4k->blockBytes, 144u);
    EXPECT_DOUBLE_EQ(q4k->bitsPerWeight(), 4.5);
    EXPECT_DOUBLE_EQ(ggmlTraits(DType::Q6_K).bitsPerWeight(), 6.5625);
    EXPECT_DOUBLE_EQ(ggmlTraits(DType::Q8_0).bitsPerWeight(), 8.5);
    EXPECT_DOUBLE_EQ(ggmlTraits(DType::Q2_K).bitsPerWeight(), 2.625);
    EXPECT_EQ(ggmlTraits(DType::BF16).ggmlId, 30u);
}

TEST(GgmlTypes, LookUpByIdAndByDtypeAgree)
{
    for (const auto& traits : ggmlTypes()) {
        EXPECT_EQ(ggmlTraitsById(traits.ggmlId), &traits) << traits.name;
        EXPECT_EQ(ggmlTraitsByDtype(traits.dtype), &traits) << traits.name;
    }
}

TEST(GgmlTypes, ListImportanceAndTernaryTypesWithSizesButNoDequantizer)
{
    const auto* iq2 = ggmlTraitsById(16);
    ASSERT_NE(iq2, nullptr);
    EXPECT_EQ(iq2->dtype, DType::IQ2_XXS);
    EXPECT_EQ(iq2->blockBytes, 66u);
    EXPECT_FALSE(iq2->canDequantize);
    const auto* tq1 = ggmlTraitsById(34);
    ASSERT_NE(tq1, nullptr);
    EXPECT_EQ(tq1->blockBytes, 54u);
    EXPECT_FALSE(tq1->canQuantize);
    EXPECT_TRUE(ggmlTraits(DType::Q5_K).canDequantize);
    EXPECT_TRUE(ggmlTraits(DType::Q5_K).canQuantize);
}

TEST(GgmlTypes, RemovedAndUnknownIdsHaveNoTraits)
{
    for (std::uint32_t id : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 40u, 1000u})
        EXPECT_EQ(ggmlTraitsById(id), nullptr) << id;
    EXPECT_EQ(ggmlTraitsByDtype(DType::NF4), nullptr);
}

TEST(GgmlTypes, ByteSizeRequiresWholeBlocks)
{
    EXPECT_EQ(ggmlByteSize(DType::Q4_0, 64), 36u);
    EXPECT_EQ(ggmlByteSize(DType::F16, 3), 6u);
    EXPECT_THAT([] { ggmlByteSize(DType::Q6_K, 300); },
                ThrowsMessage<Error>(HasSubstr("300 weights are not a whole number of q6_K blocks of 256")));
    EXPECT_THAT([] { ggmlByteSize(DType::FP4, 64); }, ThrowsMessage<UnsupportedError>(HasSubstr("FP4")));
}
