#include "core/io/hf_config.h"
#include "core/model/architecture.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;

namespace {

std::string readText(const std::filesystem::path& path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

const std::filesystem::path kData = QUANTLENS_TEST_DATA_DIR;

} // namespace

TEST(HfConfig, ReadsTheStoriesLlamaConfig)
{
    const auto config = parseHfConfig(readText(kData / "stories260K" / "config.json"), "config.json");
    const auto& a = config.architecture;
    EXPECT_EQ(a.name, "llama");
    EXPECT_EQ(a.hiddenSize, 64u);
    EXPECT_EQ(a.intermediateSize, 172u);
    EXPECT_EQ(a.layers, 5u);
    EXPECT_EQ(a.attentionHeads, 8u);
    EXPECT_EQ(a.kvHeads, 4u);
    EXPECT_EQ(a.headDim, 8u);
    EXPECT_EQ(a.vocabSize, 512u);
    EXPECT_EQ(a.contextLength, 512u);
    EXPECT_TRUE(a.tiedEmbeddings);
    EXPECT_EQ(config.facts.at("architectures"), "LlamaForCausalLM");
    EXPECT_EQ(config.facts.at("torch_dtype"), "bfloat16");
}

TEST(HfConfig, ReadsMixtralExpertsGemmaHeadDimAndBitsandbytesQuantization)
{
    const auto mixtral = parseHfConfig(R"({"model_type":"mixtral","hidden_size":4096,"num_hidden_layers":32,
        "num_attention_heads":32,"num_key_value_heads":8,"num_local_experts":8,"num_experts_per_tok":2,
        "intermediate_size":14336,"vocab_size":32000,"quantization_config":{"quant_method":"bitsandbytes",
        "bnb_4bit_quant_type":"nf4","load_in_4bit":true}})",
                                       "config.json");
    EXPECT_EQ(mixtral.architecture.experts, 8u);
    EXPECT_EQ(mixtral.architecture.expertsPerToken, 2u);
    EXPECT_EQ(mixtral.architecture.headDim, 128u);
    EXPECT_FALSE(mixtral.architecture.tiedEmbeddings);
    EXPECT_EQ(mixtral.facts.at("quantization_config.bnb_4bit_quant_type"), "nf4");
    EXPECT_EQ(mixtral.facts.at("quantization_config.load_in_4bit"), "true");
    const auto gemma = parseHfConfig(R"({"model_type":"gemma3","text_config":{"hidden_size":2560,"head_dim":256,
        "num_attention_heads":8,"num_hidden_layers":34}, "vocab_size": 262208})",
                                     "config.json");
    EXPECT_EQ(gemma.architecture.name, "gemma3");
    EXPECT_EQ(gemma.architecture.headDim, 256u);
    EXPECT_EQ(gemma.architecture.layers, 34u);
    EXPECT_EQ(gemma.architecture.vocabSize, 262208u);
    const auto gpt2 = parseHfConfig(R"({"model_type":"gpt2","n_embd":768,"n_layer":12,"n_head":12})", "config.json");
    EXPECT_EQ(gpt2.architecture.hiddenSize, 768u);
    EXPECT_EQ(gpt2.architecture.layers, 12u);
}

TEST(HfConfig, RejectsBadFilesNamingTheKeyAndOffset)
{
    EXPECT_THAT(
        [] { parseHfConfig(readText(kData / "malformed-extra" / "config_bad_size.json"), "config_bad_size.json"); },
        ::testing::ThrowsMessage<FormatError>(
            HasSubstr("config_bad_size.json: 'hidden_size' is not a size (expected a non-negative "
                      "integer, found -64)")));
    EXPECT_THAT([] { parseHfConfig(readText(kData / "malformed-extra" / "config_not_object.json"), "c.json"); },
                ::testing::ThrowsMessage<FormatError>(HasSubstr("c.json: config is not a JSON object")));
    EXPECT_THAT([] { parseHfConfig(readText(kData / "malformed-extra" / "config_invalid_json.json"), "c.json"); },
                ::testing::ThrowsMessage<FormatError>(HasSubstr("c.json: config is not valid JSON [at byte 42]")));
}

TEST(Architecture, ComesFromGgufKeysAndFallsBackToTheTensors)
{
    const auto a = architectureFromGguf({{"qwen2.block_count", 24},
                                         {"qwen2.embedding_length", 896},
                                         {"qwen2.attention.head_count", 14},
                                         {"qwen2.attention.head_count_kv", 2},
                                         {"tokenizer.ggml.tokens.count", 151936}},
                                        {{"general.architecture", "qwen2"}});
    EXPECT_EQ(a.name, "qwen2");
    EXPECT_EQ(a.layers, 24u);
    EXPECT_EQ(a.kvHeads, 2u);
    EXPECT_EQ(a.headDim, 64u);
    EXPECT_EQ(a.vocabSize, 151936u);

    ModelArchitecture filled;
    std::vector<TensorInfo> tensors(3);
    tensors[0] = {"model.embed_tokens.weight", {1000, 32}, DType::F32, 0, -1, -1, TensorRole::Embedding, ""};
    tensors[1] = {"model.layers.6.mlp.down_proj.weight", {32, 88}, DType::F32, 0, 6, -1, TensorRole::MlpDown, ""};
    tensors[2] = {"lm_head.weight", {1000, 32}, DType::F32, 0, -1, -1, TensorRole::LmHead, ""};
    fillArchitectureFromTensors(tensors, filled);
    EXPECT_EQ(filled.layers, 7u);
    EXPECT_EQ(filled.vocabSize, 1000u);
    EXPECT_EQ(filled.hiddenSize, 32u);
    EXPECT_EQ(filled.intermediateSize, 88u);
    EXPECT_FALSE(filled.tiedEmbeddings);
}
