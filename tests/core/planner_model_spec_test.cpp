#include "core/io/hf_config.h"
#include "core/planner/catalogue.h"
#include "core/planner/model_spec.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <ostream>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

struct PublishedCount {
    const char* preset;
    std::uint64_t parameters;
};

inline void PrintTo(const PublishedCount& c, std::ostream* os)
{
    *os << c.preset;
}

// Totals from the model cards / safetensors metadata (memory-model.md §1).
class ParameterCount : public ::testing::TestWithParam<PublishedCount> { };

} // namespace

TEST_P(ParameterCount, MatchesThePublishedTotalExactly)
{
    const auto& preset = findModelPreset(GetParam().preset);
    EXPECT_EQ(preset.parameters.total(), GetParam().parameters);
}

INSTANTIATE_TEST_SUITE_P(Presets, ParameterCount,
                         ::testing::Values(PublishedCount {"llama-2-7b", 6'738'415'616ULL},
                                           PublishedCount {"llama-3.1-8b", 8'030'261'248ULL},
                                           PublishedCount {"mistral-7b", 7'241'732'096ULL},
                                           PublishedCount {"llama-2-13b", 13'015'864'320ULL},
                                           PublishedCount {"llama-3.2-1b", 1'235'814'400ULL},
                                           PublishedCount {"llama-3.2-3b", 3'212'749'824ULL},
                                           PublishedCount {"qwen2.5-0.5b", 494'032'768ULL},
                                           PublishedCount {"phi-3-mini", 3'821'079'552ULL},
                                           PublishedCount {"mixtral-8x7b", 46'702'792'704ULL},
                                           PublishedCount {"llama-2-70b", 68'976'648'192ULL},
                                           PublishedCount {"llama-65b", 65'285'660'672ULL}),
                         [](const auto& info) {
                             std::string name = info.param.preset;
                             for (auto& c : name)
                                 c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                             return name;
                         });

TEST(ModelPresets, EveryPresetMatchesItsRecordedPublishedCount)
{
    ASSERT_EQ(modelPresets().size(), 18u);
    for (const auto& preset : modelPresets()) {
        ASSERT_NE(preset.publishedParameters, 0u) << preset.name;
        EXPECT_EQ(preset.parameters.total(), preset.publishedParameters) << preset.name;
    }
}

TEST(ParameterCounts, SplitLlama2_7bIntoItsComponents)
{
    const auto& m = findModelPreset("llama-2-7b");
    EXPECT_EQ(m.parameters.embeddings, 32000ULL * 4096);
    EXPECT_EQ(m.parameters.lmHead, 32000ULL * 4096);
    EXPECT_EQ(m.parameters.attention, 32ULL * 4 * 4096 * 4096);
    EXPECT_EQ(m.parameters.mlp, 32ULL * 3 * 4096 * 11008);
    EXPECT_EQ(m.parameters.norms, 32ULL * 2 * 4096 + 4096);
    EXPECT_EQ(m.parameters.biases, 0u);
}

TEST(ParameterCounts, TiedEmbeddingsHaveNoLmHeadAndQwenHasQkvBiases)
{
    const auto& qwen = findModelPreset("qwen2.5-0.5b");
    EXPECT_EQ(qwen.parameters.lmHead, 0u);
    EXPECT_EQ(qwen.parameters.biases, 24ULL * (896 + 2 * 128));
}

TEST(ParameterCounts, MixtureOfExpertsCountsEveryExpertAndTheRouter)
{
    const auto& m = findModelPreset("mixtral-8x7b");
    EXPECT_EQ(m.parameters.mlp, 32ULL * 8 * 3 * 4096 * 14336);
    EXPECT_EQ(m.parameters.router, 32ULL * 4096 * 8);
}

TEST(ModelSpecFromConfig, NamesTheMissingFieldAndTheFile)
{
    const std::string path = QUANTLENS_TEST_DATA_DIR "/planner/config-missing-vocab.json";
    EXPECT_THAT([&] { modelSpecFromConfigFile(path); },
                ThrowsMessage<FormatError>(AllOf(HasSubstr("vocab_size"), HasSubstr("config-missing-vocab.json"))));
}

TEST(ModelSpecFromConfig, DefaultsKeyValueHeadsToAttentionHeads)
{
    const nlohmann::json config = {{"hidden_size", 64},
                                   {"num_hidden_layers", 2},
                                   {"num_attention_heads", 4},
                                   {"intermediate_size", 128},
                                   {"vocab_size", 100}};
    const auto m = modelSpecFromConfig(config, "tiny.json");
    EXPECT_EQ(m.kvHeads, 4);
    EXPECT_EQ(m.headDim, 16);
    EXPECT_EQ(m.parameters.total(), 2ULL * (4 * 64 * 64 + 3 * 64 * 128 + 2 * 64) + 64 + 2 * 100 * 64);
}

TEST(ModelSpecFromConfig, RejectsKeyValueHeadsThatDoNotDivideTheHeads)
{
    const nlohmann::json config = {{"hidden_size", 64},        {"num_hidden_layers", 2},   {"num_attention_heads", 4},
                                   {"num_key_value_heads", 3}, {"intermediate_size", 128}, {"vocab_size", 100}};
    EXPECT_THAT([&] { modelSpecFromConfig(config, "bad.json"); },
                ThrowsMessage<FormatError>(AllOf(HasSubstr("num_key_value_heads"), HasSubstr("bad.json"))));
}

TEST(ModelSpecFromConfig, ReadsAConfigAsTheModelViewerDoesTextConfigAndGemmaDefaultsIncluded)
{
    // A multimodal config keeps the language model in text_config; Gemma ties embeddings unless told.
    const nlohmann::json config = {{"model_type", "gemma"},
                                   {"architectures", {"GemmaForCausalLM"}},
                                   {"text_config",
                                    {{"hidden_size", 64},
                                     {"num_hidden_layers", 2},
                                     {"num_attention_heads", 4},
                                     {"num_key_value_heads", 1},
                                     {"head_dim", 32},
                                     {"intermediate_size", 128},
                                     {"vocab_size", 100}}}};
    const auto m = modelSpecFromConfig(config, "mm.json");
    const auto viewer = parseHfConfig(config.dump(), "mm.json").architecture;
    EXPECT_EQ(m.hidden, int(viewer.hiddenSize));
    EXPECT_EQ(m.kvHeads, 1);
    EXPECT_EQ(m.headDim, 32);
    EXPECT_TRUE(m.tiedEmbeddings);
    EXPECT_TRUE(viewer.tiedEmbeddings);
    EXPECT_EQ(m.parameters.lmHead, 0u);
    EXPECT_EQ(m.parameters.attention, 2ULL * (64 * 128 + 2 * 64 * 32 + 128 * 64));
}

TEST(ModelSpecFromConfig, ExpertsOfTheirOwnSizeAreRefusedNotMiscounted)
{
    // OLMoE: num_experts MLPs of intermediate_size each, which the planner counts.
    nlohmann::json olmoe
        = {{"model_type", "olmoe"},   {"hidden_size", 64}, {"num_hidden_layers", 2}, {"num_attention_heads", 4},
           {"intermediate_size", 32}, {"vocab_size", 100}, {"num_experts", 8},       {"num_experts_per_tok", 2}};
    const auto m = modelSpecFromConfig(olmoe, "olmoe.json");
    EXPECT_EQ(m.experts, 8);
    EXPECT_EQ(m.parameters.mlp, 2ULL * 8 * 3 * 64 * 32);
    // Qwen-MoE: experts of moe_intermediate_size plus a shared expert: refused, naming the key.
    auto qwen = olmoe;
    qwen["model_type"] = "qwen2_moe";
    qwen["moe_intermediate_size"] = 16;
    EXPECT_THAT([&] { modelSpecFromConfig(qwen, "qwen-moe.json"); },
                ThrowsMessage<UnsupportedError>(AllOf(HasSubstr("qwen-moe.json"), HasSubstr("moe_intermediate_size"))));
}

TEST(ModelSpecFromConfig, Gemma3TextConfigHasFourNormsPerLayer)
{
    const nlohmann::json config = {{"model_type", "gemma3"},
                                   {"text_config",
                                    {{"model_type", "gemma3_text"},
                                     {"hidden_size", 64},
                                     {"num_hidden_layers", 2},
                                     {"num_attention_heads", 4},
                                     {"intermediate_size", 128},
                                     {"vocab_size", 100}}}};
    EXPECT_EQ(modelSpecFromConfig(config, "g3.json").normsPerLayer, 4);
}

TEST(ModelSpecFromConfig, GptStyleSpellingsAreRead)
{
    const nlohmann::json config = {{"model_type", "gpt2"}, {"n_embd", 64},   {"n_layer", 2},
                                   {"n_head", 4},          {"n_inner", 256}, {"vocab_size", 100}};
    const auto m = modelSpecFromConfig(config, "gpt.json");
    EXPECT_EQ(m.hidden, 64);
    EXPECT_EQ(m.layers, 2);
    EXPECT_EQ(m.intermediate, 256);
}

TEST(ParseParameterCount, AcceptsSuffixesAndScientificNotation)
{
    EXPECT_EQ(parseParameterCount("7e9"), 7'000'000'000ULL);
    EXPECT_EQ(parseParameterCount("7B"), 7'000'000'000ULL);
    EXPECT_EQ(parseParameterCount("1.5b"), 1'500'000'000ULL);
    EXPECT_EQ(parseParameterCount("350M"), 350'000'000ULL);
    EXPECT_EQ(parseParameterCount("6738415616"), 6'738'415'616ULL);
}

TEST(ParseParameterCount, RejectsOutOfRangeAndGarbageSayingTheRange)
{
    EXPECT_THAT([] { parseParameterCount("5"); }, ThrowsMessage<UsageError>(HasSubstr("range 1M to 10T")));
    EXPECT_THAT([] { parseParameterCount("7X"); }, ThrowsMessage<UsageError>(HasSubstr("unknown suffix 'x'")));
    EXPECT_THAT([] { parseParameterCount("seven"); }, ThrowsMessage<UsageError>(HasSubstr("not a number")));
}

TEST(Catalogue, UnknownPresetListsTheClosestNames)
{
    EXPECT_THAT(
        [] { findModelPreset("llama-2-7"); },
        ThrowsMessage<UsageError>(AllOf(HasSubstr("unknown model preset 'llama-2-7'"), HasSubstr("llama-2-7b"))));
}

TEST(Catalogue, UnknownGpuListsTheClosestNames)
{
    EXPECT_THAT([] { findGpu("rtx-4091"); }, ThrowsMessage<UsageError>(HasSubstr("closest: rtx-4090")));
}

TEST(Catalogue, FindsGpusByIdOrVendorName)
{
    EXPECT_EQ(findGpu("NVIDIA GeForce RTX 4090").id, "rtx-4090");
    EXPECT_EQ(findGpu("h100-sxm").memoryBytesUsable, 81559ULL * 1048576);
    EXPECT_EQ(findGpu("h100-sxm").memoryBytesSold, 80'000'000'000ULL);
}

TEST(Catalogue, HoldsEveryGpuOfTheReferenceTable)
{
    EXPECT_EQ(gpuCatalogue().size(), 31u);
    for (const auto& gpu : gpuCatalogue()) {
        EXPECT_GT(gpu.memoryBytesUsable, 0u) << gpu.id;
        EXPECT_LE(gpu.memoryBytesUsable, gpu.memoryBytesSold * 11 / 10) << gpu.id;
    }
}

TEST(ModelSpecFromConfig, ReadsSlidingWindowsAndWhichLayersUseThem)
{
    const nlohmann::json base = {{"hidden_size", 64},        {"num_hidden_layers", 6}, {"num_attention_heads", 4},
                                 {"intermediate_size", 128}, {"vocab_size", 100},      {"sliding_window", 32}};
    nlohmann::json mistral = base;
    mistral["model_type"] = "mistral";
    EXPECT_EQ(modelSpecFromConfig(mistral, "m.json").slidingWindow, 32);
    EXPECT_EQ(modelSpecFromConfig(mistral, "m.json").slidingLayers, 6);
    nlohmann::json qwen = base;
    qwen["model_type"] = "qwen2";
    qwen["use_sliding_window"] = false;
    EXPECT_EQ(modelSpecFromConfig(qwen, "q.json").slidingWindow, 0);
    nlohmann::json typed = base;
    typed["layer_types"] = {"sliding_attention", "full_attention", "sliding_attention",
                            "sliding_attention", "full_attention", "full_attention"};
    EXPECT_EQ(modelSpecFromConfig(typed, "t.json").slidingLayers, 3);
    EXPECT_EQ(findModelPreset("gemma-2-9b").slidingWindow, 4096);
    EXPECT_EQ(findModelPreset("gemma-2-9b").slidingLayers, 21); // 42 layers, the even ones slide
    nlohmann::json none = base;
    none["sliding_window"] = nullptr;
    EXPECT_EQ(modelSpecFromConfig(none, "n.json").slidingWindow, 0);
}
