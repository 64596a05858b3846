#include "core/quant/ggml_dequantize.h"
#include "core/quant/ggml_quantize.h"
#include "core/quant/ggml_types.h"
#include "core/util/error.h"
#include "core/util/float16.h"
#include "ggml_test_gguf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <random>

using namespace quantlens;
using namespace quantlens::core;
using quantlens::test::fnv1a64;
using quantlens::test::GgufTestFile;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

const std::string kGgufDir = std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/gguf/";

// ggml-dequant-hashes.json: FNV-1a 64 of ggml's own dequantized F32 output per tensor NAME@TYPE
// (made by tests/data/make_dequant_hashes.py from stories260K-reference-dequant.gguf).
const nlohmann::json& ggmlDequantHashes()
{
    static const nlohmann::json hashes = [] {
        std::ifstream in(std::string(QUANTLENS_TEST_DATA_DIR) + "/ggml-dequant-hashes.json");
        return nlohmann::json::parse(in);
    }();
    return hashes;
}

std::span<const std::byte> asBytes(const std::vector<float>& v)
{
    return std::as_bytes(std::span<const float>(v));
}

bool sameBits(const std::vector<float>& a, const std::vector<float>& b)
{
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

const std::vector<DType> kDequantTypes {
    DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1,
    DType::Q8_0, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K,
};

} // namespace

TEST(GgmlDequantizer, ReproducesGgmlsDequantizedOutputForEveryFixtureTensor)
{
    const auto& expected = ggmlDequantHashes();
    int compared = 0;
    for (const char* file : {"stories260K-q8_0.gguf", "stories260K-q4_0.gguf", "stories260K-q4_1.gguf",
                             "stories260K-q5_0.gguf", "stories260K-q5_1.gguf", "stories260K-kquants.gguf"}) {
        const GgufTestFile gguf(kGgufDir + file);
        for (const auto& [name, tensor] : gguf.tensors()) {
            const GgmlTypeTraits* traits = ggmlTraitsById(tensor.type);
            ASSERT_NE(traits, nullptr) << name;
            if (traits->dtype == DType::F32)
                continue;
            const std::string key = name.find('@') == std::string::npos ? name + "@" + std::string(traits->name) : name;
            ASSERT_TRUE(expected.contains(key)) << key;
            std::vector<float> ours(tensor.elements());
            dequantizeGgml(traits->dtype, tensor.data.first(ggmlByteSize(traits->dtype, ours.size())), ours);
            const auto& entry = expected.at(key);
            ASSERT_EQ(entry.at("elements").get<std::size_t>(), ours.size()) << key;
            EXPECT_EQ(entry.at("first").at(0).get<float>(), ours[0]) << key;
            char hex[17];
            std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(asBytes(ours))));
            EXPECT_EQ(entry.at("fnv1a64").get<std::string>(), hex) << key;
            ++compared;
        }
    }
    EXPECT_EQ(compared, static_cast<int>(expected.size()));
}

class GgmlDequantizerPaths : public ::testing::TestWithParam<DType> { };

// Blocks from quantizing random data at several scales, plus blocks of raw random bytes (with their
// fp16/float scale fields made finite), for 1..67 blocks: the optimised path must give the
// reference's bits.
TEST_P(GgmlDequantizerPaths, OptimisedPathMatchesTheScalarReferenceBitForBit)
{
    const DType type = GetParam();
    const GgmlTypeTraits& traits = ggmlTraits(type);
    std::mt19937 rng(1234);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> byte(0, 255);
    for (std::size_t blocks : {1u, 2u, 3u, 7u, 16u, 67u}) {
        const std::size_t n = blocks * traits.blockElements;
        for (float scale : {1e-3f, 0.05f, 3.0f}) {
            std::vector<float> in(n);
            for (auto& v : in)
                v = scale * normal(rng);
            std::vector<std::byte> packed(ggmlByteSize(type, n));
            quantizeGgml(type, in, packed);
            std::vector<float> fast(n), reference(n);
            dequantizeGgml(type, packed, fast);
            dequantizeGgmlReference(type, packed, reference);
            ASSERT_TRUE(sameBits(fast, reference)) << traits.name << " " << blocks << " blocks, scale " << scale;
        }
        std::vector<std::byte> raw(ggmlByteSize(type, n));
        for (auto& b : raw)
            b = static_cast<std::byte>(byte(rng));
        if (type == DType::F32 || type == DType::Q8_K) {
            // Keep float fields finite: clear the top exponent bit of every 4-byte word.
            for (std::size_t i = 3; i < raw.size(); i += 4)
                raw[i] &= std::byte {0x3f};
        }
        std::vector<float> fast(n), reference(n);
        dequantizeGgml(type, raw, fast);
        dequantizeGgmlReference(type, raw, reference);
        for (std::size_t i = 0; i < n; ++i) {
            if (std::isnan(reference[i]))
                ASSERT_TRUE(std::isnan(fast[i])) << traits.name << " value " << i;
            else
                ASSERT_EQ(std::bit_cast<std::uint32_t>(fast[i]), std::bit_cast<std::uint32_t>(reference[i]))
                    << traits.name << " raw blocks, value " << i;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, GgmlDequantizerPaths, ::testing::ValuesIn(kDequantTypes),
                         [](const auto& info) { return std::string(dtypeName(info.param)); });

TEST(GgmlDequantizer, DecodesAHandMadeQ4_0Block)
{
    // d = 0.5 as fp16 (0x3800), nibbles: low = j, high = 15 - j.
    std::vector<std::byte> block(18);
    const std::uint16_t d = floatToFp16(0.5f);
    std::memcpy(block.data(), &d, 2);
    for (int j = 0; j < 16; ++j)
        block[2 + static_cast<std::size_t>(j)] = static_cast<std::byte>(j | ((15 - j) << 4));
    std::vector<float> out(32);
    dequantizeRowQ4_0(block, out);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(out[static_cast<std::size_t>(j)], 0.5f * static_cast<float>(j - 8));
        EXPECT_EQ(out[static_cast<std::size_t>(j + 16)], 0.5f * static_cast<float>(7 - j));
    }
}

TEST(GgmlDequantizer, RejectsBlockBytesThatDoNotMatchTheOutputSize)
{
    std::vector<std::byte> blocks(143);
    std::vector<float> out(256);
    EXPECT_THAT([&] { dequantizeGgml(DType::Q4_K, blocks, out); },
                ThrowsMessage<Error>(HasSubstr("256 values need 144 bytes of blocks, got 143")));
    std::vector<float> partial(100);
    EXPECT_THAT([&] { dequantizeGgml(DType::Q8_0, blocks, partial); },
                ThrowsMessage<Error>(HasSubstr("100 output values are not a whole number of blocks of 32")));
}

TEST(GgmlDequantizer, RefusesIqAndTqTypesNamingThem)
{
    std::vector<std::byte> blocks(66);
    std::vector<float> out(256);
    EXPECT_THAT([&] { dequantizeGgml(DType::IQ2_XXS, blocks, out); },
                ThrowsMessage<UnsupportedError>(HasSubstr("dequantization of ggml type iq2_xxs is not supported")));
    EXPECT_THAT([&] { dequantizeGgml(DType::TQ2_0, blocks, out); },
                ThrowsMessage<UnsupportedError>(HasSubstr("tq2_0")));
}
