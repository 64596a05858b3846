#include "run_cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using ::testing::HasSubstr;

TEST(PlanCommand, PrintsABreakdownWithBarsAndTheGpuAnswer)
{
    const auto r = runCli({"plan", "--model", "llama-2-7b", "--method", "qlora", "--gpu", "rtx-4090"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("6,738,415,616 parameters"));
    EXPECT_THAT(r.out, HasSubstr("\u2588"));
    EXPECT_THAT(r.out, HasSubstr("GiB"));
    EXPECT_THAT(r.out, HasSubstr("Fits       yes"));
    EXPECT_THAT(r.out, HasSubstr("Largest micro-batch that fits"));
}

TEST(PlanCommand, ShowsGpuMemoryAsSoldAndAsUsableInLabelledUnits)
{
    const auto r = runCli({"plan", "--model", "llama-2-7b", "--gpu", "h100-sxm"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    // 81559 MiB as nvidia-smi reports it: 85.52 GB (10^9) = 79.65 GiB (2^30); 80 GB as sold.
    EXPECT_THAT(r.out, HasSubstr("85.52 GB (79.65 GiB) usable (80 GB as sold)"));
    EXPECT_THAT(r.out, HasSubstr("peak (nvidia-smi)"));
}

TEST(PlanCommand, JsonHasEveryPromisedKey)
{
    const auto r = runCli({"plan", "--model", "llama-3.1-8b", "--method", "lora", "--gpu", "a100-80gb", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j.at("model").at("name"), "llama-3.1-8b");
    EXPECT_EQ(j.at("model").at("parameters").get<std::uint64_t>(), 8'030'261'248ULL);
    EXPECT_GT(j.at("model").at("trainable_parameters").get<std::uint64_t>(), 0u);
    for (const char* key : {"weights", "gradients", "optimizer_states", "master_weights", "adapters", "activations",
                            "kv_cache", "temporaries", "overhead"})
        EXPECT_TRUE(j.at("breakdown_bytes").contains(key)) << key;
    EXPECT_GT(j.at("peak_bytes").get<std::uint64_t>(), 16'000'000'000ULL);
    EXPECT_EQ(j.at("gpu").at("name"), "NVIDIA A100 80GB (SXM)");
    EXPECT_EQ(j.at("gpu").at("memory_bytes").get<std::uint64_t>(), 81920ULL * 1048576);
    EXPECT_TRUE(j.at("gpu").at("fits").get<bool>());
    EXPECT_GT(j.at("max_micro_batch").get<std::int64_t>(), 1);
    EXPECT_GT(j.at("max_seq_len").get<std::int64_t>(), 2048);
}

TEST(PlanCommand, WeightBytesReplaceTheFormatsSizeAndOnlyThat)
{
    auto r = runCli({"plan", "--model", "llama-3.1-8b", "--method", "inference", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto bf16 = nlohmann::json::parse(r.out);
    r = runCli({"plan", "--model", "llama-3.1-8b", "--method", "inference", "--weight-bytes", "4608MiB", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto mix = nlohmann::json::parse(r.out);
    EXPECT_EQ(mix["breakdown_bytes"]["weights"].get<std::uint64_t>(), 4831838208ULL);
    EXPECT_EQ(mix["input"]["weight_bytes"].get<std::uint64_t>(), 4831838208ULL);
    EXPECT_EQ(mix["breakdown_bytes"]["kv_cache"], bf16["breakdown_bytes"]["kv_cache"]);
    EXPECT_EQ(bf16["peak_bytes"].get<std::int64_t>() - mix["peak_bytes"].get<std::int64_t>(),
              bf16["breakdown_bytes"]["weights"].get<std::int64_t>() - 4831838208LL);
    r = runCli({"plan", "--model", "llama-3.1-8b", "--weight-bytes", "4GiB"}); // full finetuning
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("--weight-bytes"));
}

TEST(PlanCommand, SimpleModeReproducesTheTeachingTable)
{
    const auto r = runCli({"plan", "--params", "7e9", "--simple", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_DOUBLE_EQ(j.at("simple").at("baseline").at("total_bytes").get<double>(), 98e9);
    EXPECT_DOUBLE_EQ(j.at("simple").at("quantized").at("total_bytes").get<double>(), 24.5e9);
    EXPECT_DOUBLE_EQ(j.at("simple").at("reduction").get<double>(), 0.75);
    EXPECT_DOUBLE_EQ(j.at("simple").at("baseline").at("optimizer_states_bytes").get<double>(), 56e9);
    const auto human = runCli({"plan", "--params", "7B", "--simple"});
    EXPECT_THAT(human.out, HasSubstr("98.00 GB"));
    EXPECT_THAT(human.out, HasSubstr("24.50 GB"));
    EXPECT_THAT(human.out, HasSubstr("Reduction: 75.0%"));
}

TEST(PlanCommand, UnknownPresetExitsTwoListingTheClosestNames)
{
    const auto r = runCli({"plan", "--model", "mistral-7"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("closest: mistral-7b"));
}

TEST(PlanCommand, UnknownGpuExitsTwoListingTheClosestNames)
{
    const auto r = runCli({"plan", "--model", "llama-2-7b", "--gpu", "h10"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("unknown GPU 'h10'; closest: h100"));
}

TEST(PlanCommand, OutOfRangeNumberExitsTwoSayingTheRange)
{
    const auto r = runCli({"plan", "--params", "7B", "--batch", "0"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("--batch 0 is out of range: allowed 1 to 65536"));
}

TEST(PlanCommand, ConfigMissingAFieldExitsOneNamingFieldAndFile)
{
    const auto r = runCli({"plan", "--model", QUANTLENS_TEST_DATA_DIR "/planner/config-missing-vocab.json"});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_THAT(r.err, HasSubstr("vocab_size"));
    EXPECT_THAT(r.err, HasSubstr("config-missing-vocab.json"));
}

TEST(PlanCommand, MissingModelIsAUsageError)
{
    const auto r = runCli({"plan"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("--model PRESET|config.json or --params N"));
}

// A negative overhead is refused like any other out-of-range value; it used to mean "not given".
TEST(PlanCommand, NegativeOverheadsAreRefusedNotIgnored)
{
    const CliResult context = runCli({"plan", "--params", "7B", "--cuda-context-mib", "-5"});
    EXPECT_EQ(context.exitCode, 2);
    EXPECT_THAT(context.err, HasSubstr("--cuda-context-mib -5 is out of range: allowed 0 to 65536"));
    const CliResult fraction = runCli({"plan", "--params", "7B", "--allocator-fraction", "-1"});
    EXPECT_EQ(fraction.exitCode, 2);
    EXPECT_THAT(fraction.err, HasSubstr("allocator fraction is out of range"));
    EXPECT_EQ(runCli({"plan", "--params", "7B", "--allocator-fraction", "0", "--cuda-context-mib", "0"}).exitCode, 0);
}

// ZeRO changes a one-GPU plan (no optimizer-step temporaries), so the setup line says it is on.
TEST(PlanCommand, ZeroOnOneGpuIsShownInTheSetup)
{
    const CliResult r = runCli({"plan", "--params", "7B", "--zero", "3"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr(", 1 GPU ZeRO-3"));
    EXPECT_THAT(runCli({"plan", "--params", "7B"}).out, ::testing::Not(HasSubstr("ZeRO")));
}

// stories260K was trained on 512-token sequences: a plan for 2048 says so.
TEST(PlanCommand, SequenceLongerThanTheModelsContextIsNoted)
{
    const std::string config = std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/config.json";
    const CliResult longer = runCli({"plan", "--model", config, "--seq", "2048"});
    ASSERT_EQ(longer.exitCode, 0) << longer.err;
    EXPECT_THAT(longer.out, HasSubstr("seq 2,048 is longer than the model's context of 512 tokens"));
    EXPECT_THAT(runCli({"plan", "--model", config, "--seq", "512"}).out, ::testing::Not(HasSubstr("context of")));
}

TEST(PlanCommand, OptionsThatCannotApplyAreRefusedOrNotEchoed)
{
    const CliResult weights = runCli({"plan", "--params", "7B", "--weights", "nf4"});
    EXPECT_EQ(weights.exitCode, 2);
    EXPECT_THAT(weights.err, HasSubstr("--weights sets the frozen or served weights' format"));
    const CliResult inference
        = runCli({"plan", "--params", "7B", "--method", "inference", "--optimizer", "lion", "--grad-checkpointing"});
    ASSERT_EQ(inference.exitCode, 0) << inference.err;
    EXPECT_THAT(inference.out, ::testing::Not(HasSubstr("lion")));
    EXPECT_THAT(inference.out, ::testing::Not(HasSubstr("checkpointing")));
}

// The training loop's choices the simulation follows: each is in the setup line and changes the
// peak the way its mechanism says.
TEST(PlanCommand, TrainingLoopOptionsAreShownAndChangeThePeak)
{
    const std::vector<std::string> base = {"plan", "--model", "llama-3.2-1b", "--method", "lora", "--lora-targets",
                                           "all",  "--seq",   "2048",         "--batch",  "4",    "--json"};
    const auto peakOf = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = base;
        args.insert(args.end(), extra.begin(), extra.end());
        const CliResult r = runCli(args);
        EXPECT_EQ(r.exitCode, 0) << r.err;
        const auto j = nlohmann::json::parse(r.out);
        EXPECT_TRUE(j.at("simulated").get<bool>());
        EXPECT_GE(j.at("reserved_bytes").get<std::uint64_t>(), j.at("allocated_bytes").get<std::uint64_t>());
        return j.at("allocated_bytes").get<double>();
    };
    const double held = peakOf({});
    const double freed = peakOf({"--free-outputs"});
    EXPECT_NEAR(held - freed, 2.0 * 2048 * 4 * 128256, 0.02 * 2.0 * 2048 * 4 * 128256); // the bf16 logits
    EXPECT_LT(peakOf({"--lora-dropout", "0"}), held);

    const CliResult text = runCli({"plan", "--model", "llama-3.2-1b", "--method", "lora", "--lora-dropout", "0",
                                   "--free-outputs", "--expandable-segments", "--adamw", "fused"});
    ASSERT_EQ(text.exitCode, 0) << text.err;
    EXPECT_THAT(text.out, HasSubstr("without dropout"));
    EXPECT_THAT(text.out, HasSubstr("fused AdamW"));
    EXPECT_THAT(text.out, HasSubstr("outputs freed before backward"));
    EXPECT_THAT(text.out, HasSubstr("expandable segments"));
    EXPECT_THAT(text.out, HasSubstr("the step simulated through the caching allocator"));

    const CliResult badAdamW = runCli({"plan", "--params", "7B", "--adamw", "fast"});
    EXPECT_EQ(badAdamW.exitCode, 2);
    EXPECT_THAT(badAdamW.err, HasSubstr("foreach"));
    const CliResult badDropout = runCli({"plan", "--params", "7B", "--lora-dropout", "1"});
    EXPECT_EQ(badDropout.exitCode, 2);
    EXPECT_THAT(badDropout.err, HasSubstr("--lora-dropout 1 is out of range"));
}
