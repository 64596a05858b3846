#include "core/advise/advisor.h"
#include "core/advise/gpu_budget.h"
#include "core/advise/recipe.h"
#include "core/eval/eval.h"
#include "core/eval/llama_config.h"
#include "core/model/model.h"
#include "core/model/tensor_role.h"
#include "core/quant/scheme.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>

#include <unistd.h>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

const std::string kModel = std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/model.safetensors";

AdvisorResult adviseAt(const Model& model, std::uint64_t budget, AdvisorFamily family = AdvisorFamily::Ggml,
                       std::vector<std::string> schemes = {})
{
    AdvisorOptions options;
    options.family = family;
    options.budgetBytes = budget;
    options.schemes = std::move(schemes);
    ProgressSink sink;
    return advise(model, options, sink);
}

const UniformPoint& uniform(const AdvisorResult& r, const std::string& scheme)
{
    for (const auto& u : r.uniform)
        if (u.scheme == scheme)
            return u;
    throw std::runtime_error("no uniform point " + scheme);
}

} // namespace

TEST(Advisor, GgmlMixWithinTheBudgetBeatsEachTypeAloneAtItsSize)
{
    const auto model = openModel(kModel);
    const auto probe = adviseAt(*model, 300000);
    for (const auto& u : probe.uniform) {
        const auto r = adviseAt(*model, u.bytes);
        EXPECT_LE(r.totalBytes, u.bytes) << u.scheme;
        EXPECT_LE(r.predictedCost, u.cost * (1 + 1e-12) + 1e-15) << u.scheme;
    }
    const auto r = adviseAt(*model, 260000);
    EXPECT_LE(r.totalBytes, 260000u);
    EXPECT_EQ(r.assignment.size(), 36u); // 35 projections and the embedding
    std::uint64_t bytes = r.fixedBytes;
    double cost = 0;
    for (const auto& a : r.assignment) {
        bytes += a.bytes;
        cost += a.cost;
        EXPECT_TRUE(makeScheme(a.scheme)->cannotStore(model->tensors()[a.tensorIndex].shape).empty()) << a.tensor;
    }
    EXPECT_EQ(bytes, r.totalBytes);
    EXPECT_NEAR(cost, r.predictedCost, 1e-9 * cost);
    // The frontier runs from the smallest to the largest mix, cost falling.
    ASSERT_GE(r.frontier.size(), 2u);
    EXPECT_EQ(r.frontier.front().bytes, r.smallestBytes);
    for (std::size_t k = 1; k < r.frontier.size(); ++k)
        EXPECT_LE(r.frontier[k].cost, r.frontier[k - 1].cost);
    const auto j = adviceToJson(r);
    for (const char* key :
         {"budget_bytes", "cost_kind", "assignment", "total_bytes", "predicted_cost", "frontier", "uniform"})
        EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["assignment"][0].size(), 6u);
}

TEST(Advisor, TheMixAtUniformQ4kSizeHasALowerMeasuredKlThanUniformQ4kForEveryCost)
{
    // stories260K's rows of 64 hold no 256-value k-quant block: uniform q4_k is what llama.cpp makes
    // of it, q5_0 for 31 tensors (its fallback) and f16 for ffn_down. The advisor's mix of the same
    // size under each cost, measured by running the model on eval's default tokens (seed 1; the
    // activation and KL costs ran on seed 2's).
    const auto model = openModel(kModel);
    const auto probe = adviseAt(*model, 300000);
    const auto& q4k = uniform(probe, "q4_k");
    EvalOptions options;
    options.schemes = {makeScheme("q4_k")};
    for (auto cost : {AdvisorCostKind::Weight, AdvisorCostKind::Activation, AdvisorCostKind::Kl}) {
        AdvisorOptions advisor;
        advisor.budgetBytes = q4k.bytes;
        advisor.cost = cost;
        // Fewer tokens than advise's default 8 x 256 (docs/advise.md has those figures): the KL cost
        // runs the model once per tensor and type, which the ASan build must finish in minutes.
        advisor.tokens.sequences = 2;
        advisor.tokens.length = 128;
        ProgressSink sink;
        const auto mix = advise(*model, advisor, sink);
        EXPECT_EQ(mix.costId, toString(cost));
        EXPECT_LE(mix.totalBytes, q4k.bytes);
        EvalRecipe recipe {strCat("mix (", toString(cost), " cost)"), {}};
        for (const auto& a : mix.assignment)
            recipe.schemes[a.tensor] = a.scheme;
        options.recipes.push_back(recipe);
    }
    const auto tokens = sampleSequences(*model, llamaConfigFor(*model), 8, 256, 1, 2);
    const auto r = runEval(*model, tokens, options);
    ASSERT_EQ(r.results.size(), 4u);
    for (const auto& row : r.results) {
        std::cout << row.name << ": " << row.bitsPerParameter << " bits/param, KL " << row.kl.mean << ", top-1 "
                  << row.top1Agreement << "\n";
        // The activation cost does worse here (docs/advise.md says why): only weight and kl are held to it.
        if (row.kind == "recipe" && row.name.find("activation") == std::string::npos) {
            EXPECT_LT(row.kl.mean, r.results[0].kl.mean) << row.name;
        }
    }
}

TEST(Advisor, ActivationAndKlCostsNameTheirTokensAndRefuseWhatTheForwardPassCannotRun)
{
    const auto model = openModel(std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/model-f32.gguf");
    AdvisorOptions options;
    options.budgetBytes = 260000;
    options.cost = AdvisorCostKind::Activation;
    options.tokens.sequences = 2;
    options.tokens.length = 32;
    ProgressSink sink;
    const auto r = advise(*model, options, sink);
    EXPECT_THAT(r.costKind, AllOf(HasSubstr("activation-weighted"), HasSubstr("seed 2")));
    EXPECT_THAT(r.costInput, HasSubstr("2 sequences of 32 tokens"));
    EXPECT_EQ(adviceToJson(r)["cost_kind"], "activation");
    for (const auto& a : r.assignment)
        EXPECT_TRUE(std::isfinite(a.cost) && a.cost >= 0.0) << a.tensor;
    EXPECT_THROW(parseAdvisorCostKind("hessian"), UsageError);
}

TEST(Advisor, BitsandbytesMixesOneFourBitTypeWithModulesKeptIn16Bit)
{
    const auto model = openModel(kModel);
    const auto r = adviseAt(*model, 250000, AdvisorFamily::Bitsandbytes);
    EXPECT_FALSE(r.fourBitType.empty());
    std::set<std::string> schemes;
    for (const auto& a : r.assignment)
        schemes.insert(a.scheme);
    EXPECT_LE(schemes.size(), 2u);
    EXPECT_TRUE(schemes.count("keep"));
    EXPECT_TRUE(schemes.count(r.fourBitType));
    EXPECT_EQ(r.assignment.size(), 35u); // Linear weights only
    EXPECT_LE(r.totalBytes, 250000u);
}

TEST(Advisor, BadBudgetsAndCandidatesAreClearErrors)
{
    const auto model = openModel(kModel);
    EXPECT_THAT([&] { adviseAt(*model, 1000); },
                ThrowsMessage<UsageError>(AllOf(HasSubstr("below the smallest mix"), HasSubstr("227808 bytes"))));
    EXPECT_THAT([&] { adviseAt(*model, 10000000); },
                ThrowsMessage<UsageError>(AllOf(HasSubstr("above the largest mix"), HasSubstr("nothing to choose"))));
    EXPECT_THAT(
        [&] {
            adviseAt(*model, 250000, AdvisorFamily::Ggml, {"q4_k", "q6_k"});
        },
        ThrowsMessage<UsageError>(HasSubstr("no candidate type can store")));
    EXPECT_THAT([&] { adviseAt(*model, 250000, AdvisorFamily::Ggml, {"nf4"}); },
                ThrowsMessage<UsageError>(HasSubstr("'nf4' is not a GGUF (ggml) type")));
    EXPECT_THAT([&] { adviseAt(*model, 250000, AdvisorFamily::Ggml, {"q9_9"}); },
                ThrowsMessage<UsageError>(HasSubstr("q9_9")));
    const auto gguf = openModel(std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/model-f32.gguf");
    EXPECT_THAT([&] { adviseAt(*gguf, 250000, AdvisorFamily::Bitsandbytes); },
                ThrowsMessage<UsageError>(HasSubstr("model-f32.gguf is a GGUF file")));
    // The GGUF family on a GGUF file names its tensors as llama.cpp does.
    const auto fromGguf = adviseAt(*gguf, 260000);
    EXPECT_THAT(llamaQuantizeScript(fromGguf, "a.gguf", "b.gguf"), HasSubstr("\\.attn_q\\.weight$="));
}

TEST(Recipe, LlamaQuantizePatternsGiveEveryTensorItsAssignedType)
{
    EXPECT_EQ(ggufTensorName("model.layers.12.self_attn.o_proj.weight"), "blk.12.attn_output.weight");
    EXPECT_EQ(ggufTensorName("model.layers.0.mlp.down_proj.weight"), "blk.0.ffn_down.weight");
    EXPECT_EQ(ggufTensorName("model.embed_tokens.weight"), "token_embd.weight");
    EXPECT_EQ(ggufTensorName("lm_head.weight"), "output.weight");
    EXPECT_EQ(ggufTensorName("blk.3.attn_q.weight"), "blk.3.attn_q.weight");
    EXPECT_EQ(ggufTensorName("model.layers.0.self_attn.rotary_emb.inv_freq"), "");

    const auto model = openModel(kModel);
    const auto r = adviseAt(*model, 260000);
    const std::string script = llamaQuantizeScript(r, "in.gguf", "out.gguf");
    EXPECT_THAT(script, HasSubstr("llama-quantize --pure"));
    EXPECT_THAT(script, HasSubstr("in.gguf out.gguf Q"));
    // Apply the patterns as llama-quantize does: lowercased, searched in the name, the first match wins.
    std::vector<std::pair<std::regex, std::string>> patterns;
    std::string embedding;
    const std::regex option(R"(--tensor-type '([^=']+)=([a-z0-9_]+)')");
    for (std::sregex_iterator it(script.begin(), script.end(), option), end; it != end; ++it)
        patterns.emplace_back(std::regex((*it)[1].str()), (*it)[2].str());
    std::smatch m;
    ASSERT_TRUE(std::regex_search(script, m, std::regex(R"(--token-embedding-type ([a-z0-9_]+))")));
    embedding = m[1].str();
    for (const auto& a : r.assignment) {
        const std::string name = ggufTensorName(a.tensor);
        const std::string want = a.scheme == "fp16" ? "f16" : a.scheme;
        if (name == "token_embd.weight") {
            EXPECT_EQ(embedding, want);
            continue;
        }
        std::string got;
        for (const auto& [re, type] : patterns) {
            if (std::regex_search(name, re)) {
                got = type;
                break;
            }
        }
        EXPECT_EQ(got, want) << name;
    }
    EXPECT_THROW(bitsandbytesConfig(r), UsageError);
}

TEST(Recipe, BitsAndBytesConfigSkipsTheKeptModulesAndLmHead)
{
    const auto model = openModel(kModel);
    const auto r = adviseAt(*model, 250000, AdvisorFamily::Bitsandbytes);
    const auto j = bitsandbytesConfig(r);
    EXPECT_EQ(j["load_in_4bit"], true);
    EXPECT_EQ(j["bnb_4bit_quant_type"], r.fourBitType.rfind("fp4", 0) == 0 ? "fp4" : "nf4");
    std::set<std::string> skipped;
    for (const auto& s : j["llm_int8_skip_modules"])
        skipped.insert(s.get<std::string>());
    std::set<std::string> kept {"lm_head"};
    for (const auto& a : r.assignment)
        if (a.scheme == "keep")
            kept.insert(a.tensor.substr(0, a.tensor.size() - 7));
    EXPECT_EQ(skipped, kept);
    EXPECT_THAT(bitsandbytesPython(r, "/models/x"), AllOf(HasSubstr("BitsAndBytesConfig("), HasSubstr("\"lm_head\"")));
    EXPECT_THROW(llamaQuantizeScript(r, "a", "b"), UsageError);
}

namespace {

std::filesystem::path writeJson(const std::string& name, const std::string& text)
{
    const auto path = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".json");
    std::ofstream(path) << text;
    return path;
}

} // namespace

TEST(Recipe, AdvisorsConfigReadsBackAsTheRecipeQuantizeApplies)
{
    const auto model = openModel(kModel);
    const auto r = adviseAt(*model, 250000, AdvisorFamily::Bitsandbytes);
    const auto path = writeJson("recipe", bitsandbytesConfig(r).dump());
    const auto recipe = readBitsandbytesRecipe(path);
    EXPECT_EQ(recipe.scheme, r.fourBitType.rfind("fp4", 0) == 0 ? "fp4" : "nf4");
    EXPECT_EQ(recipe.doubleQuant, r.fourBitType.ends_with("-dq"));
    for (const auto& a : r.assignment) {
        SCOPED_TRACE(a.tensor);
        EXPECT_EQ(skipsModule(recipe, a.tensor.substr(0, a.tensor.size() - 7)), a.scheme == "keep");
    }
    // A config.json with it as quantization_config reads the same, and quantizationConfig writes it back.
    const auto config = writeJson(
        "config", nlohmann::json {{"model_type", "llama"}, {"quantization_config", quantizationConfig(recipe)}}.dump());
    const auto again = readBitsandbytesRecipe(config);
    EXPECT_EQ(again.skipModules, recipe.skipModules);
    EXPECT_EQ(again.scheme, recipe.scheme);
    EXPECT_EQ(quantizationConfig(again)["quant_method"], "bitsandbytes");
    std::filesystem::remove(path);
    std::filesystem::remove(config);
}

TEST(Recipe, SkipModulesMatchAsTransformersDoesAndLayerOneIsNotLayerEleven)
{
    BitsandbytesRecipe r;
    r.skipModules = {"model.layers.1.mlp.down_proj", "o_proj"};
    EXPECT_TRUE(skipsModule(r, "model.layers.1.mlp.down_proj"));
    EXPECT_FALSE(skipsModule(r, "model.layers.11.mlp.down_proj"));
    EXPECT_TRUE(skipsModule(r, "model.layers.7.self_attn.o_proj")); // a short name matches in every layer
    EXPECT_FALSE(skipsModule(r, "model.layers.7.self_attn.q_proj"));
}

TEST(Recipe, BadRecipesNameTheFileAndField)
{
    const std::vector<std::pair<std::string, std::string>> cases {
        {"[1, 2]", "not a JSON object"},
        {R"({"bnb_4bit_quant_type": "nf4"})", "neither load_in_4bit nor load_in_8bit"},
        {R"({"load_in_4bit": true, "load_in_8bit": true})", "both"},
        {R"({"load_in_4bit": true, "bnb_4bit_quant_type": "int4"})", "bnb_4bit_quant_type"},
        {R"({"load_in_4bit": "yes"})", "load_in_4bit"},
        {R"({"load_in_4bit": true, "llm_int8_skip_modules": "lm_head"})", "llm_int8_skip_modules"},
        {R"({"load_in_4bit": true, "llm_int8_skip_modules": [""]})", "llm_int8_skip_modules[0]"},
        {R"({"quant_method": "gptq", "load_in_4bit": true})", "quant_method"},
        {R"({"load_in_4bit": true, "bnb_4bit_quant_storage": "bfloat16"})", "bnb_4bit_quant_storage"},
    };
    for (const auto& [text, expected] : cases) {
        SCOPED_TRACE(text);
        const auto path = writeJson("bad-recipe", text);
        EXPECT_THAT([&] { readBitsandbytesRecipe(path); },
                    ThrowsMessage<FormatError>(AllOf(HasSubstr(path.string()), HasSubstr(expected))));
        std::filesystem::remove(path);
    }
    EXPECT_THROW(readBitsandbytesRecipe("/nonexistent/recipe.json"), IoError);
    // Defaults as BitsAndBytesConfig has them: fp4, no double quantization, nothing skipped.
    const auto path = writeJson("default-recipe", R"({"load_in_4bit": true})");
    const auto r = readBitsandbytesRecipe(path);
    EXPECT_EQ(r.scheme, "fp4");
    EXPECT_FALSE(r.doubleQuant);
    EXPECT_TRUE(r.skipModules.empty());
    std::filesystem::remove(path);
}

TEST(GpuBudget, TheMostWeightBytesThatFitToTheByte)
{
    PlanInput plan;
    plan.model = modelSpecFromParameterCount(7'000'000'000);
    plan.method = TrainingMethod::Inference;
    plan.gpu = "rtx-4090";
    const auto budget = weightBudgetForGpu(plan);
    EXPECT_GT(budget.bytes, std::uint64_t(15) << 30); // 24 GB less a KV cache, context and reserve
    EXPECT_LT(budget.bytes, budget.usableBytes - budget.restBytes + 1);
    EXPECT_EQ(budget.plan[Component::Weights].bytes, budget.bytes);
    EXPECT_TRUE(budget.plan.fits);
    plan.weightBytes = budget.bytes + 1;
    EXPECT_FALSE(evaluate(plan).fits);
    // The weights are the only change: everything else is the plan without them.
    plan.weightBytes = 0;
    EXPECT_EQ(evaluate(plan).peakBytes, budget.restBytes);

    // A longer context leaves less for the weights.
    plan.weightBytes.reset();
    plan.seqLen = 32768;
    EXPECT_LT(weightBudgetForGpu(plan).bytes, budget.bytes);
}

TEST(GpuBudget, PlansWithoutAChoiceOfWeightsAreUsageErrors)
{
    PlanInput plan;
    plan.model = modelSpecFromParameterCount(7'000'000'000);
    plan.method = TrainingMethod::Inference;
    EXPECT_THAT([&] { weightBudgetForGpu(plan); }, ThrowsMessage<UsageError>(HasSubstr("--gpu")));
    plan.gpu = "rtx-4090";
    plan.method = TrainingMethod::Full;
    EXPECT_THAT([&] { weightBudgetForGpu(plan); }, ThrowsMessage<UsageError>(HasSubstr("full finetuning")));
    plan.method = TrainingMethod::Inference;
    plan.seqLen = 4'000'000; // the KV cache alone is larger than the card
    EXPECT_THAT([&] { weightBudgetForGpu(plan); }, ThrowsMessage<UsageError>(HasSubstr("even without weights")));
    plan.seqLen = 2048;
    plan.weightBytes = 1;
    plan.method = TrainingMethod::Full;
    EXPECT_THROW(validate(plan), UsageError);
}

TEST(GpuBudget, TheModelSpecOfAFileIsItsConfigOrItsGgufMetadata)
{
    const auto safetensors = modelSpecFor(*openModel(kModel));
    const auto gguf = modelSpecFor(*openModel(std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/model-f32.gguf"));
    for (const auto* spec : {&safetensors, &gguf}) {
        EXPECT_EQ(spec->layers, 5);
        EXPECT_EQ(spec->hidden, 64);
        EXPECT_EQ(spec->kvHeads, 4);
        EXPECT_EQ(spec->parameters.total(), 260'032u);
    }
}

namespace {

// Names and shapes of a Llama-3-8B GGUF (32 layers, 32 heads, 8 KV heads, untied output), no data:
// llama.cpp's type rules read nothing else.
class Llama3Shape final : public Model {
public:
    Llama3Shape()
    {
        const auto add = [this](const std::string& name, std::vector<std::uint64_t> shape) {
            TensorInfo t;
            t.name = name;
            t.shape = std::move(shape);
            t.dtype = DType::F16;
            const auto role = classifyTensorName(name);
            t.layer = role.layer;
            t.role = role.role;
            m_tensors.push_back(t);
        };
        add("token_embd.weight", {128256, 4096});
        add("output.weight", {128256, 4096});
        for (int l = 0; l < 32; ++l) {
            const std::string p = "blk." + std::to_string(l) + ".";
            add(p + "attn_q.weight", {4096, 4096});
            add(p + "attn_k.weight", {1024, 4096});
            add(p + "attn_v.weight", {1024, 4096});
            add(p + "attn_output.weight", {4096, 4096});
            add(p + "ffn_gate.weight", {14336, 4096});
            add(p + "ffn_up.weight", {14336, 4096});
            add(p + "ffn_down.weight", {4096, 14336});
            add(p + "attn_norm.weight", {4096});
        }
        m_architecture.name = "llama";
        m_architecture.layers = 32;
        m_architecture.attentionHeads = 32;
        m_architecture.kvHeads = 8;
    }
    std::string format() const override { return "gguf"; }
    std::filesystem::path path() const override { return "llama3-8b.gguf"; }
    std::vector<std::filesystem::path> files() const override { return {}; }
    const std::vector<TensorInfo>& tensors() const override { return m_tensors; }
    const ModelArchitecture& architecture() const override { return m_architecture; }
    const std::map<std::string, std::string>& metadata() const override { return m_metadata; }
    bool canDequantize(std::size_t, std::string*) const override { return false; }
    void readFloat(std::size_t, std::uint64_t, std::span<float>) const override { }
    std::uint64_t blockAlignment(std::size_t) const override { return 1; }
    std::span<const std::byte> rawBytes(std::size_t) const override { return {}; }

private:
    std::vector<TensorInfo> m_tensors;
    ModelArchitecture m_architecture;
    std::map<std::string, std::string> m_metadata;
};

std::map<std::string, std::string> mixByName(const Model& model, const std::string& fileType)
{
    std::map<std::string, std::string> out;
    for (const auto& [index, type] : llamaCppFileTypeMix(model, fileType))
        out[model.tensors()[index].name] = type;
    return out;
}

} // namespace

TEST(LlamaCppMixes, FollowLlamaTensorGetTypeOnALlama3Shape)
{
    // docs/llama-quant-rules.md section 1.5 (llama.cpp src/llama-quant.cpp at 007dbbf3).
    const Llama3Shape model;
    const auto q4km = mixByName(model, "Q4_K_M");
    EXPECT_EQ(q4km.size(), 2u + 32u * 7u); // norms are never quantized
    EXPECT_EQ(q4km.at("output.weight"), "q6_k");
    EXPECT_EQ(q4km.at("token_embd.weight"), "q4_k");
    const std::set<int> more {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31}; // use_more_bits, n = 32
    for (int l = 0; l < 32; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        const std::string v = more.count(l) ? "q6_k" : "q4_k";
        EXPECT_EQ(q4km.at(p + "attn_v.weight"), v) << l;
        EXPECT_EQ(q4km.at(p + "ffn_down.weight"), v) << l;
        EXPECT_EQ(q4km.at(p + "attn_q.weight"), "q4_k") << l;
        EXPECT_EQ(q4km.at(p + "attn_output.weight"), "q4_k") << l;
    }
    const auto q2k = mixByName(model, "Q2_K");
    EXPECT_EQ(q2k.at("blk.0.attn_v.weight"), "q4_k"); // gqa 4
    EXPECT_EQ(q2k.at("blk.0.attn_output.weight"), "q3_k");
    EXPECT_EQ(q2k.at("blk.7.ffn_down.weight"), "q3_k");
    EXPECT_EQ(q2k.at("blk.7.ffn_up.weight"), "q2_k");
    const auto q3km = mixByName(model, "Q3_K_M");
    EXPECT_EQ(q3km.at("blk.1.attn_v.weight"), "q5_k");
    EXPECT_EQ(q3km.at("blk.2.attn_v.weight"), "q4_k");
    EXPECT_EQ(q3km.at("blk.1.ffn_down.weight"), "q5_k"); // i < n/16 = 2
    EXPECT_EQ(q3km.at("blk.2.ffn_down.weight"), "q4_k");
    EXPECT_THROW(llamaCppFileTypeMix(model, "Q4_K_X"), UsageError);
}

TEST(LlamaCppMixes, RowsOfStories260KTakeTheFallbacks)
{
    // Rows of 64 hold no 256-value block; rows of 172 no 32-value one.
    const auto model = openModel(kModel);
    const auto q4km = mixByName(*model, "Q4_K_M");
    EXPECT_EQ(q4km.at("model.embed_tokens.weight"), "q8_0"); // tied: the output rule, Q8_0 for rows it cannot take
    EXPECT_EQ(q4km.at("model.layers.2.self_attn.v_proj.weight"), "q8_0"); // q6_k (use_more_bits) -> q8_0
    EXPECT_EQ(q4km.at("model.layers.1.self_attn.v_proj.weight"), "q5_0"); // q4_k -> q5_0
    EXPECT_EQ(q4km.at("model.layers.0.mlp.down_proj.weight"), "fp16");
    const auto probe = adviseAt(*model, 300000);
    EXPECT_EQ(probe.llamaCppMixes.size(), kLlamaCppFileTypes.size());
    for (const auto& m : probe.llamaCppMixes) {
        const auto r = adviseAt(*model, m.bytes);
        EXPECT_LE(r.predictedCost, m.cost * (1 + 1e-12)) << m.scheme; // the advisor is never worse at that size
    }
}
