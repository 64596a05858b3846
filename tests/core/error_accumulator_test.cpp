#include "core/metrics/error_accumulator.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

struct Pairs {
    std::vector<float> original;
    std::vector<float> reconstructed;
};

Pairs randomPairs(std::size_t n, unsigned seed)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> weight(0.0f, 0.02f);
    std::normal_distribution<float> noise(0.0f, 0.001f);
    Pairs p;
    for (std::size_t i = 0; i < n; ++i) {
        p.original.push_back(weight(rng));
        p.reconstructed.push_back(p.original.back() + noise(rng));
    }
    return p;
}

// The definitions, written the plain way in double, one pair at a time.
struct Direct {
    double mse = 0, maxAbs = 0, meanAbs = 0, rel = 0, sqnr = 0, cosine = 0;
    std::vector<double> absErrors;
};

Direct direct(const Pairs& p)
{
    Direct d;
    double se = 0, sa = 0, xx = 0, qq = 0, xq = 0;
    for (std::size_t i = 0; i < p.original.size(); ++i) {
        const double x = p.original[i], q = p.reconstructed[i], e = q - x;
        se += e * e;
        sa += std::fabs(e);
        xx += x * x;
        qq += q * q;
        xq += x * q;
        d.maxAbs = std::max(d.maxAbs, std::fabs(e));
        d.absErrors.push_back(std::fabs(e));
    }
    const double n = double(p.original.size());
    d.mse = se / n;
    d.meanAbs = sa / n;
    d.rel = std::sqrt(se / xx);
    d.sqnr = 10 * std::log10(xx / se);
    d.cosine = xq / std::sqrt(xx * qq);
    std::sort(d.absErrors.begin(), d.absErrors.end());
    return d;
}

double nearestRank(const std::vector<double>& sorted, double q)
{
    const auto rank = std::max<std::size_t>(1, std::size_t(std::ceil(q * double(sorted.size()))));
    return sorted[rank - 1];
}

} // namespace

TEST(ErrorAccumulator, MatchesTheDefinitionsComputedDirectly)
{
    const Pairs p = randomPairs(100003, 7);
    ErrorAccumulator acc;
    acc.add(p.original, p.reconstructed);
    const ErrorStats s = acc.stats();
    const Direct d = direct(p);
    EXPECT_EQ(s.count, p.original.size());
    EXPECT_NEAR(s.mse, d.mse, d.mse * 1e-5);
    EXPECT_NEAR(s.rmse, std::sqrt(d.mse), std::sqrt(d.mse) * 1e-5);
    EXPECT_DOUBLE_EQ(s.maxAbsError, d.maxAbs);
    EXPECT_NEAR(s.meanAbsError, d.meanAbs, d.meanAbs * 1e-5);
    EXPECT_NEAR(s.relError, d.rel, d.rel * 1e-5);
    EXPECT_NEAR(s.sqnrDb, d.sqnr, 1e-4);
    EXPECT_NEAR(s.cosine, d.cosine, 1e-6);
    EXPECT_EQ(s.nonFinite(), 0u);
}

TEST(ErrorAccumulator, PercentilesFallWithinTheStatedBinPrecision)
{
    const Pairs p = randomPairs(50000, 11);
    ErrorAccumulator acc;
    acc.add(p.original, p.reconstructed);
    const ErrorStats s = acc.stats();
    const Direct d = direct(p);
    EXPECT_NEAR(s.p50AbsError, nearestRank(d.absErrors, 0.50), nearestRank(d.absErrors, 0.50) * 0.0625);
    EXPECT_NEAR(s.p95AbsError, nearestRank(d.absErrors, 0.95), nearestRank(d.absErrors, 0.95) * 0.0625);
    EXPECT_NEAR(s.p99AbsError, nearestRank(d.absErrors, 0.99), nearestRank(d.absErrors, 0.99) * 0.0625);
    EXPECT_LE(s.p50AbsError, s.p95AbsError);
    EXPECT_LE(s.p95AbsError, s.p99AbsError);
    EXPECT_LE(s.p99AbsError, s.maxAbsError * 1.0625);
}

TEST(ErrorAccumulator, MergingChunksInAnyOrderGivesTheWholeTensorsStatistics)
{
    const Pairs p = randomPairs(70001, 3);
    ErrorAccumulator whole;
    whole.add(p.original, p.reconstructed);

    // Odd chunk sizes, merged back to front, as threads would finish them.
    std::vector<ErrorAccumulator> parts;
    for (std::size_t start = 0; start < p.original.size(); start += 4999) {
        const std::size_t n = std::min<std::size_t>(4999, p.original.size() - start);
        parts.emplace_back();
        parts.back().add(std::span(p.original).subspan(start, n), std::span(p.reconstructed).subspan(start, n));
    }
    ErrorAccumulator merged;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it)
        merged.merge(*it);

    const ErrorStats a = whole.stats(), b = merged.stats();
    EXPECT_EQ(a.count, b.count);
    EXPECT_NEAR(a.mse, b.mse, a.mse * 1e-6);
    EXPECT_EQ(a.maxAbsError, b.maxAbsError);
    // Sub-blocks of 256 are summed in float, then in double: cosine agrees to about 1e-8.
    EXPECT_NEAR(a.cosine, b.cosine, 1e-7);
    EXPECT_EQ(a.p50AbsError, b.p50AbsError);
    EXPECT_EQ(a.p99AbsError, b.p99AbsError);
}

TEST(ErrorAccumulator, CountsNonFiniteValuesAndKeepsThemOutOfTheSums)
{
    const float inf = std::numeric_limits<float>::infinity();
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> x(300, 0.5f), q(300, 0.25f);
    x[3] = inf;
    x[77] = nan;
    x[100] = -inf;
    q[200] = nan; // a finite weight that came back non-finite
    ErrorAccumulator acc;
    acc.add(x, q);
    const ErrorStats s = acc.stats();
    EXPECT_EQ(s.nonFiniteInputs, 3u);
    EXPECT_EQ(s.nonFiniteOutputs, 1u);
    EXPECT_EQ(s.count, 296u);
    EXPECT_DOUBLE_EQ(s.mse, 0.0625);
    EXPECT_DOUBLE_EQ(s.maxAbsError, 0.25);
    EXPECT_TRUE(std::isfinite(s.sqnrDb));
    EXPECT_TRUE(std::isfinite(s.cosine));
}

TEST(ErrorAccumulator, AllZeroTensorHasNoErrorAndCosineOne)
{
    std::vector<float> zeros(4096, 0.0f), negativeZeros(4096, -0.0f);
    ErrorAccumulator acc;
    acc.add(zeros, negativeZeros);
    const ErrorStats s = acc.stats();
    EXPECT_EQ(s.count, 4096u);
    EXPECT_EQ(s.mse, 0.0);
    EXPECT_EQ(s.relError, 0.0);
    EXPECT_EQ(s.cosine, 1.0);
    EXPECT_EQ(s.sqnrDb, std::numeric_limits<double>::infinity());
    EXPECT_EQ(s.p99AbsError, 0.0);
}

// Nothing measured is NaN in every metric: never a perfect-looking 0 error, cosine 1 or SQNR 0.
TEST(ErrorAccumulator, EmptyInputGivesZeroCountAndNotMeasuredMetrics)
{
    ErrorAccumulator acc;
    acc.add({}, {});
    const ErrorStats s = acc.stats();
    EXPECT_EQ(s.count, 0u);
    for (double metric : {s.mse, s.rmse, s.maxAbsError, s.meanAbsError, s.relError, s.sqnrDb, s.cosine, s.p50AbsError,
                          s.p95AbsError, s.p99AbsError})
        EXPECT_TRUE(std::isnan(metric)) << metric;
}

// Every error is exactly 1: the histogram's interpolation inside [1, 1.0625) would put p99 above
// the maximum it is a percentile of.
TEST(ErrorAccumulator, PercentilesNeverExceedTheExactMaximum)
{
    const std::vector<float> x(1000, 0.0f), q(1000, 1.0f);
    ErrorAccumulator acc;
    acc.add(x, q);
    const ErrorStats s = acc.stats();
    EXPECT_EQ(s.maxAbsError, 1.0);
    EXPECT_EQ(s.p99AbsError, 1.0);
    EXPECT_EQ(s.p95AbsError, 1.0);
    EXPECT_EQ(s.p50AbsError, 1.0);
}

TEST(ErrorAccumulator, OnlyNonFiniteReconstructionsGiveNotMeasuredMetrics)
{
    const float inf = std::numeric_limits<float>::infinity();
    const std::vector<float> x {1.0f, 2.0f, inf}, q {std::nanf(""), inf, 1.0f};
    ErrorAccumulator acc;
    acc.add(x, q);
    const ErrorStats s = acc.stats();
    EXPECT_EQ(s.count, 0u);
    EXPECT_EQ(s.nonFiniteInputs, 1u);
    EXPECT_EQ(s.nonFiniteOutputs, 2u);
    EXPECT_TRUE(std::isnan(s.cosine));
    EXPECT_TRUE(std::isnan(s.relError));
}

TEST(ErrorAccumulator, HugeFiniteValuesDoNotOverflowTheSums)
{
    std::vector<float> x(64, 3e38f), q(64, -3e38f);
    ErrorAccumulator acc;
    acc.add(x, q);
    const ErrorStats s = acc.stats();
    EXPECT_EQ(s.nonFinite(), 0u);
    EXPECT_NEAR(s.maxAbsError, 6e38, 1e32);
    EXPECT_NEAR(s.cosine, -1.0, 1e-12);
}

TEST(ErrorAccumulator, RejectsSpansOfDifferentLengthsNamingBoth)
{
    std::vector<float> a(3), b(4);
    ErrorAccumulator acc;
    EXPECT_THAT([&] { acc.add(a, b); }, ThrowsMessage<Error>(HasSubstr("3 original values but 4 reconstructed")));
}

// Sums whose rounding puts the product past the norms' product: the cosine stays within [-1, 1].
TEST(ErrorAccumulator, CosineNeverExceedsOne)
{
    ErrorSums sums;
    sums.count = 2;
    sums.sumSquaredOriginal = 1.0;
    sums.sumSquaredReconstructed = 1.0;
    sums.sumProduct = 1.0 + 4e-16;
    EXPECT_EQ(errorStatsFromSums(sums, MagnitudeHistogram()).cosine, 1.0);
    sums.sumProduct = -1.0 - 4e-16;
    EXPECT_EQ(errorStatsFromSums(sums, MagnitudeHistogram()).cosine, -1.0);
}
