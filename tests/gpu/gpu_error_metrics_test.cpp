#include "core/metrics/error_accumulator.h"
#include "gpu/error_metrics.h"
#include "gpu_test_support.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <ostream>
#include <random>

namespace quantlens::gpu {
namespace {

struct MetricsCase {
    FourBitType type;
    int blocksize;
    bool doubleQuant;
};

inline void PrintTo(const MetricsCase& c, std::ostream* os)
{
    *os << (c.type == FourBitType::Nf4 ? "nf4" : "fp4") << " blocksize " << c.blocksize << (c.doubleQuant ? " dq" : "");
}

class DeviceErrorMetrics : public testing::TestWithParam<MetricsCase> { };

// The GPU's error sums against core::ErrorAccumulator fed the same pairs (the input and the GPU's
// own fp32 dequantization): counts, the maximum and every histogram bin must be equal; sums may
// differ only by the order of additions.
TEST_P(DeviceErrorMetrics, MatchTheCpuAccumulatorOnTheSamePairs)
{
    QUANTLENS_REQUIRE_GPU();
    const MetricsCase& c = GetParam();
    const std::int64_t n = 200'003; // a partial, odd last block
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<float> input(n);
    for (float& v : input)
        v = normal(rng);
    input[123] = std::numeric_limits<float>::quiet_NaN(); // counted apart, never in the sums
    input[4000] *= 40.0f; // an outlier

    Stream stream;
    const DeviceBuffer deviceInput = DeviceBuffer::fromHost(std::span<const float>(input));
    FourBitTensor q = allocateFourBit(n, c.blocksize, c.type, c.doubleQuant);
    quantize4bit(stream, deviceInput, FloatType::F32, q);
    DeviceBuffer reconstructed(std::size_t(n) * 4);
    dequantize4bit(stream, q, FloatType::F32, reconstructed);
    ErrorScratch scratch;
    const DeviceErrorSums sums = measureError4bit(stream, deviceInput, FloatType::F32, q, scratch);

    core::ErrorAccumulator cpu;
    const auto y = reconstructed.download<float>();
    cpu.add(input, y);
    const core::ErrorStats expected = cpu.stats();
    const core::ErrorStats found = sums.stats();

    EXPECT_EQ(found.count, expected.count);
    EXPECT_EQ(found.nonFiniteInputs, 1u);
    EXPECT_EQ(found.nonFiniteInputs, expected.nonFiniteInputs);
    EXPECT_EQ(found.nonFiniteOutputs, expected.nonFiniteOutputs);
    EXPECT_EQ(found.maxAbsError, expected.maxAbsError);
    const auto& cpuBins = cpu.errorHistogram().counts();
    ASSERT_EQ(sums.errorHistogram.size(), cpuBins.size());
    for (std::size_t bin = 0; bin < cpuBins.size(); ++bin)
        ASSERT_EQ(sums.errorHistogram[bin], cpuBins[bin]) << "histogram bin " << bin;
    EXPECT_NEAR(found.mse, expected.mse, 1e-6 * expected.mse);
    EXPECT_NEAR(found.meanAbsError, expected.meanAbsError, 1e-6 * expected.meanAbsError);
    EXPECT_NEAR(found.sqnrDb, expected.sqnrDb, 1e-5);
    EXPECT_NEAR(found.cosine, expected.cosine, 1e-7); // measured on an H100: within 3e-8
    EXPECT_NEAR(found.relError, expected.relError, 1e-6 * expected.relError);
    EXPECT_EQ(found.p50AbsError, expected.p50AbsError);
    EXPECT_EQ(found.p99AbsError, expected.p99AbsError);
}

INSTANTIATE_TEST_SUITE_P(Schemes, DeviceErrorMetrics,
                         testing::Values(MetricsCase {FourBitType::Nf4, 64, false},
                                         MetricsCase {FourBitType::Nf4, 64, true},
                                         MetricsCase {FourBitType::Fp4, 128, false},
                                         MetricsCase {FourBitType::Nf4, 4096, true}),
                         [](const testing::TestParamInfo<MetricsCase>& info) {
                             return std::string(info.param.type == FourBitType::Nf4 ? "Nf4" : "Fp4") + "Bs"
                                 + std::to_string(info.param.blocksize) + (info.param.doubleQuant ? "Dq" : "");
                         });

} // namespace
} // namespace quantlens::gpu
