#include "run_cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

using ::testing::HasSubstr;

namespace {

const std::string kData = std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/";

std::filesystem::path scratch(const std::string& name)
{
    const auto folder = std::filesystem::temp_directory_path() / ("advise-cli-" + std::to_string(::getpid()));
    std::filesystem::create_directories(folder);
    return folder / name;
}

nlohmann::json adviseJson(std::vector<std::string> args)
{
    args.insert(args.begin(), "advise");
    args.push_back("--json");
    const CliResult r = runCli(args);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
}

} // namespace

TEST(AdviseCommand, JsonHasTheIssuesKeysAndTheMixFitsItsBudget)
{
    const auto j = adviseJson({kData + "model-f32.gguf", "--bits-per-param", "8.5"});
    ASSERT_FALSE(j.is_discarded());
    for (const char* key :
         {"budget_bytes", "cost_kind", "assignment", "total_bytes", "predicted_cost", "frontier", "uniform"})
        EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_LE(j["total_bytes"].get<std::uint64_t>(), j["budget_bytes"].get<std::uint64_t>());
    EXPECT_EQ(j["budget_bytes"].get<std::uint64_t>(), 276284u); // 8.5 * 260,032 / 8
    double cost = 0.0;
    for (const auto& a : j["assignment"])
        cost += a["cost"].get<double>();
    EXPECT_NEAR(cost, j["predicted_cost"].get<double>(), 1e-9 * cost);
}

TEST(AdviseCommand, WritesEachRecipeAndRefusesAnUnknownKind)
{
    const auto sh = scratch("mix.sh");
    std::filesystem::remove(sh);
    CliResult r = runCli({"advise", kData + "model-f32.gguf", "--bits-per-param", "9", "-o", sh.string()});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::ifstream script(sh);
    const std::string text((std::istreambuf_iterator<char>(script)), std::istreambuf_iterator<char>());
    EXPECT_THAT(text, HasSubstr("llama-quantize --pure"));
    EXPECT_THAT(text, HasSubstr("--tensor-type"));
    // Again without --force: refused before any measuring.
    r = runCli({"advise", kData + "model-f32.gguf", "--bits-per-param", "9", "-o", sh.string()});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("--force"));

    const auto json = scratch("bnb.json");
    std::filesystem::remove(json);
    r = runCli({"advise", kData + "model.safetensors", "--family", "bitsandbytes", "--bits-per-param", "8", "-o",
                json.string()});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    // What advise writes, quantize takes.
    const auto out = scratch("mix");
    std::filesystem::remove_all(out);
    r = runCli({"quantize", kData + "model.safetensors", "--recipe", json.string(), "-o", out.string()});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("kept as stored"));

    r = runCli({"advise", kData + "model-f32.gguf", "--bits-per-param", "9", "-o", scratch("mix.txt").string()});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr(".sh"));
    std::filesystem::remove_all(scratch("").parent_path());
}

TEST(AdviseCommand, BudgetFromAGpuPlan)
{
    const CliResult r = runCli({"advise", kData + "model-f32.gguf", "--gpu", "rtx-4090", "--seq", "512"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("what fits NVIDIA GeForce RTX 4090"));
    // stories260K fits many times over: every tensor takes its largest type, and the output says so.
    EXPECT_THAT(r.out, HasSubstr("more than the largest mix"));
    const auto j = adviseJson({kData + "model-f32.gguf", "--gpu", "rtx-4090", "--method", "inference"});
    EXPECT_THAT(j["budget_source"].get<std::string>(), HasSubstr("RTX 4090"));
}

TEST(AdviseCommand, BadBudgetsAreUsageErrors)
{
    for (const std::vector<std::string>& args : {
             std::vector<std::string> {"advise", kData + "model-f32.gguf"},
             std::vector<std::string> {"advise", kData + "model-f32.gguf", "--size", "100000", "--gpu", "rtx-4090"},
             std::vector<std::string> {"advise", kData + "model-f32.gguf", "--size", "1000"},
             std::vector<std::string> {"advise", kData + "model-f32.gguf", "--size", "100000000"},
             std::vector<std::string> {"advise", kData + "model-f32.gguf", "--gpu", "rtx-4090", "--method", "full"},
             std::vector<std::string> {"advise", kData + "model-f32.gguf", "--bits-per-param", "4", "--schemes", "nf4"},
         }) {
        const CliResult r = runCli(args);
        EXPECT_EQ(r.exitCode, 2) << args.back() << ": " << r.err;
        EXPECT_FALSE(r.err.empty());
    }
}
