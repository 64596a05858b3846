#include "run_cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using ::testing::HasSubstr;

namespace {

const std::string kData = QUANTLENS_TEST_DATA_DIR;

} // namespace

TEST(InfoCommand, DescribesAShardedFolderWithArchitectureRolesAndTensors)
{
    const auto r = runCli({"info", kData + "/stories260K/sharded"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("Format:       safetensors (sharded)"));
    EXPECT_THAT(r.out, HasSubstr("5 layers, hidden 64, MLP 172, 8 heads (4 KV, dim 8)"));
    EXPECT_THAT(r.out, HasSubstr("Parameters:   260,032"));
    EXPECT_THAT(r.out, HasSubstr("model-00002-of-00002.safetensors"));
    EXPECT_THAT(r.out, HasSubstr("mlp_down                 55,040"));
    EXPECT_THAT(r.out, HasSubstr("model.layers.0.self_attn.q_proj.weight"));
}

TEST(InfoCommand, JsonListsFormatParametersAndEveryTensor)
{
    const auto r = runCli({"info", kData + "/stories260K/gguf/stories260K-q4_0.gguf", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["format"], "gguf");
    EXPECT_EQ(j["parameters"], 260032);
    EXPECT_EQ(j["architecture"]["layers"], 5);
    ASSERT_EQ(j["tensors"].size(), 47u);
    bool sawQ4 = false;
    for (const auto& t : j["tensors"]) {
        for (const char* key : {"name", "shape", "dtype", "bytes", "layer", "role"})
            ASSERT_TRUE(t.contains(key)) << key;
        if (t["name"] == "blk.4.attn_v.weight") {
            EXPECT_EQ(t["dtype"], "Q4_0");
            EXPECT_EQ(t["layer"], 4);
            EXPECT_EQ(t["role"], "attn_v");
            EXPECT_EQ(t["shape"], nlohmann::json::parse("[32, 64]"));
            EXPECT_EQ(t["bytes"], 32 * 64 / 32 * 18);
            sawQ4 = true;
        }
    }
    EXPECT_TRUE(sawQ4);
    EXPECT_EQ(j["parameters_by_dtype"]["Q4_0"], 204288);
}

TEST(InfoCommand, ExitsOneWithTheReadersMessageOnABadFile)
{
    const auto r = runCli({"info", kData + "/synthetic/malformed/offsets_overlap.safetensors"});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_THAT(r.err, HasSubstr("error: offsets_overlap.safetensors: tensor 'b' (bytes 8..16) overlaps tensor 'a'"));
    const auto missing = runCli({"info"});
    EXPECT_EQ(missing.exitCode, 2);
}

// Without config.json the sizes the tensors cannot give are left out, not printed as 0.
TEST(InfoCommand, WithoutAConfigPrintsOnlyWhatTheTensorsTell)
{
    const auto dir = std::filesystem::temp_directory_path() / ("quantlens-info-noconfig-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(kData + "/stories260K/model.safetensors", dir / "model.safetensors",
                               std::filesystem::copy_options::overwrite_existing);
    const auto r = runCli({"info", (dir / "model.safetensors").string()});
    std::filesystem::remove_all(dir);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("5 layers, hidden 64, MLP 172, vocabulary 512, tied embeddings"));
    EXPECT_THAT(r.out, ::testing::Not(HasSubstr("0 heads")));
    EXPECT_THAT(r.out, HasSubstr(" 1 tensor\n")); // the embedding, by role
}
