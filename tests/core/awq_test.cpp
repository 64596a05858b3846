// AWQ: llm-awq's quantizer, scale search and clipping against golden outputs of its algorithm
// transcribed into numpy (tests/data/group_int/make_golden.py says how), and the whole-model search
// against AWQ's own invariants: alpha = 0 without clipping is round-to-nearest, and the model with the
// scales folded into the norms and the previous Linear computes what the simulation computes.
#include "golden_floats.h"

#include "core/eval/eval.h"
#include "core/eval/llama_config.h"
#include "core/eval/transformer.h"
#include "core/model/model.h"
#include "core/quant/awq.h"
#include "core/quant/calibration.h"
#include "core/quant/quant_policy.h"
#include "core/quant/scheme.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <vector>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

const std::string kData = QUANTLENS_TEST_DATA_DIR;
const std::string kF32 = kData + "/stories260K/model-f32.safetensors";

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::span<const float> valuesOf(const RowMajor& m)
{
    return {m.data(), std::size_t(m.size())};
}

// awq4 with other search options (the grid, the clipping) for the invariants.
class AwqWithOptions final : public Scheme {
public:
    explicit AwqWithOptions(AwqOptions options)
        : m_inner(makeScheme("awq4"))
        , m_options(options)
    {
    }
    std::string id() const override { return "awq4-test"; }
    std::string displayName() const override { return "awq4 with test options"; }
    double bitsPerParameter(std::span<const std::uint64_t> shape) const override
    {
        return m_inner->bitsPerParameter(shape);
    }
    std::uint64_t chunkAlignment(std::span<const std::uint64_t> shape) const override
    {
        return m_inner->chunkAlignment(shape);
    }
    bool needsCalibration() const override { return true; }
    const AwqOptions* awqOptions() const override { return &m_options; }
    void roundTrip(std::span<const float> in, std::span<float> out, const RoundTripContext& context) const override
    {
        const std::uint64_t cols = context.shape.back();
        awqRoundTrip(in, out, context.first / cols, cols, *context.awq, m_options);
    }

private:
    std::shared_ptr<const Scheme> m_inner;
    AwqOptions m_options;
};

TokenSet someTokens(const Model& model)
{
    return sampleSequences(model, llamaConfigFor(model), 3, 64, 7, 2);
}

} // namespace

// pseudo_quantize_tensor: scale (max - min) / 15 in fp16, zero clamped to the codes, torch.round's
// half to even; a row of 6 in groups of 4 gets a last group of 2.
TEST(Awq, QuantizerFollowsLlmAwq)
{
    // Group [-1, 0.5, 2] at 2 bits: scale 1, zero 1, codes 0, round(0.5) + 1 = 1 (even), 3.
    std::vector<float> in = {-1.0f, 0.5f, 2.0f}, out(3);
    awqQuantize(in, out, 3, 2, 128);
    EXPECT_EQ(out, (std::vector<float> {-1.0f, 0.0f, 2.0f}));
    // All positive: the range does not hold 0 (unlike GPTQ's) and the zero point -round(1 / (1/3)) is
    // clamped to 0, so every value saturates at the top code, as in llm-awq: 3 x fp16(1/3).
    in = {1.0f, 1.5f, 2.0f};
    awqQuantize(in, out, 3, 2, 128);
    const float top = 3.0f * 0.333251953125f; // fp16(1/3)
    EXPECT_EQ(out, (std::vector<float> {top, top, top}));
    // Groups of 4 along a row of 6: [0..3] and [-1, 2] quantized on their own.
    in = {0.0f, 1.0f, 2.0f, 3.0f, -1.0f, 2.0f};
    out.resize(6);
    awqQuantize(in, out, 6, 4, 4);
    // Both scales 0.2, read back as fp16 0.199951...: codes 0, 5, 10, 15, and -5, 10 from zero 5.
    const float s = 0.199951171875f;
    EXPECT_EQ(out, (std::vector<float> {0.0f, 5 * s, 10 * s, 15 * s, -5 * s, 10 * s}));
    EXPECT_THAT([&] { awqQuantize(in, out, 4, 4, 4); }, ThrowsMessage<UsageError>(HasSubstr("whole rows of 4")));
}

// One Linear (llm-awq's "o after v" and "down after up" groups) on 520 synthetic inputs with outlier
// channels: the same alpha, the same 20 losses (theirs a mean over positions and rows, ours
// tr(D H D^T) with H = X^T X), the same clipping and the same weights. Means over float32 are summed in
// another order than numpy's, so a value may cross a rounding boundary: almost all equal.
TEST(Awq, ReproducesLlmAwqsSearchAndClippingOnOneLinear)
{
    std::ifstream indexFile(kData + "/group_int/golden.json");
    ASSERT_TRUE(indexFile);
    const auto index = nlohmann::json::parse(indexFile);
    const std::vector<float> golden = readGoldenFloats(kData + "/group_int/golden.bin");
    const auto model = openModel(kF32);
    int compared = 0;
    for (const auto& e : index.at("entries")) {
        if (e.at("scheme") != "awq")
            continue;
        ++compared;
        const std::string name = e.at("tensor");
        AwqOptions o;
        o.bits = e.at("bits");
        o.groupSize = e.at("group");
        SCOPED_TRACE(name + " bits " + std::to_string(o.bits) + " group " + std::to_string(o.groupSize));
        const auto tensor = std::size_t(model->find(name));
        const auto& info = model->tensors()[tensor];
        const auto rows = Eigen::Index(info.shape[0]), cols = Eigen::Index(info.shape[1]);
        RowMajor w(rows, cols);
        model->readFloat(tensor, 0, {w.data(), std::size_t(w.size())});
        const Eigen::Index tokens = e.at("input_shape")[0];
        const std::size_t inputOffset = e.at("input_offset");
        ASSERT_LE(inputOffset + std::size_t(tokens * cols), golden.size());
        const RowMajor x = Eigen::Map<const RowMajor>(golden.data() + inputOffset, tokens, cols);
        const Eigen::MatrixXf h = (x.cast<double>().transpose() * x.cast<double>()).cast<float>();
        const Eigen::VectorXf meanAbs = (x.cast<double>().cwiseAbs().colwise().mean()).transpose().cast<float>();

        std::vector<double> losses;
        const auto [alpha, s] = awqSearchScales(
            meanAbs, o,
            [&](const Eigen::VectorXf& scales) {
                losses.push_back(awqLinearLoss(valuesOf(w), std::uint64_t(rows), std::uint64_t(cols), h, scales, o));
                return losses.back();
            },
            "test");
        EXPECT_DOUBLE_EQ(alpha, e.at("alpha").get<double>());
        ASSERT_EQ(losses.size(), 20u);
        for (std::size_t i = 0; i < losses.size(); ++i) {
            const double theirs = e.at("losses")[i].get<double>() * double(tokens) * double(rows);
            EXPECT_NEAR(losses[i], theirs, 2e-3 * theirs) << "grid point " << i;
        }

        const RowMajor scaled = w * s.asDiagonal();
        const Eigen::MatrixXf hs = s.cwiseInverse().asDiagonal() * h * s.cwiseInverse().asDiagonal();
        AwqTransform t;
        t.inputScale = s;
        t.clip = awqClipSearch(valuesOf(scaled), std::uint64_t(rows), std::uint64_t(cols), hs, o);
        const std::size_t clipOffset = e.at("clip_offset");
        ASSERT_EQ(t.clip.size(), std::size_t(rows) * awqGroupsPerRow(std::uint64_t(cols), o.groupSize));
        std::size_t clipDiffer = 0;
        for (std::size_t i = 0; i < t.clip.size(); ++i)
            clipDiffer += std::fabs(t.clip[i] - golden[clipOffset + i]) > 1e-6f * std::fabs(golden[clipOffset + i]);
        EXPECT_LE(double(clipDiffer), 0.02 * double(t.clip.size()));

        std::vector<float> q(std::size_t(w.size()));
        awqRoundTrip(valuesOf(w), q, 0, std::uint64_t(cols), t, o);
        const std::size_t offset = e.at("offset");
        std::size_t differ = 0;
        double num = 0.0, den = 0.0;
        for (std::size_t i = 0; i < q.size(); ++i) {
            differ += std::fabs(q[i] - golden[offset + i]) > 1e-5f * (std::fabs(golden[offset + i]) + 1e-3f);
            num += (double(w.data()[i]) - q[i]) * (double(w.data()[i]) - q[i]);
            den += double(w.data()[i]) * w.data()[i];
        }
        EXPECT_LE(double(differ), 0.02 * double(q.size()));
        EXPECT_NEAR(std::sqrt(num / den), e.at("rel_error").get<double>(), 0.01 * e.at("rel_error").get<double>());
    }
    EXPECT_EQ(compared, 4);
}

// alpha = 0 (a grid of one point) without clipping: every scale is 1 and every weight is AWQ's plain
// round-to-nearest, the baseline the paper judges AWQ against.
TEST(Awq, AlphaZeroWithoutClippingIsRoundToNearest)
{
    const auto model = openModel(kF32);
    AwqOptions o;
    o.grid = 1;
    o.clip = false;
    const auto scheme = std::make_shared<AwqWithOptions>(o);
    const CalibrationData data = collectCalibration(*model, someTokens(*model), 2, nullptr, nullptr, {scheme});
    const auto& transforms = data.awq.at("awq4-test");
    EXPECT_EQ(transforms.size(), 35u);
    for (const auto& [index, t] : transforms) {
        const auto& info = model->tensors()[index];
        SCOPED_TRACE(info.name);
        EXPECT_LE(t->alpha, 0.0); // o: not searched under GQA (-1)
        EXPECT_TRUE(t->clip.empty());
        std::vector<float> w(info.elementCount()), viaAwq(w.size()), plain(w.size());
        model->readFloat(index, 0, w);
        roundTripTensor(*bindCalibration(scheme, data, index), info.shape, w, viaAwq);
        awqQuantize(w, plain, info.shape[1], 4, 128);
        EXPECT_EQ(viaAwq, plain);
    }
}

// What the simulation computes (each weight read back in the original coordinates) is what the AWQ
// model computes: the scales folded into the RMSNorm weights and into up's rows, each Linear holding
// its scaled, clipped, quantized weight. A wrong fold (the wrong tensor, rows for columns) breaks it.
TEST(Awq, TheFoldedModelComputesWhatTheSimulationComputes)
{
    const auto model = openModel(kF32);
    const LlamaConfig config = llamaConfigFor(*model);
    const auto awq4 = makeScheme("awq4");
    const CalibrationData data = collectCalibration(*model, someTokens(*model), 2, nullptr, nullptr, {awq4});
    ASSERT_EQ(data.awqAlpha.at("awq4").size(), config.layers);
    const Transformer original(*model, config);
    const Transformer simulated(*model, config, [&](std::size_t index) { return bindCalibration(awq4, data, index); });
    const std::uint64_t layer = 1;
    const auto& b = config.blocks[layer];
    const BlockWeights w = original.loadBlock(layer);
    const auto t = [&](std::ptrdiff_t index) { return data.awqFor("awq4", std::size_t(index)); };
    // GQA (4 kv heads of 8): v and o differ in shape, so o has no scales and v's rows none.
    EXPECT_EQ(t(b.o)->inputScale.size(), 0);
    EXPECT_EQ(t(b.v)->outputScale.size(), 0);
    EXPECT_LT(data.awqAlpha.at("awq4")[layer][1], 0.0);
    EXPECT_EQ(t(b.up)->outputScale.size(), Eigen::Index(config.intermediate));
    EXPECT_TRUE(t(b.q)->clip.empty()); // llm-awq does not clip q and k
    EXPECT_FALSE(t(b.down)->clip.empty());

    // The folded block: norms divided, weights scaled, then clipped and quantized where they sit.
    const auto folded = [&](const RowMatrix& weight, std::ptrdiff_t index) {
        const auto& transform = *t(index);
        RowMatrix scaled = weight;
        if (transform.inputScale.size())
            scaled = scaled * transform.inputScale.asDiagonal();
        if (transform.outputScale.size())
            scaled = transform.outputScale.cwiseInverse().asDiagonal() * scaled;
        AwqTransform clipOnly;
        clipOnly.clip = transform.clip;
        RowMatrix out(scaled.rows(), scaled.cols());
        awqRoundTrip(valuesOf(scaled), {out.data(), std::size_t(out.size())}, 0, std::uint64_t(scaled.cols()), clipOnly,
                     AwqOptions {});
        return out;
    };
    BlockWeights f = w;
    f.attnNorm = w.attnNorm.cwiseQuotient(t(b.q)->inputScale);
    f.ffnNorm = w.ffnNorm.cwiseQuotient(t(b.gate)->inputScale);
    f.q = folded(w.q, b.q);
    f.k = folded(w.k, b.k);
    f.v = folded(w.v, b.v);
    f.o = folded(w.o, b.o);
    f.gate = folded(w.gate, b.gate);
    f.up = folded(w.up, b.up);
    f.down = folded(w.down, b.down);
    const BlockWeights s = simulated.loadBlock(layer);

    RowMatrix x = original.embed(someTokens(*model).sequences[0]);
    RowMatrix viaFold = x, viaSimulation = x, unquantized = x;
    KvCache c1 = original.reserve(std::uint64_t(x.rows())), c2 = c1, c3 = c1;
    original.runBlock(f, viaFold, c1);
    original.runBlock(s, viaSimulation, c2);
    original.runBlock(w, unquantized, c3);
    const double quantizationError = (viaSimulation - unquantized).norm();
    EXPECT_GT(quantizationError, 0.0);
    EXPECT_LT((viaFold - viaSimulation).norm(), 1e-3 * quantizationError);
}

// In eval: calibrated on the original model's inputs (llm-awq is not sequential), every Linear weight
// quantized; without the search the scheme refuses, naming what it needs.
TEST(Awq, InEvalOnTheOriginalModelsInputs)
{
    const auto model = openModel(kF32);
    const LlamaConfig config = llamaConfigFor(*model);
    const TokenSet tokens = sampleSequences(*model, config, 4, 128, 1, 2);
    EvalOptions options;
    options.schemes = parseSchemeList("rtn4,awq4,gptq4");
    options.threads = 2;
    const EvalResult r = runEval(*model, tokens, options);
    ASSERT_EQ(r.results.size(), 3u);
    EXPECT_THAT(r.calibration, HasSubstr("seed 1234"));
    EXPECT_THAT(r.calibration, HasSubstr("original model's inputs to each layer for AWQ"));
    EXPECT_EQ(r.results[1].quantizedTensors, 35u);
    EXPECT_LT(r.results[1].kl.mean, r.results[0].kl.mean);
    std::vector<float> w(64 * 64, 0.01f), out(w.size());
    EXPECT_THAT(
        [&] {
            roundTripTensor(*makeScheme("awq4"), std::vector<std::uint64_t> {64, 64}, w, out);
        },
        ThrowsMessage<UsageError>(HasSubstr("needs AWQ's search")));
}
