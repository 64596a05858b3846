#include "core/quant/bnb_4bit.h"
#include "core/quant/bnb_tables.h"
#include "core/quant/ggml_dequantize.h"
#include "core/quant/ggml_quantize.h"
#include "core/quant/scheme.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <thread>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

std::vector<float> normal(std::size_t n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> dist(0.0f, 0.02f);
    std::vector<float> v(n);
    for (float& x : v)
        x = dist(rng);
    return v;
}

std::vector<std::uint32_t> bitsOf(const std::vector<float>& v)
{
    std::vector<std::uint32_t> b(v.size());
    for (std::size_t i = 0; i < v.size(); ++i)
        b[i] = std::bit_cast<std::uint32_t>(v[i]);
    return b;
}

// The scan's way: statistics over aligned chunks, merged, then a round trip per chunk.
std::vector<float> roundTripInChunks(const Scheme& scheme, const std::vector<float>& in,
                                     std::span<const std::uint64_t> shape, std::uint64_t chunkUnits)
{
    const std::uint64_t step = scheme.chunkAlignment(shape) * chunkUnits;
    const std::span<const float> all(in);
    SchemeStatistics statistics;
    if (scheme.needsTensorStatistics())
        for (std::uint64_t b = 0; b < in.size(); b += step)
            scheme.mergeStatistics(statistics,
                                   scheme.chunkStatistics(all.subspan(b, std::min(step, in.size() - b)), shape));
    std::vector<float> out(in.size());
    for (std::uint64_t b = 0; b < in.size(); b += step) {
        RoundTripContext context;
        context.shape = shape;
        context.first = b;
        context.statistics = &statistics;
        const std::uint64_t n = std::min(step, in.size() - b);
        scheme.roundTrip(all.subspan(b, n), std::span<float>(out).subspan(b, n), context);
    }
    return out;
}

TEST(SchemeRegistry, ParsesACommaSeparatedListAsTheUserTypesIt)
{
    const auto schemes = parseSchemeList("nf4, FP4,int8,,fp8-e4m3");
    ASSERT_EQ(schemes.size(), 4u);
    EXPECT_EQ(schemes[0]->id(), "nf4");
    EXPECT_EQ(schemes[1]->id(), "fp4");
    EXPECT_EQ(schemes[3]->id(), "fp8-e4m3");
}

TEST(SchemeRegistry, RejectsAnUnknownIdListingTheValidOnes)
{
    EXPECT_THAT([] { parseSchemeList("nf4,nf5"); },
                ThrowsMessage<UsageError>(HasSubstr("unknown scheme 'nf5': valid schemes are nf4, nf4-dq, fp4")));
    EXPECT_THAT([] { parseSchemeList(" , "); }, ThrowsMessage<UsageError>(HasSubstr("no scheme given")));
    SchemeOptions bad;
    bad.blocksize = 48;
    EXPECT_THAT([&] { makeScheme("nf4", bad); }, ThrowsMessage<UsageError>(HasSubstr("blocksize 48")));
}

TEST(SchemeRegistry, AppliesDoubleQuantToTheBitsandbytesSchemes)
{
    SchemeOptions o;
    o.doubleQuant = true;
    EXPECT_EQ(makeScheme("nf4", o)->id(), "nf4-dq");
    EXPECT_EQ(makeScheme("fp4-dq")->id(), "fp4-dq");
}

TEST(Scheme, EverySchemeGivesTheSameRoundTripInAnyChunkingAndFromSeveralThreads)
{
    const std::vector<std::uint64_t> shape = {64, 1536}; // 98304 values: 6 nested DQ groups of 64-blocks
    std::vector<float> in = normal(64 * 1536, 4);
    in[100] = 7.5f; // an LLM.int8 outlier column
    for (const auto& description : listSchemes()) {
        const auto scheme = makeScheme(description.id);
        const std::vector<float> whole = roundTripInChunks(*scheme, in, shape, 1u << 30);
        const std::vector<float> chunked = roundTripInChunks(*scheme, in, shape, 1);
        ASSERT_EQ(bitsOf(chunked), bitsOf(whole)) << description.id;
        std::vector<float> threaded[2];
        std::thread a([&] { threaded[0] = roundTripInChunks(*scheme, in, shape, 3); });
        std::thread b([&] { threaded[1] = roundTripInChunks(*scheme, in, shape, 2); });
        a.join();
        b.join();
        ASSERT_EQ(bitsOf(threaded[0]), bitsOf(whole)) << description.id;
        ASSERT_EQ(bitsOf(threaded[1]), bitsOf(whole)) << description.id;
        double error = 0.0;
        for (std::size_t i = 0; i < in.size(); ++i)
            error = std::max(error, std::fabs(double(whole[i]) - in[i]));
        // No scheme errs by more than half its coarsest step: half the tensor's absmax (7.5).
        EXPECT_LE(error, 0.5 * 7.5 + 1e-6) << description.id << " does not reconstruct the tensor";
    }
}

TEST(Scheme, Nf4RoundTripEqualsTheBitsandbytesQuantizerWithDoubleQuant)
{
    const std::vector<std::uint64_t> shape = {4096, 64};
    const std::vector<float> in = normal(4096 * 64, 8);
    Bnb4BitOptions options;
    options.doubleQuant = true;
    std::vector<float> expected(in.size());
    dequantize4bit(quantize4bitReference(in, options), expected);
    const auto scheme = makeScheme("nf4-dq");
    EXPECT_EQ(bitsOf(roundTripInChunks(*scheme, in, shape, 2)), bitsOf(expected));
}

TEST(Scheme, Q4_0RoundTripEqualsGgmlsQuantizerAndPadsAPartialBlock)
{
    const std::vector<float> in = normal(100, 21); // 3 blocks of 32 and a partial fourth
    const std::vector<std::uint64_t> shape = {100};
    const auto scheme = makeScheme("q4_0");
    EXPECT_EQ(scheme->chunkAlignment(shape), 32u);
    EXPECT_NEAR(scheme->bitsPerParameter(shape), 4 * 18 * 8 / 100.0, 1e-12);
    std::vector<float> padded(in);
    padded.resize(128, 0.0f);
    std::vector<std::byte> blocks(4 * 18);
    quantizeGgml(DType::Q4_0, padded, blocks);
    std::vector<float> expected(128);
    dequantizeGgml(DType::Q4_0, blocks, expected);
    expected.resize(100);
    EXPECT_EQ(bitsOf(roundTripInChunks(*scheme, in, shape, 1)), bitsOf(expected));
}

TEST(Scheme, RejectsAChunkThatDoesNotStartOnABlock)
{
    const auto scheme = makeScheme("nf4");
    const std::vector<std::uint64_t> shape = {1000};
    std::vector<float> in(64), out(64);
    RoundTripContext context;
    context.shape = shape;
    context.first = 10;
    EXPECT_THAT([&] { scheme->roundTrip(in, out, context); },
                ThrowsMessage<UsageError>(HasSubstr("chunk starts at element 10, not a multiple of 64")));
    EXPECT_THAT(
        [&] {
            makeScheme("fp8-e4m3")->roundTrip(in, out, RoundTripContext {shape, 0, nullptr});
        },
        ThrowsMessage<UsageError>(HasSubstr("needs the tensor statistics")));
}

TEST(Scheme, ReportsTheStorageCostOfEachSchemeForALargeMatrix)
{
    const std::vector<std::uint64_t> shape = {4096, 4096};
    EXPECT_NEAR(makeScheme("nf4")->bitsPerParameter(shape), 4.5, 1e-3);
    EXPECT_NEAR(makeScheme("nf4-dq")->bitsPerParameter(shape), 4.127, 1e-3);
    EXPECT_NEAR(makeScheme("dyn8")->bitsPerParameter(shape), 8.0078, 1e-3);
    EXPECT_NEAR(makeScheme("int8")->bitsPerParameter(shape), 8.0, 1e-3);
    EXPECT_NEAR(makeScheme("llm-int8")->bitsPerParameter(shape), 8.0078, 1e-3);
    EXPECT_NEAR(makeScheme("bf16")->bitsPerParameter(shape), 16.0, 1e-9);
    SchemeOptions block;
    block.granularity = Granularity::Block;
    block.blocksize = 32;
    EXPECT_NEAR(makeScheme("int4", block)->bitsPerParameter(shape), 5.0, 1e-9);
}

TEST(Scheme, ShowsTheLabTheNf4LevelsOfABlockAndItsCodes)
{
    const std::vector<std::uint64_t> shape = {256};
    const std::vector<float> in = normal(256, 12);
    const auto scheme = makeScheme("nf4");
    const BlockView view = scheme->viewBlock(in, shape, 1);
    EXPECT_EQ(view.first, 64u);
    ASSERT_EQ(view.levels.size(), 16u);
    const Bnb4BitTensor q = quantize4bitReference(in, Bnb4BitOptions {});
    EXPECT_EQ(view.scale, q.absmax[1]);
    for (std::size_t i = 0; i < 64; ++i) {
        const std::size_t e = 64 + i;
        const std::uint8_t code = e % 2 == 0 ? q.packed[e / 2] >> 4 : q.packed[e / 2] & 0x0f;
        EXPECT_EQ(view.codes[i], code) << i;
        EXPECT_EQ(view.levels[view.codes[i]], kNf4Code[code] * q.absmax[1]);
        EXPECT_EQ(view.dequantized[i], kNf4Code[code] * q.absmax[1]);
        EXPECT_EQ(view.original[i], in[e]);
    }
    EXPECT_THAT([&] { scheme->viewBlock(in, shape, 4); },
                ThrowsMessage<UsageError>(HasSubstr("block 4 is past the end")));
}

TEST(Scheme, NamesTheOutlierColumnsLlmInt8Found)
{
    const auto scheme = makeScheme("llm-int8");
    const std::vector<std::uint64_t> shape = {2, 3};
    const std::vector<float> in = {0.5f, 8.0f, -1.0f, 0.25f, 0.1f, 9.0f};
    EXPECT_EQ(scheme->statisticsNote(scheme->chunkStatistics(in, shape)), "2 outlier columns (|x| >= 6) kept in fp16");
}

} // namespace
