#include "core/util/error.h"
#include "gpu/benchmark.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

// The GPU benchmark's text, JSON and report table from a result built by hand: host code that
// runs without a GPU. Each measured figure must reach every output, under its own name.
namespace quantlens::gpu {
namespace {

using testing::HasSubstr;

GpuKernelTiming timingOf(double ms, double gbPerSecond, double fraction)
{
    GpuKernelTiming t;
    t.milliseconds = ms;
    t.bytesMoved = gbPerSecond * 1e9 * ms * 1e-3;
    t.gbPerSecond = gbPerSecond;
    t.copyFraction = fraction;
    t.elementsPerSecond = 1e9;
    return t;
}

GpuBenchmarkResult sampleResult()
{
    GpuBenchmarkResult r;
    r.device.name = "Test GPU";
    r.device.computeMajor = 9;
    r.blocksize = 64;
    r.repetitions = 50;
    r.copyGbPerSecond = 3000.0;
    GpuShapeResult shape;
    shape.rows = 4096;
    shape.cols = 4096;
    shape.dequantize = timingOf(0.020, 2195.0, 0.731);
    shape.dequantizeDoubleQuant = timingOf(0.021, 1983.0, 0.661);
    shape.quantize = timingOf(0.029, 1486.0, 0.495);
    shape.quantizeDoubleQuant = timingOf(0.040, 1048.0, 0.349);
    shape.sameSizeCopy = timingOf(0.0166, 2594.0, 0.864);
    GpuGemvTiming g;
    g.batch = 1;
    g.oursMilliseconds = 0.011;
    g.cublasMilliseconds = 0.020;
    g.speedup = 1.75;
    shape.gemv.push_back(g);
    r.shapes.push_back(shape);
    return r;
}

TEST(GpuBenchmarkReport, TextJsonAndTableCarryTheSameSizeCopyBesideTheDequantize)
{
    const GpuBenchmarkResult r = sampleResult();
    const std::string text = formatGpuBenchmark(r);
    EXPECT_THAT(text, HasSubstr("copy, dequantize's bytes"));
    EXPECT_THAT(text, HasSubstr("2594.0 GB/s"));
    EXPECT_THAT(text, HasSubstr("86.4% of copy"));
    EXPECT_THAT(text, HasSubstr("73.1% of copy"));
    EXPECT_THAT(text, HasSubstr("1.75x"));

    const nlohmann::json json = toJson(r);
    const auto& shape = json.at("shapes").at(0);
    EXPECT_DOUBLE_EQ(shape.at("same_size_copy").at("gb_per_second").get<double>(), 2594.0);
    EXPECT_DOUBLE_EQ(shape.at("dequantize_nf4_bf16").at("fraction_of_copy_bandwidth").get<double>(), 0.731);
    EXPECT_DOUBLE_EQ(shape.at("gemv").at(0).at("speedup_vs_cublas").get<double>(), 1.75);

    const core::BenchSection section = toBenchSection(r);
    bool foundCopy = false;
    for (const auto& row : section.rows)
        if (row.name == "4096x4096 same-size copy") {
            foundCopy = true;
            EXPECT_DOUBLE_EQ(row.value, 0.864);
        }
    EXPECT_TRUE(foundCopy);
}

// The options are checked before anything runs, on any machine: each bad value is named.
TEST(GpuBenchmarkOptions, BadValuesAreRefusedNamingThem)
{
    using testing::ThrowsMessage;
    EXPECT_NO_THROW(validateGpuBenchmarkOptions(GpuBenchmarkOptions {}));
    GpuBenchmarkOptions options;
    options.batches = {0};
    EXPECT_THAT([&] { validateGpuBenchmarkOptions(options); },
                ThrowsMessage<UsageError>(HasSubstr("GEMV batch 0 is outside 1 ... 16")));
    options = {};
    options.shapes = {{4096, 100}};
    EXPECT_THAT(
        [&] { validateGpuBenchmarkOptions(options); },
        ThrowsMessage<UsageError>(HasSubstr("4096 x 100: the columns must be a multiple of the blocksize (64)")));
    options.shapes = {{std::int64_t(1) << 40, 64}};
    EXPECT_THAT([&] { validateGpuBenchmarkOptions(options); },
                ThrowsMessage<UsageError>(HasSubstr("rows and columns must be 1 ... 2147483647")));
    options = {};
    options.repetitions = 0;
    EXPECT_THAT([&] { validateGpuBenchmarkOptions(options); },
                ThrowsMessage<UsageError>(HasSubstr("at least one repetition, not 0")));
    options = {};
    options.blocksize = 48;
    EXPECT_THAT([&] { validateGpuBenchmarkOptions(options); },
                ThrowsMessage<UsageError>(HasSubstr("blocksize 48 is not a power of two")));
    // runGpuBenchmark checks them first, with or without a GPU or CUDA.
    options = {};
    options.batches = {17};
    EXPECT_THAT([&] { runGpuBenchmark(options); }, ThrowsMessage<UsageError>(HasSubstr("GEMV batch 17")));
}

} // namespace
} // namespace quantlens::gpu
