#include "core/eval/eval.h"
#include "core/eval/llama_config.h"
#include "core/eval/token_input.h"
#include "core/eval/transformer.h"
#include "core/io/safetensors_writer.h"
#include "core/model/model.h"
#include "core/quant/quant_policy.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <unistd.h>

// The CPU forward pass and the evaluation on the real stories260K model in its several files.
using namespace quantlens;
using namespace quantlens::core;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

const std::string kData = QUANTLENS_TEST_DATA_DIR;
const std::string kF32 = kData + "/stories260K/model-f32.safetensors";
const std::string kBf16 = kData + "/stories260K/model.safetensors";
const std::string kGguf = kData + "/stories260K/model-f32.gguf";

TokenSet someTokens()
{
    TokenSet set;
    set.sequences = {{1, 403, 407, 261, 378, 395, 268, 370, 281, 259, 413, 285, 330, 282, 269, 434},
                     {1, 32, 300, 45, 299, 498, 7, 260, 260, 1, 511, 0, 77}};
    set.source = "test tokens";
    return set;
}

// Final hidden states of a sequence, prefilled at once.
RowMatrix prefill(const Transformer& t, const std::vector<std::int32_t>& tokens)
{
    RowMatrix x = t.embed(tokens);
    for (std::uint64_t l = 0; l < t.config().layers; ++l) {
        KvCache cache = t.reserve(tokens.size());
        t.runBlock(t.loadBlock(l), x, cache);
    }
    return x;
}

// A temporary folder removed at the end of the test.
struct TempDir {
    std::filesystem::path path;
    TempDir()
    {
        static int count = 0;
        path = std::filesystem::temp_directory_path()
            / ("quantlens-eval-test-" + std::to_string(::getpid()) + "-"
               + ::testing::UnitTest::GetInstance()->current_test_info()->name() + "-" + std::to_string(++count));
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

void writeText(const std::filesystem::path& path, const std::string& text)
{
    std::ofstream out(path, std::ios::binary);
    out << text;
}

// Copies the F32 stories260K model into `folder` with `config` as its config.json, adding `extra`
// tensors (F32, filled by `fill`).
void writeVariant(const std::filesystem::path& folder, const std::string& config,
                  const std::vector<std::pair<std::string, std::vector<std::uint64_t>>>& extra = {}, float fill = 0.0f)
{
    const auto model = openModel(kF32);
    std::vector<SafetensorsWriter::TensorDeclaration> declarations;
    std::vector<std::vector<float>> data;
    for (std::size_t i = 0; i < model->tensors().size(); ++i) {
        const auto& t = model->tensors()[i];
        declarations.push_back({t.name, DType::F32, t.shape});
        data.emplace_back(t.elementCount());
        model->readFloat(i, 0, data.back());
    }
    for (const auto& [name, shape] : extra) {
        declarations.push_back({name, DType::F32, shape});
        std::uint64_t n = 1;
        for (auto d : shape)
            n *= d;
        data.emplace_back(n, fill);
    }
    SafetensorsWriter writer(folder / "model.safetensors", declarations);
    for (const auto& values : data)
        writer.writeTensorData(std::as_bytes(std::span(values)));
    writer.commit();
    writeText(folder / "config.json", config);
}

std::string storiesConfig(const std::string& modelType = "llama", const std::string& extra = "")
{
    return R"({"model_type": ")" + modelType + R"(", "hidden_size": 64, "intermediate_size": 172,
        "num_hidden_layers": 5, "num_attention_heads": 8, "num_key_value_heads": 4, "vocab_size": 512,
        "max_position_embeddings": 512, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
        "tie_word_embeddings": true, "bos_token_id": 1)"
        + extra + "}";
}

} // namespace

TEST(LlamaConfig, ReadsStories260KFromConfigJsonAndFromGgufMetadata)
{
    for (const auto& path : {kF32, kGguf}) {
        const auto model = openModel(path);
        const auto c = llamaConfigFor(*model);
        EXPECT_EQ(c.architecture, "llama") << path;
        EXPECT_EQ(c.hidden, 64u);
        EXPECT_EQ(c.intermediate, 172u);
        EXPECT_EQ(c.layers, 5u);
        EXPECT_EQ(c.heads, 8u);
        EXPECT_EQ(c.kvHeads, 4u);
        EXPECT_EQ(c.headDim, 8u);
        EXPECT_EQ(c.vocab, 512u);
        EXPECT_EQ(c.context, 512u);
        EXPECT_NEAR(c.rmsEps, 1e-5, 1e-12);
        EXPECT_EQ(c.bosId, 1);
        EXPECT_TRUE(c.tiedEmbeddings);
        EXPECT_EQ(c.head, c.embedding);
        EXPECT_EQ(c.blocks.size(), 5u);
        // Hugging Face checkpoints rotate halves; llama.cpp keeps Meta's interleaved pairs.
        EXPECT_EQ(c.ropeLayout, path == kGguf ? RopeLayout::Interleaved : RopeLayout::RotateHalf);
    }
}

TEST(LlamaConfig, RefusesOtherArchitecturesAndMissingConfigNamingThem)
{
    TempDir dir;
    writeVariant(dir.path, storiesConfig("gpt2"));
    const auto model = openModel(dir.path / "model.safetensors");
    EXPECT_THAT([&] { llamaConfigFor(*model); },
                ThrowsMessage<UnsupportedError>(
                    AllOf(HasSubstr("config.json"), HasSubstr("'gpt2'"), HasSubstr("llama, mistral and qwen2"))));
    std::filesystem::remove(dir.path / "config.json");
    const auto bare = openModel(dir.path / "model.safetensors");
    EXPECT_THAT([&] { llamaConfigFor(*bare); }, ThrowsMessage<UnsupportedError>(HasSubstr("needs its config.json")));
    // A GGUF file of another architecture names it.
    const auto kquants = openModel(kData + "/stories260K/gguf/stories260K-kquants.gguf");
    EXPECT_THAT(
        [&] { llamaConfigFor(*kquants); },
        ThrowsMessage<UnsupportedError>(AllOf(HasSubstr("stories260K-kquants.gguf"), HasSubstr("'reference'"))));
    // A llama model without one of its weights names the tensor.
    TempDir partial;
    writeVariant(partial.path, storiesConfig());
    {
        const auto full = openModel(partial.path / "model.safetensors");
        std::vector<SafetensorsWriter::TensorDeclaration> declarations;
        std::vector<std::vector<float>> data;
        for (std::size_t i = 0; i < full->tensors().size(); ++i) {
            const auto& t = full->tensors()[i];
            if (t.name == "model.layers.2.mlp.up_proj.weight")
                continue;
            declarations.push_back({t.name, DType::F32, t.shape});
            data.emplace_back(t.elementCount());
            full->readFloat(i, 0, data.back());
        }
        SafetensorsWriter writer(partial.path / "cut.safetensors", declarations);
        for (const auto& values : data)
            writer.writeTensorData(std::as_bytes(std::span(values)));
        writer.commit();
    }
    const auto cut = openModel(partial.path / "cut.safetensors");
    EXPECT_THAT([&] { llamaConfigFor(*cut); },
                ThrowsMessage<FormatError>(
                    AllOf(HasSubstr("cut.safetensors"), HasSubstr("model.layers.2.mlp.up_proj.weight"))));
}

TEST(LlamaConfig, Llama3RopeScalingKeepsShortWavelengthsAndDividesLongOnes)
{
    TempDir dir;
    writeVariant(dir.path, storiesConfig("llama", R"(, "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
        "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16})"));
    const auto scaled = llamaConfigFor(*openModel(dir.path / "model.safetensors"));
    const auto plain = llamaConfigFor(*openModel(kF32));
    ASSERT_EQ(scaled.ropeFrequencies.size(), 4u);
    EXPECT_EQ(scaled.ropeScaling, "llama3");
    // Wavelengths 2 pi / f: 6.3 (< 16/4: kept), 63 and 628 (> 16: divided by 8), 19.9 is > 16 too.
    for (std::size_t i = 0; i < 4; ++i) {
        const double wavelength = 2 * M_PI / plain.ropeFrequencies[i];
        if (wavelength < 4.0) {
            EXPECT_DOUBLE_EQ(scaled.ropeFrequencies[i], plain.ropeFrequencies[i]) << i;
        } else if (wavelength > 16.0) {
            EXPECT_DOUBLE_EQ(scaled.ropeFrequencies[i], plain.ropeFrequencies[i] / 8.0) << i;
        }
    }
    writeVariant(dir.path, storiesConfig("llama", R"(, "rope_scaling": {"rope_type": "yarn", "factor": 4.0})"));
    EXPECT_THAT([&] { llamaConfigFor(*openModel(dir.path / "model.safetensors")); },
                ThrowsMessage<UnsupportedError>(HasSubstr("'yarn'")));
}

TEST(Transformer, GgufAndSafetensorsCopiesGiveTheSameLogits)
{
    // The two files differ in their rotary layout (interleaved pairs against halves): the same
    // outputs show both are applied as their tools apply them.
    const auto st = openModel(kF32);
    const auto gg = openModel(kGguf);
    const Transformer a(*st, llamaConfigFor(*st));
    const Transformer b(*gg, llamaConfigFor(*gg));
    for (const auto& tokens : someTokens().sequences) {
        RowMatrix la, lb;
        a.logits(a.loadHead(), a.loadFinalNorm(), prefill(a, tokens), la);
        b.logits(b.loadHead(), b.loadFinalNorm(), prefill(b, tokens), lb);
        const float range = la.maxCoeff() - la.minCoeff();
        EXPECT_LT((la - lb).cwiseAbs().maxCoeff(), 1e-5f * range);
    }
}

TEST(Transformer, IncrementalDecodingWithTheCacheEqualsPrefill)
{
    const auto model = openModel(kF32);
    for (std::uint64_t window : {0u, 4u}) {
        auto config = llamaConfigFor(*model);
        config.slidingWindow = window;
        const Transformer t(*model, config);
        const auto tokens = someTokens().sequences[0];
        const RowMatrix whole = prefill(t, tokens);
        std::vector<KvCache> caches;
        for (std::uint64_t l = 0; l < config.layers; ++l)
            caches.push_back(t.reserve(tokens.size()));
        for (std::size_t p = 0; p < tokens.size(); ++p) {
            RowMatrix x = t.embed(std::span(&tokens[p], 1));
            for (std::uint64_t l = 0; l < config.layers; ++l)
                t.runBlock(t.loadBlock(l), x, caches[l]);
            EXPECT_LT((x.row(0) - whole.row(Eigen::Index(p))).cwiseAbs().maxCoeff(), 1e-4f)
                << p << " window " << window;
        }
    }
}

TEST(Transformer, SlidingWindowChangesOnlyPositionsBeyondIt)
{
    const auto model = openModel(kF32);
    auto config = llamaConfigFor(*model);
    const Transformer full(*model, config);
    config.slidingWindow = 4;
    const Transformer windowed(*model, config);
    const auto tokens = someTokens().sequences[0];
    const RowMatrix a = prefill(full, tokens);
    const RowMatrix b = prefill(windowed, tokens);
    // Positions 0..3 see at most 4 positions either way; later ones lose the earliest.
    EXPECT_LT((a.topRows(4) - b.topRows(4)).cwiseAbs().maxCoeff(), 1e-6f);
    EXPECT_GT((a.bottomRows(4) - b.bottomRows(4)).cwiseAbs().maxCoeff(), 1e-3f);
}

TEST(Transformer, Qwen2BiasesAreAddedToQueriesKeysAndValues)
{
    TempDir zero;
    TempDir one;
    std::vector<std::pair<std::string, std::vector<std::uint64_t>>> biases;
    for (int l = 0; l < 5; ++l) {
        const std::string p = "model.layers." + std::to_string(l) + ".self_attn.";
        biases.push_back({p + "q_proj.bias", {64}});
        biases.push_back({p + "k_proj.bias", {32}});
        biases.push_back({p + "v_proj.bias", {32}});
    }
    writeVariant(zero.path, storiesConfig("qwen2"), biases, 0.0f);
    writeVariant(one.path, storiesConfig("qwen2"), biases, 0.5f);
    const auto base = openModel(kF32);
    const auto z = openModel(zero.path / "model.safetensors");
    const auto o = openModel(one.path / "model.safetensors");
    const auto zc = llamaConfigFor(*z);
    EXPECT_EQ(zc.architecture, "qwen2");
    EXPECT_GE(zc.blocks[0].qBias, 0);
    const auto tokens = someTokens().sequences[1];
    const RowMatrix a = prefill(Transformer(*base, llamaConfigFor(*base)), tokens);
    const RowMatrix b = prefill(Transformer(*z, zc), tokens);
    const RowMatrix c = prefill(Transformer(*o, llamaConfigFor(*o)), tokens);
    EXPECT_LT((a - b).cwiseAbs().maxCoeff(), 1e-6f); // zero biases change nothing
    EXPECT_GT((a - c).cwiseAbs().maxCoeff(), 1e-2f); // others do
}

TEST(TokenInput, ReadsOneSequencePerLineAndNamesTheLineOfEveryError)
{
    const auto set = parseTokenText("1 2 3\n\n  4\t5 \n", "t.txt", 512, 512);
    ASSERT_EQ(set.sequences.size(), 2u);
    EXPECT_EQ(set.sequences[1], (std::vector<std::int32_t> {4, 5}));
    EXPECT_EQ(set.scoredCount(), 3u);
    EXPECT_THAT([] { parseTokenText("1 2\n3 512\n", "t.txt", 512, 0); },
                ThrowsMessage<FormatError>(AllOf(HasSubstr("t.txt"), HasSubstr("line 2, column 3"), HasSubstr("512"),
                                                 HasSubstr("vocabulary"))));
    EXPECT_THAT([] { parseTokenText("1 2 x3\n", "t.txt", 512, 0); },
                ThrowsMessage<FormatError>(AllOf(HasSubstr("line 1, column 5"), HasSubstr("'x3'"))));
    EXPECT_THAT([] { parseTokenText("1 -2\n", "t.txt", 512, 0); }, ThrowsMessage<FormatError>(HasSubstr("'-2'")));
    EXPECT_THAT([] { parseTokenText("1 2 3 4\n", "t.txt", 512, 3); },
                ThrowsMessage<FormatError>(AllOf(HasSubstr("line 1"), HasSubstr("context"))));
    EXPECT_THAT([] { parseTokenText("1 2\n7\n", "t.txt", 512, 0); }, ThrowsMessage<FormatError>(HasSubstr("line 2")));
    EXPECT_THAT([] { parseTokenText("\n \n", "t.txt", 512, 0); }, ThrowsMessage<FormatError>(HasSubstr("no tokens")));
    TempDir dir;
    writeText(dir.path / "empty.txt", "");
    EXPECT_THAT([&] { readTokenFile(dir.path / "empty.txt", 512, 0); },
                ThrowsMessage<FormatError>(AllOf(HasSubstr("empty.txt"), HasSubstr("empty file"))));
    EXPECT_THROW(readTokenFile(dir.path / "missing.txt", 512, 0), IoError);
}

TEST(QuantPolicy, BitsandbytesTakesLinearWeightsAndGgmlEvery2DWeightWithLlamaCppFallbacks)
{
    const auto model = openModel(kF32);
    const QuantPolicy nf4(makeScheme("nf4"));
    const QuantPolicy q4k(makeScheme("q4_k"));
    const QuantPolicy q40(makeScheme("q4_0"));
    std::map<std::string, int> nf4Count, q4kSchemes, q40Schemes;
    for (const auto& t : model->tensors()) {
        if (const auto s = nf4.forTensor(t).scheme)
            ++nf4Count[std::string(roleName(t.role))];
        if (const auto s = q4k.forTensor(t).scheme)
            ++q4kSchemes[s->id()];
        if (const auto s = q40.forTensor(t).scheme)
            ++q40Schemes[s->id()];
    }
    // 7 projections in each of 5 layers; not the embedding nor the norms.
    EXPECT_EQ(nf4Count.size(), 7u);
    EXPECT_EQ(nf4Count["attn_q"], 5);
    EXPECT_EQ(nf4Count.count("embedding"), 0u);
    // Rows of 64 are not whole 256-value q4_k blocks: q5_0, as llama.cpp falls back; rows of 172 fit
    // no block at all: f16. The embedding (rows of 64) is quantized too.
    EXPECT_EQ(q4kSchemes["q5_0"], 31);
    EXPECT_EQ(q4kSchemes["fp16"], 5);
    EXPECT_EQ(q4kSchemes.count("q4_k"), 0u);
    EXPECT_EQ(q40Schemes["q4_0"], 31);
    EXPECT_EQ(q40Schemes["fp16"], 5);
    EXPECT_THAT(q4k.description(), HasSubstr("llama-quantize"));
    EXPECT_THAT(nf4.description(), HasSubstr("Linear"));
}

TEST(Eval, IdenticalFilesAgreeExactlyAndF32AgainstBf16IsWithinBf16Rounding)
{
    const auto model = openModel(kF32);
    EvalOptions options;
    options.compare = {kF32, kBf16, kGguf};
    options.threads = 2;
    const auto r = runEval(*model, someTokens(), options);
    EXPECT_EQ(r.tokensScored, 15u + 12u);
    ASSERT_EQ(r.results.size(), 3u);
    EXPECT_GT(r.baselinePerplexity, 1.0); // arbitrary tokens: far from what the model expects
    EXPECT_EQ(r.results[0].kl.max, 0.0);
    EXPECT_EQ(r.results[0].top1Agreement, 1.0);
    EXPECT_DOUBLE_EQ(r.results[0].perplexity, r.baselinePerplexity);
    // BF16 weights: a small but real difference (on arbitrary tokens, where the model is unsure).
    EXPECT_GT(r.results[1].kl.mean, 0.0);
    EXPECT_LT(r.results[1].kl.mean, 1e-2);
    EXPECT_NEAR(r.results[1].perplexity / r.baselinePerplexity, 1.0, 0.05);
    EXPECT_NEAR(r.results[1].bitsPerParameter, 16.0, 0.01);
    // The GGUF copy: the same numbers to float rounding.
    EXPECT_LT(r.results[2].kl.max, 1e-9);
    EXPECT_NEAR(r.results[2].perplexity, r.baselinePerplexity, 1e-6 * r.baselinePerplexity);
}

TEST(Eval, SchemesHurtInTheOrderOfTheirBitsAndStateTheirPolicy)
{
    const auto model = openModel(kF32);
    EvalOptions options;
    options.schemes = parseSchemeList("q8_0,nf4,q4_0,fp4");
    options.threads = 1;
    const auto tokens = sampleSequences(*model, llamaConfigFor(*model), 4, 64, 7, 2);
    const auto r = runEval(*model, tokens, options);
    ASSERT_EQ(r.results.size(), 4u);
    const auto& q8 = r.results[0];
    const auto& nf4 = r.results[1];
    const auto& fp4 = r.results[3];
    EXPECT_LT(q8.kl.mean, nf4.kl.mean);
    EXPECT_LT(nf4.kl.mean, fp4.kl.mean); // NF4's levels suit normal-like weights better
    EXPECT_GT(q8.top1Agreement, 0.8); // stories260K often ranks tokens within 1e-3 of each other
    EXPECT_GT(q8.top1Agreement, fp4.top1Agreement);
    for (const auto& c : r.results) {
        EXPECT_GT(c.kl.mean, 0.0) << c.name;
        EXPECT_LE(c.kl.median, c.kl.p99) << c.name;
        EXPECT_LE(c.kl.p99, c.kl.max) << c.name;
        EXPECT_FALSE(c.policy.empty());
    }
    EXPECT_EQ(nf4.quantizedTensors, 35u);
    EXPECT_EQ(r.results[2].quantizedTensors, 36u); // q4_0: 31 in q4_0 and 5 kept in f16, of 47
    EXPECT_THAT(r.results[2].notes, ::testing::ElementsAre(HasSubstr("5 tensors in f16")));
    const auto j = evalToJson(r);
    EXPECT_EQ(j["tokens_scored"], 4 * 63);
    for (const char* key :
         {"name", "perplexity", "kl_mean", "kl_median", "kl_p99", "kl_max", "top1_agreement", "policy"})
        EXPECT_TRUE(j["results"][0].contains(key)) << key;
}

TEST(Eval, SensitivityByLayerAndByRole)
{
    const auto model = openModel(kF32);
    EvalOptions options;
    options.sensitivityScheme = makeScheme("fp4");
    options.sensitivity = SensitivityMode::Layer;
    const auto tokens = someTokens();
    const auto byLayer = runEval(*model, tokens, options);
    ASSERT_EQ(byLayer.sensitivity.size(), 5u);
    EXPECT_EQ(byLayer.sensitivity[0].group, "layer 0");
    EXPECT_EQ(byLayer.sensitivity[4].group, "layer 4");
    for (const auto& s : byLayer.sensitivity) {
        EXPECT_EQ(s.tensors, 7u);
        EXPECT_GT(s.klMean, 0.0) << s.group;
    }
    // A layer's KL is the same whether or not the run starts from the baseline's cached states.
    options.schemes = {makeScheme("fp4")};
    options.sensitivity = SensitivityMode::None;
    options.sensitivityScheme = nullptr;
    const auto whole = runEval(*model, tokens, options);
    EXPECT_GT(whole.results[0].kl.mean, byLayer.sensitivity[4].klMean);

    options.sensitivity = SensitivityMode::Role;
    const auto byRole = runEval(*model, tokens, options);
    ASSERT_EQ(byRole.sensitivity.size(), 7u);
    EXPECT_EQ(byRole.sensitivity[0].scheme, "fp4");
    for (const auto& s : byRole.sensitivity)
        EXPECT_EQ(s.tensors, 5u) << s.group;
}

TEST(Eval, ActivationStatisticsOfLayerZeroAreTheNormedEmbeddingsMeanSquares)
{
    // Layer 0's q, k and v read RMSNorm(embedding row) * attn_norm: computed here from the raw
    // tensors, without the Transformer.
    const auto model = openModel(kF32);
    const auto config = llamaConfigFor(*model);
    const auto tokens = someTokens();
    const auto stats = collectActivationStatistics(*model, tokens, 2);
    const auto read = [&](std::ptrdiff_t index) {
        std::vector<float> v(model->tensors()[std::size_t(index)].elementCount());
        model->readFloat(std::size_t(index), 0, v);
        return v;
    };
    const auto embedding = read(config.embedding);
    const auto norm = read(config.blocks[0].attnNorm);
    const std::size_t h = config.hidden;
    std::vector<double> expected(h, 0.0);
    std::uint64_t positions = 0;
    std::vector<double> shares(config.vocab, 0.0);
    for (const auto& sequence : tokens.sequences) {
        for (auto id : sequence) {
            const float* row = embedding.data() + std::size_t(id) * h;
            double ss = 0.0;
            for (std::size_t j = 0; j < h; ++j)
                ss += double(row[j]) * double(row[j]);
            const double scale = 1.0 / std::sqrt(ss / double(h) + config.rmsEps);
            for (std::size_t j = 0; j < h; ++j) {
                const double x = double(row[j]) * scale * double(norm[j]);
                expected[j] += x * x;
            }
            shares[std::size_t(id)] += 1.0;
            ++positions;
        }
    }
    EXPECT_EQ(stats.positions, positions);
    for (auto index : {config.blocks[0].q, config.blocks[0].k, config.blocks[0].v}) {
        const auto& got = stats.columns.at(std::size_t(index));
        ASSERT_EQ(got.size(), h);
        for (std::size_t j = 0; j < h; ++j)
            EXPECT_NEAR(got[j], expected[j] / double(positions), 1e-5 * expected[j] / double(positions) + 1e-12) << j;
    }
    // Every Linear weight of every block and the head have their inputs; the embedding its row shares.
    for (const auto& b : config.blocks)
        for (auto index : {b.q, b.k, b.v, b.o, b.gate, b.up, b.down})
            EXPECT_EQ(stats.columns.at(std::size_t(index)).size(), model->tensors()[std::size_t(index)].shape.back());
    EXPECT_EQ(stats.columns.at(std::size_t(config.head)).size(), h);
    const auto& rows = stats.rows.at(std::size_t(config.embedding));
    for (std::size_t r = 0; r < rows.size(); ++r)
        EXPECT_DOUBLE_EQ(rows[r], shares[r] / double(positions));
    EXPECT_EQ(stats.input, tokens.source);
}

TEST(Eval, TensorProbesEqualAWholeRunWithThatTensorAloneQuantized)
{
    const auto model = openModel(kF32);
    const auto config = llamaConfigFor(*model);
    const auto tokens = someTokens();
    const std::size_t up = std::size_t(config.blocks[3].up);
    const std::size_t embedding = std::size_t(config.embedding); // the tied head too
    const auto q4 = makeScheme("q4_0");
    const auto kl = probeTensorKl(*model, tokens, {{up, q4}, {embedding, q4}, {up, makeScheme("q8_0")}}, 2);
    ASSERT_EQ(kl.size(), 3u);
    EvalOptions options;
    options.recipes
        = {{"up", {{model->tensors()[up].name, "q4_0"}}}, {"embedding", {{model->tensors()[embedding].name, "q4_0"}}}};
    const auto whole = runEval(*model, tokens, options);
    EXPECT_NEAR(kl[0], whole.results[0].kl.mean, 1e-9);
    EXPECT_NEAR(kl[1], whole.results[1].kl.mean, 1e-9);
    EXPECT_GT(kl[0], kl[2]); // 4 bits hurt more than 8
    EXPECT_GT(kl[2], 0.0);
    // A scheme that cannot store the tensor is refused by name.
    EXPECT_THAT(
        [&] {
            probeTensorKl(*model, tokens, {{up, makeScheme("q4_k")}}, 2);
        },
        ThrowsMessage<UsageError>(HasSubstr(model->tensors()[up].name)));
}

TEST(Eval, CompareFilesOfTheSameNameAreNamedWithTheirFolder)
{
    const auto model = openModel(kF32);
    EvalOptions options;
    options.compare
        = {kData + "/stories260K/model.safetensors", kData + "/stories260K/sharded/model.safetensors.index.json"};
    auto r = runEval(*model, someTokens(), options);
    EXPECT_EQ(r.results[0].name, "model.safetensors"); // unique: the name alone
    const auto folder = std::filesystem::temp_directory_path() / ("same-name-" + std::to_string(::getpid()));
    std::filesystem::create_directories(folder / "copy");
    std::filesystem::copy_file(kData + "/stories260K/model.safetensors", folder / "copy" / "model.safetensors",
                               std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(kData + "/stories260K/config.json", folder / "copy" / "config.json",
                               std::filesystem::copy_options::overwrite_existing);
    options.compare = {kData + "/stories260K/model.safetensors", folder / "copy" / "model.safetensors"};
    r = runEval(*model, someTokens(), options);
    EXPECT_EQ(r.results[0].name, "stories260K/model.safetensors");
    EXPECT_EQ(r.results[1].name, "copy/model.safetensors");
    std::filesystem::remove_all(folder);
}

TEST(Eval, SamplingIsReproducibleWhateverTheThreads)
{
    const auto model = openModel(kF32);
    const auto config = llamaConfigFor(*model);
    const auto a = sampleSequences(*model, config, 3, 40, 5, 1);
    const auto b = sampleSequences(*model, config, 3, 40, 5, 2);
    const auto c = sampleSequences(*model, config, 3, 40, 6, 2);
    EXPECT_EQ(a.sequences, b.sequences);
    EXPECT_NE(a.sequences, c.sequences);
    ASSERT_EQ(a.sequences.size(), 3u);
    for (const auto& s : a.sequences) {
        EXPECT_EQ(s.size(), 40u);
        EXPECT_EQ(s[0], 1);
    }
    EXPECT_NE(a.sequences[0], a.sequences[1]);
    EXPECT_THAT([&] { sampleSequences(*model, config, 1, 513, 5, 1); },
                ThrowsMessage<UsageError>(HasSubstr("context")));
}

TEST(Eval, RefusesACompareFileOfAnotherModelSayingWhatDiffers)
{
    TempDir dir;
    auto config = storiesConfig();
    config.replace(config.find("\"num_hidden_layers\": 5"), 22, "\"num_hidden_layers\": 4");
    writeVariant(dir.path, config);
    const auto model = openModel(kF32);
    EvalOptions options;
    options.compare = {dir.path / "model.safetensors"};
    EXPECT_THAT([&] { runEval(*model, someTokens(), options); },
                ThrowsMessage<UsageError>(
                    AllOf(HasSubstr("model.safetensors is not the same model"), HasSubstr("number of layers is 4"))));
}

TEST(Eval, CancellationStops)
{
    const auto model = openModel(kF32);
    ProgressSink sink;
    sink.cancel();
    EvalOptions options;
    options.schemes = {makeScheme("nf4")};
    EXPECT_THROW(runEval(*model, someTokens(), options, &sink), CancelledError);
}

TEST(Transformer, MatchesLlama2cRunCOnStories260K)
{
    // tests/data/stories260K/llama2c: logits of every position of three sequences from karpathy/llama2.c's
    // run.c (an implementation we did not write) on the same weights. Ours must agree within 1e-4 of each
    // sequence's logit range, from the GGUF (interleaved rotary pairs, as run.c) and from the Hugging Face
    // safetensors (permuted q/k, rotate-half), and give the same top token everywhere.
    const std::string folder = kData + "/stories260K/llama2c";
    const auto tokens = readTokenFile(folder + "/reference-tokens.txt", 512, 512);
    ASSERT_EQ(tokens.sequences.size(), 3u);
    std::ifstream in(folder + "/reference-logits.bin", std::ios::binary);
    std::vector<float> reference(tokens.tokenCount() * 512);
    in.read(reinterpret_cast<char*>(reference.data()), std::streamsize(reference.size() * sizeof(float)));
    ASSERT_EQ(in.gcount(), std::streamsize(reference.size() * sizeof(float)));
    for (const auto& path : {kGguf, kF32}) {
        const auto model = openModel(path);
        const Transformer t(*model, llamaConfigFor(*model));
        const RowMatrix head = t.loadHead();
        const Eigen::VectorXf norm = t.loadFinalNorm();
        std::size_t offset = 0;
        for (const auto& sequence : tokens.sequences) {
            RowMatrix ours;
            t.logits(head, norm, prefill(t, sequence), ours);
            const Eigen::Map<const RowMatrix> theirs(&reference[offset], Eigen::Index(sequence.size()), 512);
            offset += sequence.size() * 512;
            const float range = theirs.maxCoeff() - theirs.minCoeff();
            const float worst = (ours - theirs).cwiseAbs().maxCoeff();
            EXPECT_LT(worst, 1e-5f * range) << path; // the issue asks 1e-4; we are at 2.2e-6
            std::cout << path << ": " << sequence.size() << " positions, max |ours - run.c| " << worst << " ("
                      << worst / range << " of the logit range " << range << ")\n";
            for (Eigen::Index p = 0; p < ours.rows(); ++p) {
                Eigen::Index a = 0, b = 0;
                ours.row(p).maxCoeff(&a);
                theirs.row(p).maxCoeff(&b);
                EXPECT_EQ(a, b) << path << " position " << p;
            }
        }
    }
}

TEST(Eval, SimulatedGgmlSchemesMatchTheFilesGgmlItselfWrote)
{
    // tests/data/stories260K/gguf holds stories260K quantized by ggml's own quantizers (every 2-D
    // weight; ffn_down, rows of 172, kept in F32). Our simulation of the same scheme on the F32 GGUF
    // must measure the same model: the only difference is ffn_down, which our policy keeps in f16.
    const auto model = openModel(kGguf);
    EvalOptions options;
    options.schemes = parseSchemeList("q4_0,q8_0");
    options.compare
        = {kData + "/stories260K/gguf/stories260K-q4_0.gguf", kData + "/stories260K/gguf/stories260K-q8_0.gguf"};
    const auto r = runEval(*model, sampleSequences(*model, llamaConfigFor(*model), 4, 128, 3, 2), options);
    ASSERT_EQ(r.results.size(), 4u);
    for (int k = 0; k < 2; ++k) {
        const auto& ours = r.results[std::size_t(k)];
        const auto& ggml = r.results[std::size_t(k) + 2];
        EXPECT_NEAR(ours.perplexity / ggml.perplexity, 1.0, 2e-3) << ours.name;
        EXPECT_NEAR(ours.kl.mean / ggml.kl.mean, 1.0, 0.02) << ours.name;
        EXPECT_NEAR(ours.top1Agreement, ggml.top1Agreement, 0.01) << ours.name;
    }
}

// GPTQ's calibration (#19): H = 2/N sum x x^T of each Linear input, shared by the weights that read
// it; its diagonal is twice the mean square the imatrix-style statistics gather on another path.
// Sequential: layer 0 sees the same inputs either way, later layers those of the quantized layers.
TEST(Calibration, HessiansOfEveryLinearInputSequentialOrNot)
{
    const auto model = openModel(kF32);
    const LlamaConfig config = llamaConfigFor(*model);
    const TokenSet tokens = someTokens();
    const CalibrationData plain = collectCalibration(*model, tokens, 2);
    const ActivationStatistics stats = collectActivationStatistics(*model, tokens, 2);
    EXPECT_EQ(plain.source, "test tokens");
    EXPECT_THAT(plain.mode, HasSubstr("original model"));
    std::size_t checked = 0;
    for (const auto& [index, columns] : stats.columns) {
        const Calibration* c = plain.find(index);
        if (std::ptrdiff_t(index) == config.head) {
            EXPECT_EQ(c, nullptr); // the output head is not a Linear projection GPTQ takes
            continue;
        }
        ASSERT_NE(c, nullptr) << model->tensors()[index].name;
        EXPECT_EQ(c->samples, tokens.tokenCount());
        ASSERT_EQ(std::size_t(c->hessian.rows()), columns.size());
        EXPECT_TRUE(c->hessian.isApprox(c->hessian.transpose()));
        for (std::size_t j = 0; j < columns.size(); ++j)
            EXPECT_NEAR(c->hessian(Eigen::Index(j), Eigen::Index(j)), 2.0 * columns[j],
                        1e-4 * (2.0 * columns[j] + 1e-6));
        ++checked;
    }
    EXPECT_EQ(checked, 35u);
    const auto& b0 = config.blocks[0];
    EXPECT_EQ(plain.tensors.at(std::size_t(b0.q)), plain.tensors.at(std::size_t(b0.v))); // one input, one matrix

    const CalibrationData sequential = collectCalibration(*model, tokens, 2, nullptr, makeScheme("gptq4"));
    EXPECT_THAT(sequential.mode, HasSubstr("sequential"));
    EXPECT_EQ(sequential.find(std::size_t(b0.q))->hessian, plain.find(std::size_t(b0.q))->hessian);
    const auto& b2 = config.blocks[2];
    EXPECT_FALSE(sequential.find(std::size_t(b2.q))->hessian.isApprox(plain.find(std::size_t(b2.q))->hessian, 1e-6f));
}

// GPTQ in eval: calibrated on its own sampled tokens (seed 1234, stated), never the evaluation's;
// on stories260K its output KL is below round-to-nearest's in the same format, at 4 and 3 bits.
TEST(Calibration, GptqInEvalBeatsRoundToNearestOnOutputKl)
{
    const auto model = openModel(kBf16);
    const LlamaConfig config = llamaConfigFor(*model);
    const TokenSet tokens = sampleSequences(*model, config, 4, 128, 1, 2);
    EvalOptions options;
    options.schemes = parseSchemeList("rtn4,gptq4,rtn3,gptq3");
    options.threads = 2;
    const EvalResult r = runEval(*model, tokens, options);
    ASSERT_EQ(r.results.size(), 4u);
    EXPECT_THAT(r.calibration, HasSubstr("seed 1234"));
    EXPECT_THAT(r.calibration, HasSubstr("sequential"));
    EXPECT_LT(r.results[1].kl.mean, r.results[0].kl.mean);
    EXPECT_LT(r.results[3].kl.mean, r.results[2].kl.mean);
    EXPECT_EQ(r.results[1].quantizedTensors, 35u);
    // Without calibration inputs GPTQ refuses, naming what it needs.
    std::vector<float> w(64 * 64, 0.01f), out(w.size());
    EXPECT_THAT(
        [&] {
            roundTripTensor(*makeScheme("gptq4"), std::vector<std::uint64_t> {64, 64}, w, out);
        },
        ThrowsMessage<UsageError>(HasSubstr("needs calibration inputs")));
}
