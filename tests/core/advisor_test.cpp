#include "core/advise/advisor.h"
#include "core/eval/eval.h"
#include "core/eval/llama_config.h"
#include "core/model/model.h"
#include "core/quant/scheme.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <set>

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
    for (const char* key : {"budget_bytes", "cost_kind", "assignment", "total_bytes", "predicted_cost", "frontier",
                            "uniform"})
        EXPECT_TRUE(j.contains(key)) << key;
    EXPECT_EQ(j["assignment"][0].size(), 6u);
}

TEST(Advisor, TheMixAtUniformQ4kSizeHasALowerMeasuredKlThanUniformQ4k)
{
    // stories260K's rows of 64 hold no 256-value k-quant block: uniform q4_k is what llama.cpp makes
    // of it, q5_0 for 31 tensors (its fallback) and f16 for ffn_down. The advisor's mix of the same
    // size, measured by running the model.
    const auto model = openModel(kModel);
    const auto probe = adviseAt(*model, 300000);
    const auto& q4k = uniform(probe, "q4_k");
    const auto mix = adviseAt(*model, q4k.bytes);
    EvalRecipe recipe {"advisor mix", {}};
    for (const auto& a : mix.assignment)
        recipe.schemes[a.tensor] = a.scheme;
    EvalOptions options;
    options.schemes = {makeScheme("q4_k")};
    options.recipes = {recipe};
    const auto tokens = sampleSequences(*model, llamaConfigFor(*model), 8, 256, 1, 2);
    const auto r = runEval(*model, tokens, options);
    ASSERT_EQ(r.results.size(), 2u);
    std::cout << "uniform q4_k: " << q4k.bytes << " bytes, weight cost " << q4k.cost << ", KL " << r.results[0].kl.mean
              << ", top-1 " << r.results[0].top1Agreement << "\nadvisor mix: " << mix.totalBytes << " bytes, weight cost "
              << mix.predictedCost << ", KL " << r.results[1].kl.mean << ", top-1 " << r.results[1].top1Agreement << "\n";
    EXPECT_LE(mix.totalBytes, q4k.bytes);
    EXPECT_LT(mix.predictedCost, q4k.cost);
    EXPECT_LT(r.results[1].kl.mean, r.results[0].kl.mean);
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
    EXPECT_THAT([&] { adviseAt(*model, 250000, AdvisorFamily::Ggml, {"q4_k", "q6_k"}); },
                ThrowsMessage<UsageError>(HasSubstr("no candidate type can store")));
    EXPECT_THAT([&] { adviseAt(*model, 250000, AdvisorFamily::Ggml, {"nf4"}); },
                ThrowsMessage<UsageError>(HasSubstr("'nf4' is not a GGUF (ggml) type")));
    EXPECT_THAT([&] { adviseAt(*model, 250000, AdvisorFamily::Ggml, {"q9_9"}); },
                ThrowsMessage<UsageError>(HasSubstr("q9_9")));
}
