#include "core/metrics/error_accumulator.h"
#include "core/metrics/magnitude_histogram.h"
#include "core/metrics/value_histogram.h"
#include "core/quant/bnb_4bit.h"
#include "core/quant/bnb_dynamic8.h"
#include "core/quant/bnb_tables.h"
#include "core/quant/ggml_quantize.h"
#include "core/quant/ggml_types.h"
#include "core/simd/instruction_set.h"
#include "core/simd/kernels.h"
#include "core/util/error.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <vector>

// Every instruction set this CPU has, each checked on its own against scalar references written
// here (or the Ref quantizers, which the golden ggml and bitsandbytes data check): the same bits on
// every path, not only on the one the machine picks.
namespace {

using namespace quantlens;
using namespace quantlens::core;

class Kernels : public ::testing::TestWithParam<InstructionSet> {
protected:
    void SetUp() override
    {
        if (int(GetParam()) > int(detectedInstructionSet()))
            GTEST_SKIP() << "this CPU lacks " << instructionSetName(GetParam());
        m_scope.emplace(GetParam());
    }
    void TearDown() override { m_scope.reset(); }
    const kernels::Kernels& k() const { return kernels::kernelsFor(GetParam()); }

private:
    std::optional<ScopedInstructionSet> m_scope;
};

std::string setName(const ::testing::TestParamInfo<InstructionSet>& info)
{
    return instructionSetName(info.param);
}

std::uint32_t bitsOf(float f)
{
    return std::bit_cast<std::uint32_t>(f);
}

// Normal weights with the awkward values mixed in at random places.
std::vector<float> awkward(std::size_t n, std::uint32_t seed, bool specials)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::uniform_int_distribution<int> pick(0, 40);
    std::vector<float> v(n);
    for (auto& x : v) {
        x = normal(rng);
        switch (specials ? pick(rng) : 99) {
        case 0:
            x = 0.0f;
            break;
        case 1:
            x = -0.0f;
            break;
        case 2:
            x = 1e-41f; // subnormal
            break;
        case 3:
            x = 3e4f;
            break;
        case 4:
            x = std::numeric_limits<float>::quiet_NaN();
            break;
        case 5:
            x = -std::numeric_limits<float>::infinity();
            break;
        default:
            break;
        }
    }
    return v;
}

TEST_P(Kernels, TheActiveTableIsTheChosenSet)
{
    EXPECT_EQ(kernels::kernels().set, GetParam());
    EXPECT_EQ(k().set, GetParam());
}

TEST_P(Kernels, ErrorLanesAreTheScalarSumsLaneByLane)
{
    for (std::size_t n : {std::size_t(0), std::size_t(1), std::size_t(15), std::size_t(16), std::size_t(17),
                          std::size_t(100), std::size_t(255), std::size_t(256)}) {
        const auto x = awkward(n, 1 + std::uint32_t(n), false);
        auto q = awkward(n, 1000 + std::uint32_t(n), false);
        for (std::size_t i = 0; i < n; ++i)
            q[i] = i % 7 == 0 ? x[i] : x[i] + q[i] * 0.01f; // exact pairs (bin 0) among small errors
        float expected[6][16] = {};
        for (float& m : expected[5])
            m = std::numeric_limits<float>::infinity();
        float maxAbs[16] = {};
        std::vector<std::uint32_t> expectedBins(n);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t lane = i % 16;
            const float e = q[i] - x[i];
            const float a = std::fabs(e);
            expected[0][lane] += e * e;
            expected[1][lane] += a;
            expected[2][lane] += x[i] * x[i];
            expected[3][lane] += q[i] * q[i];
            expected[4][lane] += x[i] * q[i];
            expected[5][lane] = a < expected[5][lane] ? a : expected[5][lane];
            maxAbs[lane] = a > maxAbs[lane] ? a : maxAbs[lane];
            expectedBins[i] = std::uint32_t(MagnitudeHistogram::binOf(a));
        }
        kernels::ErrorLanes lanes;
        std::vector<std::uint32_t> bins(n + 1);
        k().errorSubBlock(x.data(), q.data(), n, lanes, bins.data());
        const float* got[6] = {lanes.squaredError,         lanes.absError, lanes.squaredOriginal,
                               lanes.squaredReconstructed, lanes.product,  lanes.minAbs};
        for (int s = 0; s < 6; ++s)
            for (std::size_t lane = 0; lane < 16; ++lane)
                EXPECT_EQ(bitsOf(got[s][lane]), bitsOf(expected[s][lane]))
                    << "sum " << s << " lane " << lane << " n " << n;
        for (std::size_t lane = 0; lane < 16; ++lane)
            EXPECT_EQ(bitsOf(lanes.maxAbs[lane]), bitsOf(maxAbs[lane])) << lane;
        bins.resize(n);
        EXPECT_EQ(bins, expectedBins) << n;
    }
}

TEST_P(Kernels, ValueBinsAndMinMaxMatchTheScalarRule)
{
    const auto v = awkward(1000, 7, true);
    const float lo = -0.05f, scale = float(64 / 0.1), last = 63.0f;
    std::vector<std::uint32_t> bins(v.size());
    k().valueBins(v.data(), v.size(), lo, scale, last, 64, bins.data());
    float expectedLo = std::numeric_limits<float>::infinity(), expectedHi = -expectedLo;
    for (std::size_t i = 0; i < v.size(); ++i) {
        std::uint32_t expected = 64;
        if (std::isfinite(v[i])) {
            float position = (v[i] - lo) * scale;
            position = position > 0.0f ? position : 0.0f;
            position = position < last ? position : last;
            expected = std::uint32_t(std::int32_t(position));
        }
        EXPECT_EQ(bins[i], expected) << i << ": " << v[i];
        expectedLo = v[i] < expectedLo ? v[i] : expectedLo;
        expectedHi = v[i] > expectedHi ? v[i] : expectedHi;
    }
    float gotLo = 0.0f, gotHi = 0.0f;
    k().minMax(v.data(), v.size(), gotLo, gotHi);
    EXPECT_EQ(bitsOf(gotLo), bitsOf(expectedLo));
    EXPECT_EQ(bitsOf(gotHi), bitsOf(expectedHi));
}

TEST_P(Kernels, FourBitQuantizationGivesTheReferenceBytes)
{
    for (FourBitType type : {FourBitType::Nf4, FourBitType::Fp4}) {
        for (std::uint32_t blocksize : {64u, 128u, 4096u}) {
            for (std::size_t n : {std::size_t(4096 * 3), std::size_t(4096 * 3 + 1), std::size_t(5000)}) {
                const auto in = awkward(n, blocksize + std::uint32_t(n), true);
                Bnb4BitOptions options;
                options.type = type;
                options.blocksize = blocksize;
                const Bnb4BitTensor ours = quantize4bit(in, options, 2);
                const Bnb4BitTensor reference = quantize4bitReference(in, options);
                EXPECT_EQ(ours.packed, reference.packed) << int(type) << " " << blocksize << " " << n;
                ASSERT_EQ(ours.absmax.size(), reference.absmax.size());
                for (std::size_t b = 0; b < ours.absmax.size(); ++b)
                    EXPECT_EQ(bitsOf(ours.absmax[b]), bitsOf(reference.absmax[b])) << b;
                std::vector<float> fast(n), slow(n);
                dequantize4bit(ours, fast, 2);
                dequantize4bitReference(reference, slow);
                for (std::size_t i = 0; i < n; ++i)
                    ASSERT_EQ(bitsOf(fast[i]), bitsOf(slow[i])) << i;
            }
        }
    }
}

TEST_P(Kernels, DynamicEightBitGivesTheReferenceCodes)
{
    for (std::uint32_t blocksize : {32u, 256u, 4096u}) {
        for (std::size_t n : {std::size_t(4096 * 2), std::size_t(4096 * 2 + 7), std::size_t(33)}) {
            const auto in = awkward(n, 7 * blocksize + std::uint32_t(n), true);
            const Dynamic8Tensor ours = quantizeDynamic8(in, blocksize, 2);
            const Dynamic8Tensor reference = quantizeDynamic8Reference(in, blocksize);
            EXPECT_EQ(ours.codes, reference.codes) << blocksize << " " << n;
            std::vector<float> out(n);
            dequantizeDynamic8(ours, out);
            for (std::size_t i = 0; i < n; ++i)
                ASSERT_EQ(bitsOf(out[i]), bitsOf(kDynamicCode[ours.codes[i]] * ours.absmax[i / blocksize])) << i;
        }
    }
}

TEST_P(Kernels, KQuantsGiveTheBytesOfGgmlsReferenceLoops)
{
    struct Case {
        DType type;
        void (*fast)(std::span<const float>, std::span<std::byte>);
        void (*reference)(std::span<const float>, std::span<std::byte>);
    };
    const Case cases[] = {{DType::Q2_K, quantizeRowQ2K, quantizeRowQ2KRef},
                          {DType::Q3_K, quantizeRowQ3K, quantizeRowQ3KRef},
                          {DType::Q4_K, quantizeRowQ4K, quantizeRowQ4KRef},
                          {DType::Q5_K, quantizeRowQ5K, quantizeRowQ5KRef},
                          {DType::Q6_K, quantizeRowQ6K, quantizeRowQ6KRef}};
    // Seven super-blocks (an odd count: Q4_K and Q5_K search two at a time): normal weights, then
    // blocks of zeros, of one constant, of tiny and of large values, all positive, and NaN and inf.
    std::vector<float> in = awkward(256 * 3, 11, false);
    in.resize(256 * 7);
    for (std::size_t i = 256 * 3; i < 256 * 4; ++i)
        in[i] = i < 256 * 3 + 32 ? 0.0f : 0.25f;
    for (std::size_t i = 256 * 4; i < 256 * 5; ++i)
        in[i] = float(i % 13) * 1e-21f * (i % 2 ? -1.0f : 1.0f);
    for (std::size_t i = 256 * 5; i < 256 * 6; ++i)
        in[i] = 1000.0f + float(i % 17);
    const auto special = awkward(256, 12, true);
    std::copy(special.begin(), special.end(), in.begin() + 256 * 6);
    for (const auto& c : cases) {
        std::vector<std::byte> fast(ggmlByteSize(c.type, in.size())), reference(fast.size());
        c.fast(in, fast);
        c.reference(in, reference);
        const std::size_t blockBytes = fast.size() / 7;
        for (std::size_t b = 0; b < 7; ++b)
            EXPECT_EQ(std::memcmp(fast.data() + b * blockBytes, reference.data() + b * blockBytes, blockBytes), 0)
                << dtypeName(c.type) << " super-block " << b;
        // Many random normal rows as well, at several scales.
        for (std::uint32_t seed = 0; seed < 8; ++seed) {
            auto row = awkward(256 * 16, 100 + seed, false);
            for (auto& x : row)
                x *= std::ldexp(1.0f, int(seed) * 3 - 12);
            std::vector<std::byte> a(ggmlByteSize(c.type, row.size())), b(a.size());
            c.fast(row, a);
            c.reference(row, b);
            EXPECT_EQ(a, b) << dtypeName(c.type) << " seed " << seed;
        }
    }
}

TEST_P(Kernels, ErrorStatisticsAreBitIdenticalToTheBaselines)
{
    const auto x = awkward(100003, 21, true);
    auto q = awkward(100003, 22, false);
    for (std::size_t i = 0; i < x.size(); ++i)
        q[i] = x[i] + q[i] * 0.05f;
    ErrorAccumulator ours;
    ours.add(x, q);
    ValueHistogram weights(-0.1, 0.1, 64);
    weights.add(x);
    ErrorAccumulator baseline;
    ValueHistogram baselineWeights(-0.1, 0.1, 64);
    {
        const ScopedInstructionSet on(InstructionSet::Baseline);
        baseline.add(x, q);
        baselineWeights.add(x);
    }
    const ErrorSums a = ours.sums(), b = baseline.sums();
    EXPECT_EQ(a.count, b.count);
    EXPECT_EQ(a.nonFiniteInputs, b.nonFiniteInputs);
    EXPECT_EQ(a.nonFiniteOutputs, b.nonFiniteOutputs);
    EXPECT_EQ(std::bit_cast<std::uint64_t>(a.sumSquaredError), std::bit_cast<std::uint64_t>(b.sumSquaredError));
    EXPECT_EQ(std::bit_cast<std::uint64_t>(a.sumAbsError), std::bit_cast<std::uint64_t>(b.sumAbsError));
    EXPECT_EQ(std::bit_cast<std::uint64_t>(a.sumProduct), std::bit_cast<std::uint64_t>(b.sumProduct));
    EXPECT_EQ(a.maxAbsError, b.maxAbsError);
    EXPECT_EQ(ours.errorHistogram().counts(), baseline.errorHistogram().counts());
    EXPECT_EQ(ours.errorHistogram().count(), a.count);
    const auto wc = weights.counts(), bc = baselineWeights.counts();
    EXPECT_TRUE(std::equal(wc.begin(), wc.end(), bc.begin(), bc.end()));
}

INSTANTIATE_TEST_SUITE_P(EverySet, Kernels,
                         ::testing::Values(InstructionSet::Baseline, InstructionSet::Avx2, InstructionSet::Avx512),
                         setName);

TEST(InstructionSet, NamesParseBackAndUnknownNamesAreRefused)
{
    for (InstructionSet set : supportedInstructionSets())
        EXPECT_EQ(parseInstructionSet(instructionSetName(set)), set);
    EXPECT_THROW(parseInstructionSet("sse9"), UsageError);
    EXPECT_EQ(supportedInstructionSets().front(), InstructionSet::Baseline);
    EXPECT_EQ(supportedInstructionSets().back(), detectedInstructionSet());
}

TEST(InstructionSet, ASetTheCpuLacksIsRefused)
{
    if (detectedInstructionSet() == InstructionSet::Avx512)
        GTEST_SKIP() << "this CPU has every set";
    EXPECT_THROW(setInstructionSet(InstructionSet::Avx512), UnsupportedError);
    EXPECT_THROW(kernels::kernelsFor(InstructionSet::Avx512), UnsupportedError);
}

} // namespace
