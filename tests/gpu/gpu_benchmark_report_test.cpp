#include "core/util/error.h"
#include "gpu/benchmark.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

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
            EXPECT_DOUBLE_EQ(row.value, 86.4);
            EXPECT_EQ(row.unit, "% of copy");
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

// What toJson writes, gpuBenchmarkFromJson reads back, figure for figure.
TEST(GpuBenchmarkJson, ReadsBackWhatItWrites)
{
    GpuBenchmarkResult r = sampleResult();
    r.measuredAt = "2026-11-23T07:00:00Z";
    r.device.computeMinor = 0;
    r.device.driverVersion = "13.0";
    r.device.multiprocessors = 132;
    r.device.l2CacheBytes = 52428800;
    r.shapes.push_back(r.shapes.front());
    r.shapes.back().cols = 14336;
    r.shapes.back().gemv.front().speedup = 2.13;
    const GpuBenchmarkResult back = gpuBenchmarkFromJson(toJson(r), "memory");
    EXPECT_EQ(back.device.name, "Test GPU");
    EXPECT_EQ(back.device.computeMajor, 9);
    EXPECT_EQ(back.device.multiprocessors, 132);
    EXPECT_EQ(back.device.l2CacheBytes, 52428800u);
    EXPECT_EQ(back.measuredAt, "2026-11-23T07:00:00Z");
    EXPECT_EQ(back.repetitions, 50);
    ASSERT_EQ(back.shapes.size(), 2u);
    EXPECT_EQ(back.shapes[1].cols, 14336);
    EXPECT_DOUBLE_EQ(back.shapes[1].gemv.front().speedup, 2.13);
    EXPECT_DOUBLE_EQ(back.shapes[0].sameSizeCopy.copyFraction, 0.864);
    EXPECT_DOUBLE_EQ(back.shapes[0].quantizeDoubleQuant.gbPerSecond, 1048.0);
    // The same text and table as the original.
    EXPECT_EQ(formatGpuBenchmark(back), formatGpuBenchmark(r));
    EXPECT_EQ(toJson(back), toJson(r));
}

// The H100 run quoted in docs/gpu.md stays readable: it predates measured_at and the device's
// multiprocessor count, which may be absent.
TEST(GpuBenchmarkJson, ReadsTheMeasuredH100Results)
{
    const std::string path = std::string(QUANTLENS_SOURCE_DIR) + "/docs/measurements/gpu-bench-h100-2026-11-23.json";
    const GpuBenchmarkResult r = loadGpuBenchmark(path);
    EXPECT_EQ(r.device.name, "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(r.device.computeMajor, 9);
    EXPECT_NEAR(r.copyGbPerSecond, 3002.6, 0.1);
    ASSERT_EQ(r.shapes.size(), 5u);
    EXPECT_EQ(r.shapes[4].rows, 8192);
    EXPECT_EQ(r.shapes[4].cols, 28672);
    ASSERT_EQ(r.shapes[0].gemv.size(), 3u);
    EXPECT_EQ(r.shapes[0].gemv[2].batch, 16);
    EXPECT_NEAR(r.shapes[0].dequantize.copyFraction, 0.7323, 1e-4);
    EXPECT_GT(r.shapes[0].sameSizeCopy.copyFraction, 0.0);
}

class GpuBenchmarkJsonErrors : public ::testing::Test {
protected:
    void SetUp() override
    {
        m_good = toJson(sampleResult());
        m_path = (std::filesystem::temp_directory_path() / ("quantlens-bench-" + std::to_string(::getpid()) + ".json"))
                     .string();
    }
    void TearDown() override { std::filesystem::remove(m_path); }
    std::string write(const std::string& text) const
    {
        std::ofstream(m_path, std::ios::binary) << text;
        return m_path;
    }
    // The message of the error reading `json`, which must name the file.
    std::string errorOf(const nlohmann::json& json) const
    {
        try {
            gpuBenchmarkFromJson(json, "saved.json");
        } catch (const FormatError& e) {
            EXPECT_EQ(e.file(), "saved.json");
            return e.what();
        }
        ADD_FAILURE() << "accepted " << json.dump();
        return {};
    }
    nlohmann::json m_good;
    std::string m_path;
};

TEST_F(GpuBenchmarkJsonErrors, EachBadFieldIsNamedWithWhatWasExpected)
{
    auto j = m_good;
    j["shapes"][0].erase("rows");
    EXPECT_THAT(errorOf(j), HasSubstr("'shapes[0].rows' is missing"));
    j = m_good;
    j["shapes"][0]["gemv"][0]["speedup_vs_cublas"] = "fast";
    EXPECT_THAT(errorOf(j), HasSubstr("'shapes[0].gemv[0].speedup_vs_cublas' is not a finite number >= 0"));
    j = m_good;
    j["shapes"][0]["dequantize_nf4_bf16"]["gb_per_second"] = -1.0;
    EXPECT_THAT(errorOf(j), HasSubstr("(expected a finite number >= 0, found -1.0)"));
    j = m_good;
    j["shapes"][0]["gemv"][0]["batch"] = 17;
    EXPECT_THAT(errorOf(j), HasSubstr("'shapes[0].gemv[0].batch' is not a whole number in 1 ... 16"));
    j = m_good;
    j["shapes"][0]["cols"] = 4096.5;
    EXPECT_THAT(errorOf(j), HasSubstr("'shapes[0].cols' is not a whole number"));
    j = m_good;
    j["shapes"] = nlohmann::json::array();
    EXPECT_THAT(errorOf(j), HasSubstr("no shape was measured"));
    j = m_good;
    j["copy_gb_per_second"] = 0.0;
    EXPECT_THAT(errorOf(j), HasSubstr("the copy bandwidth, which every fraction is of, is 0"));
    j = m_good;
    j["compute_capability"] = "Hopper";
    EXPECT_THAT(errorOf(j), HasSubstr("the compute capability is unreadable"));
    j = m_good;
    j["shapes"].push_back(j["shapes"][0]);
    j["shapes"][1]["gemv"][0]["batch"] = 4;
    EXPECT_THAT(errorOf(j), HasSubstr("shapes[1].gemv"));
    EXPECT_THAT(errorOf(j), HasSubstr("not measured at the same GEMV batches"));
    j = m_good;
    j["device"] = "cpu";
    EXPECT_THAT(errorOf(j), HasSubstr("this is the CPU benchmark's output"));
    EXPECT_THAT(errorOf(nlohmann::json::array()), HasSubstr("the file is not a JSON object"));
    // Absent optional fields are fine; a present one of the wrong type is not.
    j = m_good;
    j["shapes"][0].erase("same_size_copy");
    j.erase("measured_at");
    EXPECT_EQ(gpuBenchmarkFromJson(j, "saved.json").shapes[0].sameSizeCopy.milliseconds, 0.0);
    j["multiprocessors"] = "many";
    EXPECT_THAT(errorOf(j), HasSubstr("'multiprocessors' is not a whole number"));
}

TEST_F(GpuBenchmarkJsonErrors, FilesThatAreNotResultsAreRefusedNamingThePath)
{
    using testing::ThrowsMessage;
    EXPECT_THAT([&] { loadGpuBenchmark(write("{\"device\": \"cuda\", ")); },
                ThrowsMessage<FormatError>(HasSubstr(m_path + ": not valid JSON")));
    EXPECT_THAT([&] { loadGpuBenchmark(write("")); }, ThrowsMessage<FormatError>(HasSubstr("not valid JSON")));
    EXPECT_THAT([&] { loadGpuBenchmark(m_path + ".absent"); },
                ThrowsMessage<IoError>(HasSubstr(m_path + ".absent: cannot open")));
    EXPECT_THAT([&] { loadGpuBenchmark(std::filesystem::temp_directory_path().string()); },
                ThrowsMessage<IoError>(HasSubstr("is a folder")));
    EXPECT_EQ(loadGpuBenchmark(write(m_good.dump())).shapes.size(), 1u);
}

} // namespace
} // namespace quantlens::gpu
