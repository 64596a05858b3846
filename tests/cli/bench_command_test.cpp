#include "run_cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using ::testing::HasSubstr;

// Runs the benchmark on a tiny size: checks the output's shape, not the speed.
TEST(BenchCommand, CpuJsonReportsTheScanBesideTheReadBoundMeasuredInOneRun)
{
    const CliResult r = runCli({"bench", "--cpu", "--json", "--size", "1M", "--repetitions", "1"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["device"], "cpu");
    EXPECT_EQ(j["parameters"], 1 << 20);
    ASSERT_EQ(j["rows"].size(), 4u);
    EXPECT_EQ(j["rows"][0]["name"], "memory read");
    EXPECT_GT(j["scan_parameters_per_second"].get<double>(), 0.0);
    EXPECT_GT(j["read_bound_parameters_per_second"].get<double>(), j["scan_parameters_per_second"].get<double>());
    EXPECT_NEAR(j["fraction_of_read_bound"].get<double>(),
                j["scan_parameters_per_second"].get<double>() / j["read_bound_parameters_per_second"].get<double>(),
                1e-9);
}

TEST(BenchCommand, CpuTablePrintsTheFractionOfTheReadBound)
{
    const CliResult r = runCli({"bench", "--size", "1M", "--repetitions", "1", "--threads", "1"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("of the memory-read bound"));
    EXPECT_THAT(r.out, HasSubstr("1 threads"));
}

TEST(BenchCommand, ContradictoryDeviceAndZeroSizeAreUsageErrors)
{
    EXPECT_EQ(runCli({"bench", "--cpu", "--device", "cuda"}).exitCode, 2);
    EXPECT_EQ(runCli({"bench", "--device", "tpu"}).exitCode, 2);
    EXPECT_EQ(runCli({"bench", "--size", "0"}).exitCode, 2);
}
