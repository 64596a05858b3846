#include "run_cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using ::testing::HasSubstr;

namespace {

const std::string kData = QUANTLENS_TEST_DATA_DIR;

} // namespace

TEST(InspectCommand, JsonListsEveryTensorUnderEverySchemeWithTheNamedFields)
{
    const CliResult r = runCli({"inspect", kData + "/stories260K/model.safetensors", "--scheme", "nf4,fp4", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    ASSERT_TRUE(j.contains("tensors"));
    ASSERT_TRUE(j.contains("summary"));
    EXPECT_EQ(j["summary"].size(), 2u);
    EXPECT_EQ(j["summary"][0]["scheme"], "nf4");
    EXPECT_EQ(j["summary"][0]["parameters"], 260032);
    EXPECT_GT(j["tensors"].size(), 2u);
    for (const auto& t : j["tensors"]) {
        for (const char* key : {"name", "scheme", "rmse", "max_abs_error", "mse", "sqnr_db", "rel_error", "cosine",
                                "p99_abs_error", "non_finite_inputs", "bits_per_parameter", "stored_as"})
            EXPECT_TRUE(t.contains(key)) << key;
        // bitsandbytes quantizes the Linear projections; the rest is kept as stored, exact.
        const bool linear = t["name"].get<std::string>().find("_proj.") != std::string::npos;
        EXPECT_EQ(t["stored_as"], linear ? t["scheme"] : nlohmann::json("kept")) << t["name"];
        if (linear)
            EXPECT_GT(t["rmse"].get<double>(), 0.0) << t["name"];
        else
            EXPECT_EQ(t["rmse"].get<double>(), 0.0) << t["name"];
    }
    EXPECT_EQ(j["summary"][0]["tensors"], 47);
    EXPECT_EQ(j["summary"][0]["tensors_quantized"], 35);
    EXPECT_THAT(j["summary"][0]["policy"].get<std::string>(), HasSubstr("Linear projection weights only"));
    EXPECT_EQ(j["scan"]["policy"], "as-tool");
    // FP4 has coarser levels than NF4 on normal-like weights.
    EXPECT_GT(j["summary"][1]["rel_error"].get<double>(), j["summary"][0]["rel_error"].get<double>());
}

TEST(InspectCommand, TableShowsPerTensorRowsLayerSummariesAndTheWholeModel)
{
    const CliResult r = runCli({"inspect", kData + "/stories260K/model.safetensors", "--scheme", "nf4"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("layers.0.self_attn.q_proj.weight"));
    EXPECT_THAT(r.out, HasSubstr("Per layer"));
    EXPECT_THAT(r.out, HasSubstr("Whole model"));
    EXPECT_THAT(r.out, HasSubstr("bits/param"));
    // No progress bar when stderr is not a terminal.
    EXPECT_EQ(r.err, "");
}

// ffn_down's rows of 172 cannot be stored as Q4_0: as llama.cpp does, they are stored in f16, and
// the rows, the JSON and the whole-model lines say so; with --policy every they are kept as stored.
TEST(InspectCommand, GgmlSchemeStoresWhatItCannotStoreAsLlamaCppDoesAndSaysSo)
{
    const std::string model = kData + "/stories260K/model.safetensors";
    const CliResult r = runCli({"inspect", model, "--scheme", "q4_0", "--role", "mlp_down"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("5 of 5 tensors quantized (55,040 of 55,040 parameters), 5 in a fallback type"));
    EXPECT_THAT(r.out, HasSubstr("5 tensors: f16 (rows of 172 are not whole q4_0 blocks)"));
    EXPECT_THAT(r.out, HasSubstr("policy: as llama-quantize --pure"));
    const CliResult j = runCli({"inspect", model, "--scheme", "q4_0", "--role", "mlp_down", "--json"});
    ASSERT_EQ(j.exitCode, 0) << j.err;
    const auto json = nlohmann::json::parse(j.out);
    ASSERT_EQ(json["tensors"].size(), 5u);
    EXPECT_EQ(json["tensors"][0]["stored_as"], "fp16");
    EXPECT_THAT(json["tensors"][0]["policy_note"].get<std::string>(), HasSubstr("rows of 172"));

    const CliResult every = runCli({"inspect", model, "--scheme", "q4_0", "--role", "mlp_down", "--policy", "every"});
    ASSERT_EQ(every.exitCode, 0) << every.err;
    EXPECT_THAT(every.out,
                HasSubstr("kept as stored: rows of 172 values are not a whole number of Q4_0's 32-value blocks"));
    EXPECT_THAT(every.out, HasSubstr("0 of 5 tensors quantized"));
    EXPECT_EQ(runCli({"inspect", model, "--policy", "some"}).exitCode, 2);
}

TEST(InspectCommand, CsvHasOneRowPerTensorAndScheme)
{
    const CliResult r = runCli({"inspect", kData + "/synthetic/odd_size.safetensors", "--scheme", "nf4,int8", "--csv"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("name,layer,role,shape"));
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 3);
}

TEST(InspectCommand, FilterKeepsOnlyMatchingTensors)
{
    const CliResult r = runCli(
        {"inspect", kData + "/stories260K/model.safetensors", "--scheme", "nf4", "--filter", "mlp\\.down", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["tensors"].size(), 5u);
    for (const auto& t : j["tensors"])
        EXPECT_THAT(t["name"].get<std::string>(), HasSubstr("mlp.down_proj"));
}

TEST(InspectCommand, NonFiniteWeightsAreShown)
{
    const CliResult r = runCli(
        {"inspect", kData + "/synthetic/nonfinite.safetensors", "--scheme", "nf4", "--policy", "every", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["tensors"][0]["non_finite_inputs"], 3);
    EXPECT_EQ(j["summary"][0]["non_finite_inputs"], 3);
    // No output is finite: nothing was measured, which JSON says with null and the table with n/a.
    EXPECT_TRUE(j["tensors"][0]["cosine"].is_null());
    EXPECT_TRUE(j["summary"][0]["rel_error"].is_null());
    const CliResult table
        = runCli({"inspect", kData + "/synthetic/nonfinite.safetensors", "--scheme", "nf4", "--policy", "every"});
    EXPECT_THAT(table.out, HasSubstr("non-finite values: 3 in the weights"));
    EXPECT_THAT(table.out, HasSubstr("rel err n/a, RMSE n/a"));
}

TEST(InspectCommand, UnknownSchemeIsAUsageErrorNamingIt)
{
    const CliResult r = runCli({"inspect", kData + "/stories260K/model.safetensors", "--scheme", "nf5"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("nf5"));
}

TEST(InspectCommand, BadFilterAndFilterMatchingNothingAreUsageErrors)
{
    EXPECT_EQ(runCli({"inspect", kData + "/stories260K/model.safetensors", "--filter", "(oops"}).exitCode, 2);
    const CliResult r = runCli({"inspect", kData + "/stories260K/model.safetensors", "--filter", "no_such_tensor"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("no_such_tensor"));
}

TEST(InspectCommand, MalformedFileFailsWithExitOneNamingTheFile)
{
    const CliResult r = runCli({"inspect", kData + "/synthetic/malformed/truncated.safetensors"});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_THAT(r.err, HasSubstr("truncated.safetensors"));
}

// Without a GPU (CI) --device cuda is refused with the reason; with one, the 4-bit schemes say
// where they were measured and give the CPU's numbers (tests/gpu/gpu_scan_test compares closely).
TEST(InspectCommand, DeviceCudaMeasuresFourBitSchemesOnTheGpuOrSaysWhyNot)
{
    const std::string model = kData + "/stories260K/model.safetensors";
    const CliResult r = runCli({"inspect", model, "--scheme", "nf4,int8", "--device", "cuda", "--json"});
    const CliResult cpu = runCli({"inspect", model, "--scheme", "nf4,int8", "--json"});
    ASSERT_EQ(cpu.exitCode, 0) << cpu.err;
    if (r.exitCode != 0) {
        EXPECT_EQ(r.exitCode, 1);
        EXPECT_THAT(r.err, HasSubstr("cannot scan on the GPU: "));
        return;
    }
    const auto j = nlohmann::json::parse(r.out);
    const auto c = nlohmann::json::parse(cpu.out);
    EXPECT_THAT(j["summary"][0]["device"].get<std::string>(), ::testing::StartsWith("CUDA: "));
    EXPECT_EQ(j["summary"][1]["device"], "CPU");
    EXPECT_EQ(c["summary"][0]["device"], "CPU");
    EXPECT_EQ(j["summary"][0]["max_abs_error"], c["summary"][0]["max_abs_error"]);
    EXPECT_NEAR(j["summary"][0]["mse"].get<double>(), c["summary"][0]["mse"].get<double>(),
                c["summary"][0]["mse"].get<double>() * 2e-6); // summation order: see gpu_scan_test
}

TEST(InspectCommand, RejectsAnUnknownDevice)
{
    const CliResult r = runCli({"inspect", kData + "/stories260K/model.safetensors", "--device", "tpu"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("--device"));
}

TEST(InspectCommand, RoleAndCaseInsensitiveFilterSelectTensors)
{
    const CliResult r = runCli({"inspect", kData + "/stories260K/model.safetensors", "--role", "mlp_gate", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["tensors"].size(), 5u);
    const CliResult upper
        = runCli({"inspect", kData + "/stories260K/model.safetensors", "--filter", "LAYERS\\.0\\..*Q_PROJ", "--json"});
    ASSERT_EQ(upper.exitCode, 0) << upper.err;
    EXPECT_EQ(nlohmann::json::parse(upper.out)["tensors"].size(), 1u);
    const CliResult bogus = runCli({"inspect", kData + "/stories260K/model.safetensors", "--role", "attention"});
    EXPECT_EQ(bogus.exitCode, 2);
    EXPECT_THAT(bogus.err, HasSubstr("unknown tensor role 'attention'; the roles are embedding, attn_q"));
}

// --role takes a list: the tensors of any of the roles.
TEST(InspectCommand, RoleTakesACommaSeparatedList)
{
    const std::string model = kData + "/stories260K/model.safetensors";
    const CliResult r = runCli({"inspect", model, "--scheme", "nf4", "--role", "attn_q,mlp_down", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto json = nlohmann::json::parse(r.out);
    ASSERT_EQ(json["tensors"].size(), 10u);
    for (const auto& t : json["tensors"])
        EXPECT_TRUE(t["role"] == "attn_q" || t["role"] == "mlp_down") << t["name"];
    // Spaces and an empty item are ignored, as in a scheme list.
    const CliResult spaced = runCli({"inspect", model, "--scheme", "nf4", "--role", " attn_q , mlp_down,", "--json"});
    ASSERT_EQ(spaced.exitCode, 0) << spaced.err;
    EXPECT_EQ(nlohmann::json::parse(spaced.out)["tensors"].size(), 10u);
    const CliResult bad = runCli({"inspect", model, "--role", "attn_q,attn_z"});
    EXPECT_EQ(bad.exitCode, 2);
    EXPECT_THAT(bad.err, HasSubstr("unknown tensor role 'attn_z'"));
}

TEST(InspectCommand, AModelStoredQuantizedIsNamedAsTheReference)
{
    const std::string gguf = std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/gguf/stories260K-q4_0.gguf";
    auto r = runCli({"inspect", gguf, "--scheme", "nf4"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("Note: This model is stored quantized"));
    r = runCli({"inspect", gguf, "--scheme", "nf4", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(nlohmann::json::parse(r.out)["stored_quantization"].get<std::string>(), HasSubstr("Q4_0"));
    r = runCli({"inspect", std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/model.safetensors", "--scheme", "nf4",
                "--json"});
    EXPECT_TRUE(nlohmann::json::parse(r.out)["stored_quantization"].is_null());
}

// A model the forward pass cannot run (no config.json): GPTQ keeps its tensors and says why, the
// other schemes are measured; asked for with --calibrate, the same is an error naming the file.
TEST(InspectCommand, GptqOnAModelThatCannotRunKeepsItsTensorsAndSaysWhy)
{
    const std::string file = kData + "/synthetic/normal.safetensors";
    const CliResult r = runCli({"inspect", file, "--scheme", "nf4,gptq4,awq4", "--policy", "every"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.err, HasSubstr("note: no calibration inputs, so the calibrated schemes keep every tensor"));
    EXPECT_THAT(r.err, HasSubstr("config.json"));
    EXPECT_THAT(r.out, HasSubstr("gptq4: 0 of 1 tensor quantized"));
    EXPECT_THAT(r.out, HasSubstr("awq4: 0 of 1 tensor quantized"));
    EXPECT_THAT(r.out, HasSubstr("nf4: 1 of 1 tensor quantized"));
    const CliResult asked = runCli({"inspect", file, "--scheme", "nf4", "--calibrate"});
    EXPECT_NE(asked.exitCode, 0);
    EXPECT_THAT(asked.err, HasSubstr("config.json"));
}

// AWQ calibrates by itself: its search runs on the calibration inputs, every Linear weight is
// measured, and the line that states the calibration says what alpha each layer's search chose.
TEST(InspectCommand, AwqRunsItsSearchAndSaysWhatItChose)
{
    const CliResult r = runCli({"inspect", kData + "/stories260K/model.safetensors", "--scheme", "rtn4,awq4"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("awq4's search, alpha per layer: q/k/v "));
    EXPECT_THAT(r.out, HasSubstr("o not scaled where v and o differ in shape (grouped-query attention)"));
    EXPECT_THAT(r.out, HasSubstr("awq4: 35 of 47 tensors quantized"));
    EXPECT_THAT(r.out, HasSubstr("seed 1234"));
}
