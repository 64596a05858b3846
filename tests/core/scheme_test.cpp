#include "core/quant/bnb_4bit.h"
#include "core/quant/bnb_tables.h"
#include "core/quant/calibration.h"
#include "core/quant/ggml_dequantize.h"
#include "core/quant/ggml_quantize.h"
#include "core/quant/quant_policy.h"
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
using ::testing::AllOf;
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
                ThrowsMessage<UsageError>(AllOf(HasSubstr("unknown scheme 'nf5'; closest: nf4, "),
                                                HasSubstr("Valid schemes are nf4, nf4-dq, fp4"))));
    EXPECT_THAT([] { makeScheme("q4k"); }, ThrowsMessage<UsageError>(HasSubstr("closest: q4_k")));
    // llama.cpp's file types are mixes, not schemes: said so, with the type they are named after.
    EXPECT_THAT([] { makeScheme("Q4_K_M"); },
                ThrowsMessage<UsageError>(
                    AllOf(HasSubstr("'Q4_K_M' is a llama.cpp file type"), HasSubstr("q4_k is its main type"))));
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
    in[100] = 7.5f; // past LLM.int8's outlier threshold
    // A calibrated scheme (GPTQ) with a Hessian of coupled inputs: I + 0.1 (all ones).
    auto calibration = std::make_shared<Calibration>();
    calibration->hessian = Eigen::MatrixXf::Identity(1536, 1536) + Eigen::MatrixXf::Constant(1536, 1536, 0.1f);
    // AWQ's transform: input scales, output scales and a clip per group of 128, all in play.
    auto awq = std::make_shared<AwqTransform>();
    awq->inputScale = Eigen::VectorXf::LinSpaced(1536, 0.8f, 1.25f);
    awq->outputScale = Eigen::VectorXf::LinSpaced(64, 1.2f, 0.9f);
    awq->clip.assign(64 * 12, 5.0f);
    for (const auto& description : listSchemes()) {
        auto scheme = makeScheme(description.id);
        if (scheme->needsCalibration())
            scheme = bindCalibration(scheme, calibration, scheme->awqOptions() ? awq : nullptr);
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

TEST(Scheme, Q4_0RoundTripEqualsGgmlsQuantizerRowByRow)
{
    const std::vector<float> in = normal(3 * 96, 21); // 3 rows of 3 blocks
    const std::vector<std::uint64_t> shape = {3, 96};
    const auto scheme = makeScheme("q4_0");
    EXPECT_EQ(scheme->cannotStore(shape), "");
    EXPECT_EQ(scheme->chunkAlignment(shape), 32u);
    EXPECT_NEAR(scheme->bitsPerParameter(shape), 4.5, 1e-12);
    std::vector<std::byte> blocks(9 * 18);
    quantizeGgml(DType::Q4_0, in, blocks);
    std::vector<float> expected(in.size());
    dequantizeGgml(DType::Q4_0, blocks, expected);
    EXPECT_EQ(bitsOf(roundTripInChunks(*scheme, in, shape, 1)), bitsOf(expected));
}

// ggml quantizes row by row and a row holds whole blocks: rows of 172 (stories260K's ffn_down) cannot
// be stored as Q4_0, and rows of 64 not in any k-quant. Measuring blocks that straddle rows would
// give a number no GGUF file could have.
TEST(Scheme, GgmlFormatsRefuseRowsThatAreNotWholeBlocks)
{
    const std::vector<std::uint64_t> downProj = {64, 172};
    EXPECT_EQ(makeScheme("q4_0")->cannotStore(downProj),
              "rows of 172 values are not a whole number of Q4_0's 32-value blocks, so ggml cannot store this "
              "tensor as Q4_0 (llama.cpp keeps such tensors in another type)");
    EXPECT_THAT(makeScheme("q4_k")->cannotStore(std::vector<std::uint64_t> {172, 64}),
                HasSubstr("rows of 64 values are not a whole number of Q4_K's 256-value blocks"));
    EXPECT_EQ(makeScheme("q6_k")->cannotStore(std::vector<std::uint64_t> {2, 512}), "");
    EXPECT_THAT(makeScheme("q8_0")->cannotStore(std::vector<std::uint64_t> {100}), HasSubstr("rows of 100 values"));
    EXPECT_EQ(makeScheme("q8_0")->cannotStore(std::vector<std::uint64_t> {0, 7}), ""); // nothing to store
    // The other schemes store any shape: bitsandbytes flattens the tensor, int8 works per row.
    for (const char* id : {"nf4", "fp4", "dyn8", "llm-int8", "int8", "fp8-e4m3", "bf16"})
        EXPECT_EQ(makeScheme(id)->cannotStore(downProj), "") << id;

    std::vector<float> in(64 * 172, 0.5f), out(in.size());
    EXPECT_THAT(
        [&] {
            makeScheme("q4_0")->roundTrip(in, out, RoundTripContext {downProj, 0, nullptr});
        },
        ThrowsMessage<UsageError>(HasSubstr("scheme q4_0: rows of 172 values")));
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

// LLM.int8 weights as bitsandbytes stores them: a value of 8 (past the 6.0 outlier threshold, which
// picks activation columns) is in int8 like the rest and sets its row's absmax, so -1 in the same
// row becomes -16 / 127 x 8, not the exact -1 an "outlier column in fp16" would keep.
TEST(Scheme, LlmInt8QuantizesEveryValueOfARowAgainstItsAbsmax)
{
    const auto scheme = makeScheme("llm-int8");
    const std::vector<std::uint64_t> shape = {2, 3};
    const std::vector<float> in = {0.5f, 8.0f, -1.0f, 0.25f, 0.1f, 9.0f};
    EXPECT_FALSE(scheme->needsTensorStatistics());
    EXPECT_NEAR(scheme->bitsPerParameter(shape), 8.0 + 32.0 / 3.0, 1e-12);
    std::vector<float> out(in.size());
    scheme->roundTrip(in, out, RoundTripContext {shape, 0, nullptr});
    const double step0 = 8.0 / 127.0, step1 = 9.0 / 127.0;
    const std::vector<double> expected = {8 * step0, 127 * step0, -16 * step0, 4 * step1, 1 * step1, 127 * step1};
    for (std::size_t i = 0; i < in.size(); ++i)
        EXPECT_NEAR(out[i], expected[i], 1e-6) << i;
}

} // namespace
