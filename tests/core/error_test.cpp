#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

using namespace quantlens;
using ::testing::HasSubstr;

TEST(FormatError, MessageNamesFileFieldOffsetAndExpectation)
{
    const FormatError error({"model-00002.safetensors", 88, "lm_head.weight", "end <= 9437184", "9437312"},
                            "tensor ends past the end of the data section");
    const std::string message = error.what();
    EXPECT_THAT(message, HasSubstr("model-00002.safetensors: tensor ends past the end of the data section"));
    EXPECT_THAT(message, HasSubstr("[lm_head.weight]"));
    EXPECT_THAT(message, HasSubstr("[at byte 88]"));
    EXPECT_THAT(message, HasSubstr("(expected end <= 9437184, found 9437312)"));
    EXPECT_EQ(error.offset(), 88u);
    EXPECT_EQ(error.field(), "lm_head.weight");
}

TEST(FormatError, OmitsPartsThatAreUnknown)
{
    const FormatError error({"x.gguf", std::nullopt, "", "", ""}, "bad magic");
    EXPECT_STREQ(error.what(), "x.gguf: bad magic");
}

TEST(Errors, KindsShareOneBaseSoEdgesCatchThemTogether)
{
    EXPECT_THROW(throw UsageError("unknown preset"), Error);
    EXPECT_THROW(throw IoError("f", "cannot open"), Error);
    EXPECT_THROW(throw CancelledError(), Error);
}

TEST(FormatError, NamesTheFieldOnceWhenTheSentenceAlreadyDoes)
{
    const FormatError error({"a.safetensors", 8, "tensor 'w'", "", ""}, "tensor 'w' appears in more than one shard");
    EXPECT_STREQ(error.what(), "a.safetensors: tensor 'w' appears in more than one shard [at byte 8]");
    EXPECT_EQ(error.field(), "tensor 'w'"); // still there for code that reads the location
    // A field that is only part of a longer word is still named.
    const FormatError part({"a.gguf", std::nullopt, "n", "", ""}, "the tensor count is negative");
    EXPECT_STREQ(part.what(), "a.gguf: the tensor count is negative [n]");
}
