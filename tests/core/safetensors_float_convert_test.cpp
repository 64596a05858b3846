#include "core/io/float_convert.h"
#include "core/util/error.h"
#include "core/util/float16.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

using namespace quantlens;
using namespace quantlens::core;

namespace {

// All 65536 16-bit patterns, stored one byte past an aligned start so that the vector loop sees
// unaligned input.
std::vector<std::byte> allPatternsUnaligned()
{
    std::vector<std::byte> bytes(1 + 2 * 65536);
    for (std::uint32_t i = 0; i < 65536; ++i) {
        const auto v = static_cast<std::uint16_t>(i);
        std::memcpy(bytes.data() + 1 + 2 * i, &v, 2);
    }
    return bytes;
}

} // namespace

// Every path this CPU supports, so that a machine with AVX2 checks the SSE2 and scalar loops too.
std::vector<ConvertPath> supportedPaths()
{
    std::vector<ConvertPath> paths;
    for (auto p : {ConvertPath::Scalar, ConvertPath::Sse2, ConvertPath::Avx2})
        if (static_cast<int>(p) <= static_cast<int>(bestConvertPath()))
            paths.push_back(p);
    return paths;
}

TEST(FloatConvert, Bf16RowMatchesTheScalarConversionBitForBitOnEveryPatternAndPath)
{
    const auto bytes = allPatternsUnaligned();
    for (const auto path : supportedPaths()) {
        SCOPED_TRACE(convertPathName(path));
        std::vector<float> out(65536 - 3); // not a multiple of the vector step: the scalar tail runs too
        bf16RowToFloat(std::span(bytes).subspan(1), out, path);
        for (std::uint32_t i = 0; i < out.size(); ++i)
            ASSERT_EQ(std::bit_cast<std::uint32_t>(out[i]),
                      std::bit_cast<std::uint32_t>(bf16ToFloat(static_cast<std::uint16_t>(i))))
                << "pattern " << i;
    }
}

TEST(FloatConvert, Fp16RowMatchesTheScalarConversionBitForBitOnEveryPatternAndPath)
{
    const auto bytes = allPatternsUnaligned();
    for (const auto path : supportedPaths()) {
        SCOPED_TRACE(convertPathName(path));
        std::vector<float> out(65536 - 5);
        fp16RowToFloat(std::span(bytes).subspan(1), out, path);
        for (std::uint32_t i = 0; i < out.size(); ++i)
            ASSERT_EQ(std::bit_cast<std::uint32_t>(out[i]),
                      std::bit_cast<std::uint32_t>(fp16ToFloat(static_cast<std::uint16_t>(i))))
                << "pattern " << i;
    }
}

TEST(FloatConvert, Fp16ToFloatIsExactAndQuietsNaNs)
{
    EXPECT_EQ(fp16ToFloat(0x3c00), 1.0f);
    EXPECT_EQ(fp16ToFloat(0x0001), std::ldexp(1.0f, -24)); // smallest subnormal
    EXPECT_EQ(fp16ToFloat(0xfbff), -65504.0f);
    EXPECT_EQ(fp16ToFloat(0x7c00), INFINITY);
    // A signalling NaN (quiet bit clear, payload 1) becomes the quiet NaN with the same payload.
    EXPECT_EQ(std::bit_cast<std::uint32_t>(fp16ToFloat(0x7c01)), 0x7fc02000u);
    EXPECT_EQ(std::bit_cast<std::uint32_t>(fp16ToFloat(0xfe00)), 0xffc00000u);
}

TEST(FloatConvert, NamesPathsAndRefusesOnesTheCpuLacks)
{
    EXPECT_STREQ(convertPathName(ConvertPath::Avx2), "AVX2");
    std::vector<float> out(4);
    const std::vector<std::byte> in(8);
    if (bestConvertPath() != ConvertPath::Avx2)
        EXPECT_THROW(bf16RowToFloat(in, out, ConvertPath::Avx2), UnsupportedError);
    else
        EXPECT_NO_THROW(bf16RowToFloat(in, out, ConvertPath::Avx2));
}

TEST(FloatConvert, DecodesFp8AndIntegerTypes)
{
    EXPECT_EQ(fp8E4m3ToFloat(0x7e), 448.0f); // the largest E4M3FN value
    EXPECT_TRUE(std::isnan(fp8E4m3ToFloat(0x7f)));
    EXPECT_EQ(fp8E4m3ToFloat(0x01), std::ldexp(1.0f, -9)); // smallest subnormal
    EXPECT_EQ(fp8E4m3ToFloat(0xb8), -1.0f);
    EXPECT_EQ(fp8E5m2ToFloat(0x7b), 57344.0f);
    EXPECT_TRUE(std::isinf(fp8E5m2ToFloat(0x7c)));
    const std::vector<std::int8_t> ints {-128, 0, 127};
    std::vector<float> out(3);
    plainRowToFloat(DType::I8, std::as_bytes(std::span(ints)), out);
    EXPECT_EQ(out, (std::vector<float> {-128.0f, 0.0f, 127.0f}));
    EXPECT_THAT([&] { plainRowToFloat(DType::Q4_0, std::as_bytes(std::span(ints)), out); },
                ::testing::ThrowsMessage<UnsupportedError>(::testing::HasSubstr("Q4_0")));
}
