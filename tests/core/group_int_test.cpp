// RTN (GPTQ's quantizer without error feedback) and HQQ against golden outputs of the reference
// algorithms, transcribed into numpy from IST-DASLab/gptq and mobiusml/hqq and run on two stories260K
// tensors (tests/data/group_int/make_golden.py says how), and against their own invariants.
#include "golden_floats.h"

#include "core/model/model.h"
#include "core/quant/group_int.h"
#include "core/quant/quant_policy.h"
#include "core/quant/scheme.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;

namespace {

const std::string kData = QUANTLENS_TEST_DATA_DIR;

double relativeError(std::span<const float> w, std::span<const float> q)
{
    double num = 0, den = 0;
    for (std::size_t i = 0; i < w.size(); ++i) {
        num += (double(w[i]) - q[i]) * (double(w[i]) - q[i]);
        den += double(w[i]) * w[i];
    }
    return std::sqrt(num / den);
}

} // namespace

// RTN is the same float32 operations as GPTQ's quantizer: bit for bit. HQQ sums its means in another
// order than numpy (float32 pairwise there, double here), which may move a zero point by an ulp and a
// value across a rounding boundary: almost every value equal, the error the same to 4 digits (on
// these two tensors every value is equal today).
TEST(GroupInt, ReproducesTheReferenceAlgorithmsOnStories260K)
{
    std::ifstream indexFile(kData + "/group_int/golden.json");
    ASSERT_TRUE(indexFile) << "tests/data/group_int/golden.json";
    const auto index = nlohmann::json::parse(indexFile);
    const std::vector<float> golden = readGoldenFloats(kData + "/group_int/golden.bin");
    const auto model = openModel(kData + "/stories260K/model-f32.safetensors");
    int compared = 0;
    for (const auto& e : index.at("entries")) {
        const std::string scheme = e.at("scheme");
        if (scheme == "gptq" || scheme == "awq")
            continue; // gptq_test, awq_test
        ++compared;
        const std::string name = e.at("tensor");
        SCOPED_TRACE(name + " " + scheme);
        const auto tensor = std::size_t(model->find(name));
        const auto& info = model->tensors()[tensor];
        std::vector<float> w(info.elementCount()), q(w.size());
        model->readFloat(tensor, 0, w);
        roundTripTensor(*makeScheme(scheme), info.shape, w, q);
        const std::size_t offset = e.at("offset");
        ASSERT_LE(offset + w.size(), golden.size());
        const std::span<const float> expected(golden.data() + offset, w.size());
        std::size_t differ = 0;
        for (std::size_t i = 0; i < w.size(); ++i)
            differ += q[i] != expected[i] ? 1 : 0;
        if (scheme.starts_with("rtn")) {
            EXPECT_EQ(differ, 0u);
        } else {
            EXPECT_LE(double(differ), 0.002 * double(w.size()));
            EXPECT_NEAR(relativeError(w, q), e.at("rel_error").get<double>(), 1e-4 * e.at("rel_error").get<double>());
        }
    }
    EXPECT_EQ(compared, 8);
}

// GPTQ's quantizer: the range holds 0, the zero point is an integer code, every value is within half
// a step of the original (the step read back in fp16), an all-zero group comes back as zeros, and a
// row of 172 has groups of 128 and 44.
TEST(GroupInt, RtnFollowsGptqsQuantizer)
{
    const std::vector<float> row = {0.5f, 1.0f, 1.5f, 3.0f}; // all positive: xmin = 0
    std::vector<float> out(row.size());
    rtnRoundTrip(row, out, 4, 2, 4); // 2 bits: scale 3/3 = 1, zero 0
    EXPECT_EQ(out, (std::vector<float> {0.0f, 1.0f, 2.0f, 3.0f})); // 0.5 and 1.5 round half to even
    const std::vector<float> zeros(8, 0.0f);
    std::vector<float> back(8, 1.0f);
    rtnRoundTrip(zeros, back, 8, 4, 128);
    EXPECT_EQ(back, zeros);

    std::vector<float> w(2 * 172), q(w.size());
    for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = std::sin(0.37f * float(i)) * (i % 172 < 128 ? 1.0f : 0.01f); // the last 44 columns small
    rtnRoundTrip(w, q, 172, 4, 128);
    for (std::size_t i = 0; i < w.size(); ++i) {
        const bool tail = i % 172 >= 128;
        const float step = tail ? 0.02f / 15.0f : 2.0f / 15.0f; // each group's own range
        EXPECT_LE(std::fabs(q[i] - w[i]), 0.5f * step * 1.001f + 1e-6f) << i;
    }
    EXPECT_DOUBLE_EQ(rtnBitsPerParameter(64, 172, 4, 128), 4.0 + 64.0 * 2 * 20 / (64.0 * 172));
    EXPECT_DOUBLE_EQ(makeScheme("rtn4")->bitsPerParameter(std::vector<std::uint64_t> {64, 64}), 4.0 + 20.0 / 64);
    EXPECT_THROW(rtnRoundTrip(w, q, 100, 4, 128), UsageError); // not whole rows
}

// HQQ: never worse than its own starting point (min/max scale and zero, plain rounding) by more than
// the fp16 storage, on the mean |error| it minimises; the tensor must be whole groups.
TEST(GroupInt, HqqImprovesOnItsMinMaxStartAndNeedsWholeGroups)
{
    std::vector<float> w(64 * 64), q(w.size()), start(w.size());
    for (std::size_t i = 0; i < w.size(); ++i)
        w[i] = 0.02f * std::sin(1.3f * float(i)) + (i % 97 == 0 ? 0.2f : 0.0f); // with outliers
    hqqRoundTrip(w, q, 4, 64);
    double hqqError = 0, startError = 0;
    for (std::size_t g = 0; g < w.size(); g += 64) {
        float lo = w[g], hi = w[g];
        for (std::size_t k = g; k < g + 64; ++k) {
            lo = std::min(lo, w[k]);
            hi = std::max(hi, w[k]);
        }
        const float scale = 15.0f / (hi - lo), zero = -lo * scale;
        for (std::size_t k = g; k < g + 64; ++k)
            start[k] = (std::clamp(std::nearbyint(w[k] * scale + zero), 0.0f, 15.0f) - zero) / scale;
    }
    for (std::size_t i = 0; i < w.size(); ++i) {
        hqqError += std::fabs(w[i] - q[i]);
        startError += std::fabs(w[i] - start[i]);
    }
    EXPECT_LT(hqqError, startError);
    EXPECT_DOUBLE_EQ(hqqBitsPerParameter(4, 64), 4.5);
    const auto scheme = makeScheme("hqq4");
    EXPECT_THAT(scheme->cannotStore(std::vector<std::uint64_t> {1000}), HasSubstr("not a whole number of HQQ's 64"));
    EXPECT_EQ(scheme->cannotStore(std::vector<std::uint64_t> {64, 172}), "");
}

// As their tools apply them: Linear projection weights only (hqq and GPTQ checkpoints quantize the
// nn.Linear layers), every row of the scan's summary over the same tensors.
TEST(GroupInt, AppliedToLinearWeightsOnlyAsTheirToolsDo)
{
    TensorInfo norm;
    norm.name = "model.norm.weight";
    norm.shape = {64};
    norm.role = TensorRole::Norm;
    TensorInfo proj;
    proj.name = "model.layers.0.self_attn.q_proj.weight";
    proj.shape = {64, 64};
    proj.role = TensorRole::AttentionQ;
    for (const char* id : {"rtn4", "hqq4"}) {
        EXPECT_EQ(planTensor(TensorSelection::AsTool, id, norm, "").type, "") << id;
        EXPECT_EQ(planTensor(TensorSelection::AsTool, id, proj, "").type, id) << id;
    }
}
