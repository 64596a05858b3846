#include "core/quant/ggml_dequantize.h"
#include "core/quant/ggml_quantize.h"
#include "core/quant/ggml_types.h"
#include "core/util/error.h"
#include "ggml_test_gguf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>
#include <sstream>

using namespace quantlens;
using namespace quantlens::core;
using quantlens::test::GgufTestFile;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

const std::string kGgufDir = std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/gguf/";

const GgufTestFile& originalModel()
{
    static const GgufTestFile file(std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/model-f32.gguf");
    return file;
}

// The file ggml quantized each type into, and how a tensor there is named after its F32 original.
std::string fixtureFor(DType type)
{
    switch (type) {
    case DType::Q8_0:
        return "stories260K-q8_0.gguf";
    case DType::Q4_0:
        return "stories260K-q4_0.gguf";
    case DType::Q4_1:
        return "stories260K-q4_1.gguf";
    case DType::Q5_0:
        return "stories260K-q5_0.gguf";
    case DType::Q5_1:
        return "stories260K-q5_1.gguf";
    default:
        return "stories260K-kquants.gguf";
    }
}

std::string originalName(const std::string& name)
{
    return name.substr(0, name.find('@'));
}

struct GgmlErrors {
    double rmse = 0;
    double maxAbs = 0;
};

// stories260K-ggml-errors.csv: ggml's RMSE and max |error| per tensor and type.
std::map<std::string, GgmlErrors> ggmlErrors()
{
    std::map<std::string, GgmlErrors> out;
    std::ifstream in(kGgufDir + "stories260K-ggml-errors.csv");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
        std::stringstream fields(line);
        std::string tensor, type, elements, rmse, maxAbs;
        std::getline(fields, tensor, ',');
        std::getline(fields, type, ',');
        std::getline(fields, elements, ',');
        std::getline(fields, rmse, ',');
        std::getline(fields, maxAbs, ',');
        out[tensor + "@" + type] = {std::stod(rmse), std::stod(maxAbs)};
    }
    return out;
}

class GgmlQuantizer : public ::testing::TestWithParam<DType> { };

std::string typeSuffix(const ::testing::TestParamInfo<DType>& info)
{
    return std::string(dtypeName(info.param));
}

const std::vector<DType> kQuantizedTypes {
    DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
    DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K,
};

} // namespace

TEST_P(GgmlQuantizer, ReproducesGgmlBytesForEveryStories260KTensor)
{
    const DType type = GetParam();
    const GgmlTypeTraits& traits = ggmlTraits(type);
    const GgufTestFile quantized(kGgufDir + fixtureFor(type));
    int compared = 0;
    for (const auto& [name, tensor] : quantized.tensors()) {
        if (tensor.type != traits.ggmlId)
            continue;
        const std::vector<float> original = originalModel().floats(originalName(name));
        ASSERT_EQ(original.size(), tensor.elements()) << name;
        std::vector<std::byte> ours(ggmlByteSize(type, original.size()));
        quantizeGgml(type, original, ours);
        const auto theirs = tensor.data.first(ours.size());
        std::size_t firstDiff = 0;
        while (firstDiff < ours.size() && ours[firstDiff] == theirs[firstDiff])
            ++firstDiff;
        EXPECT_EQ(firstDiff, ours.size()) << name << ": first differing byte in block " << firstDiff / traits.blockBytes
                                          << " of " << ours.size() / traits.blockBytes;
        ++compared;
    }
    EXPECT_GE(compared, 30) << "tensors of type " << traits.name << " in " << fixtureFor(type);
}

TEST_P(GgmlQuantizer, RoundTripErrorEqualsGgmlsPublishedRmseAndMaxError)
{
    const DType type = GetParam();
    const GgmlTypeTraits& traits = ggmlTraits(type);
    const auto published = ggmlErrors();
    const GgufTestFile quantized(kGgufDir + fixtureFor(type));
    int compared = 0;
    for (const auto& [name, tensor] : quantized.tensors()) {
        if (tensor.type != traits.ggmlId)
            continue;
        const std::string key = originalName(name) + "@" + std::string(traits.name);
        const auto it = published.find(key);
        ASSERT_NE(it, published.end()) << key;
        const std::vector<float> original = originalModel().floats(originalName(name));
        std::vector<std::byte> blocks(ggmlByteSize(type, original.size()));
        quantizeGgml(type, original, blocks);
        std::vector<float> restored(original.size());
        dequantizeGgml(type, blocks, restored);
        double sum = 0, maxAbs = 0;
        for (std::size_t i = 0; i < original.size(); ++i) {
            const double e = static_cast<double>(restored[i]) - original[i];
            sum += e * e;
            maxAbs = std::max(maxAbs, std::fabs(e));
        }
        const double rmse = std::sqrt(sum / static_cast<double>(original.size()));
        // The CSV prints nine significant digits.
        EXPECT_NEAR(rmse, it->second.rmse, 1e-6 * it->second.rmse) << key;
        EXPECT_NEAR(maxAbs, it->second.maxAbs, 1e-6 * it->second.maxAbs) << key;
        ++compared;
    }
    EXPECT_GE(compared, 30);
}

INSTANTIATE_TEST_SUITE_P(StoriesFixtures, GgmlQuantizer, ::testing::ValuesIn(kQuantizedTypes), typeSuffix);

TEST(GgmlQuantizer, Q8KRoundTripsWithinHalfAStepOfEachBlock)
{
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<float> in(4 * 256);
    for (auto& v : in)
        v = normal(rng);
    std::vector<std::byte> blocks(ggmlByteSize(DType::Q8_K, in.size()));
    quantizeGgml(DType::Q8_K, in, blocks);
    std::vector<float> out(in.size());
    dequantizeGgml(DType::Q8_K, blocks, out);
    for (std::size_t b = 0; b < 4; ++b) {
        float amax = 0;
        for (std::size_t i = 0; i < 256; ++i)
            amax = std::max(amax, std::fabs(in[b * 256 + i]));
        const float step = amax / 127.f;
        for (std::size_t i = 0; i < 256; ++i)
            ASSERT_LE(std::fabs(out[b * 256 + i] - in[b * 256 + i]), 0.5001f * step) << "block " << b << " value " << i;
    }
}

TEST(GgmlQuantizer, AllZeroBlocksGiveZeroScalesAndDecodeToZero)
{
    for (DType type : kQuantizedTypes) {
        const auto& traits = ggmlTraits(type);
        std::vector<float> in(traits.blockElements, 0.0f);
        std::vector<std::byte> blocks(traits.blockBytes, std::byte {0xAB});
        quantizeGgml(type, in, blocks);
        std::vector<float> out(in.size(), 1.0f);
        dequantizeGgml(type, blocks, out);
        for (float v : out)
            ASSERT_EQ(v, 0.0f) << traits.name;
    }
}

TEST(GgmlQuantizer, Q4_0MapsTheLargestMagnitudeToMinusEightTimesTheScale)
{
    // ggml's d = max / -8: the signed extreme decodes exactly (up to the fp16 rounding of d).
    std::vector<float> in(32, 0.0f);
    in[5] = -2.0f;
    in[9] = 1.0f;
    std::vector<std::byte> blocks(18);
    quantizeGgml(DType::Q4_0, in, blocks);
    std::vector<float> out(32);
    dequantizeGgml(DType::Q4_0, blocks, out);
    EXPECT_EQ(out[5], -2.0f);
    EXPECT_EQ(out[9], 1.0f);
    EXPECT_EQ(out[0], 0.0f);
}

TEST(GgmlQuantizer, RejectsInputThatIsNotWholeBlocksNamingTheType)
{
    std::vector<float> in(48);
    std::vector<std::byte> out(18);
    EXPECT_THAT([&] { quantizeGgml(DType::Q4_0, in, out); },
                ThrowsMessage<Error>(HasSubstr("48 input values are not a whole number of blocks of 32")));
    std::vector<float> one(32);
    EXPECT_THAT([&] { quantizeGgml(DType::Q4_K, one, out); }, ThrowsMessage<Error>(HasSubstr("q4_K")));
}

TEST(GgmlQuantizer, RejectsAnOutputOfTheWrongSize)
{
    std::vector<float> in(64);
    std::vector<std::byte> out(35);
    EXPECT_THAT([&] { quantizeGgml(DType::Q8_0, in, out); },
                ThrowsMessage<Error>(HasSubstr("64 values need 68 bytes of blocks, got 35")));
}

TEST(GgmlQuantizer, RefusesImportanceQuantsNamingTheType)
{
    std::vector<float> in(256);
    std::vector<std::byte> out(66);
    EXPECT_THAT([&] { quantizeGgml(DType::IQ2_XXS, in, out); },
                ThrowsMessage<UnsupportedError>(HasSubstr("iq2_xxs is not supported")));
    EXPECT_THAT([&] { quantizeGgml(DType::NF4, in, out); },
                ThrowsMessage<UnsupportedError>(HasSubstr("NF4 is not a ggml type")));
}
