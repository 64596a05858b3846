#include "core/metrics/error_accumulator.h"
#include "gpu/error_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace quantlens;

// The device reduces sums and a histogram; turning them into metrics must give the CPU
// accumulator's numbers. This part is host code and runs without a GPU.
TEST(DeviceErrorSums, GiveTheSameStatsAsTheCpuAccumulatorForTheSameSums)
{
    std::vector<float> original;
    std::vector<float> reconstructed;
    for (int i = 0; i < 5000; ++i) {
        const float x = std::sin(0.37f * float(i)) * 0.02f;
        original.push_back(x);
        reconstructed.push_back(std::round(x * 400.0f) / 400.0f);
    }
    core::ErrorAccumulator cpu;
    cpu.add(original, reconstructed);
    const core::ErrorStats expected = cpu.stats();

    gpu::DeviceErrorSums sums;
    sums.count = cpu.count();
    double squaredError = 0, absError = 0, squaredOriginal = 0, squaredReconstructed = 0, product = 0, maxAbs = 0;
    sums.errorHistogram.assign(core::MagnitudeHistogram::kBinCount, 0);
    for (std::size_t i = 0; i < original.size(); ++i) {
        const double e = double(reconstructed[i]) - double(original[i]);
        squaredError += e * e;
        absError += std::fabs(e);
        squaredOriginal += double(original[i]) * original[i];
        squaredReconstructed += double(reconstructed[i]) * reconstructed[i];
        product += double(original[i]) * reconstructed[i];
        maxAbs = std::max(maxAbs, std::fabs(e));
        ++sums.errorHistogram[core::MagnitudeHistogram::binOf(std::fabs(reconstructed[i] - original[i]))];
    }
    sums.sumSquaredError = squaredError;
    sums.sumAbsError = absError;
    sums.sumSquaredOriginal = squaredOriginal;
    sums.sumSquaredReconstructed = squaredReconstructed;
    sums.sumProduct = product;
    sums.maxAbsError = maxAbs;
    const core::ErrorStats got = sums.stats();

    EXPECT_EQ(got.count, expected.count);
    EXPECT_NEAR(got.mse, expected.mse, 1e-6 * expected.mse); // the CPU sums floats in runs of 256
    EXPECT_NEAR(got.relError, expected.relError, 1e-6 * expected.relError);
    EXPECT_NEAR(got.cosine, expected.cosine, 1e-7);
    EXPECT_NEAR(got.maxAbsError, expected.maxAbsError, 1e-9);
    EXPECT_DOUBLE_EQ(got.p50AbsError, expected.p50AbsError);
    EXPECT_DOUBLE_EQ(got.p99AbsError, expected.p99AbsError);
}
