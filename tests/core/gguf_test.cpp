#include "core/io/gguf_reader.h"
#include "core/model/model.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fnv1a64.h"
#include <cstring>
#include <filesystem>
#include <fstream>

#include <ostream>
#include <regex>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;

namespace {

const std::filesystem::path kData = QUANTLENS_TEST_DATA_DIR;
const std::filesystem::path kStories = kData / "stories260K";

std::vector<float> readAll(const Model& model, std::size_t index)
{
    std::vector<float> out(model.tensors()[index].elementCount());
    model.readFloat(index, 0, out);
    return out;
}

// llama.cpp's name for a Hugging Face Llama tensor (convert_hf_to_gguf.py's tensor map).
std::string huggingFaceName(const std::string& gguf)
{
    static const std::vector<std::pair<std::regex, std::string>> kMap {
        {std::regex(R"(^token_embd\.weight$)"), "model.embed_tokens.weight"},
        {std::regex(R"(^output_norm\.weight$)"), "model.norm.weight"},
        {std::regex(R"(^blk\.(\d+)\.attn_q\.)"), "model.layers.$1.self_attn.q_proj."},
        {std::regex(R"(^blk\.(\d+)\.attn_k\.)"), "model.layers.$1.self_attn.k_proj."},
        {std::regex(R"(^blk\.(\d+)\.attn_v\.)"), "model.layers.$1.self_attn.v_proj."},
        {std::regex(R"(^blk\.(\d+)\.attn_output\.)"), "model.layers.$1.self_attn.o_proj."},
        {std::regex(R"(^blk\.(\d+)\.ffn_gate\.)"), "model.layers.$1.mlp.gate_proj."},
        {std::regex(R"(^blk\.(\d+)\.ffn_up\.)"), "model.layers.$1.mlp.up_proj."},
        {std::regex(R"(^blk\.(\d+)\.ffn_down\.)"), "model.layers.$1.mlp.down_proj."},
        {std::regex(R"(^blk\.(\d+)\.attn_norm\.)"), "model.layers.$1.input_layernorm."},
        {std::regex(R"(^blk\.(\d+)\.ffn_norm\.)"), "model.layers.$1.post_attention_layernorm."},
    };
    for (const auto& [pattern, replacement] : kMap) {
        if (std::regex_search(gguf, pattern))
            return std::regex_replace(gguf, pattern, replacement);
    }
    return gguf;
}

// Hugging Face row of GGUF row `row` of a q/k weight: the conversion regroups each head's rows from
// interleaved pairs (0,1),(2,3)... to halves (fixtures README; transformers'
// convert_llama_weights_to_hf.py permute).
std::uint64_t huggingFaceRow(std::uint64_t row, std::uint64_t headDim)
{
    const auto head = row / headDim, within = row % headDim;
    return head * headDim + (within % 2) * (headDim / 2) + within / 2;
}

} // namespace

TEST(GgufReader, OpensStoriesF32WithArchitectureFromMetadataAndShapesOutermostFirst)
{
    const auto model = openModel(kStories / "model-f32.gguf");
    EXPECT_EQ(model->format(), "gguf");
    EXPECT_EQ(model->tensors().size(), 47u);
    EXPECT_EQ(model->totalParameters(), 260032u);
    const auto& a = model->architecture();
    EXPECT_EQ(a.name, "llama");
    EXPECT_EQ(a.layers, 5u);
    EXPECT_EQ(a.hiddenSize, 64u);
    EXPECT_EQ(a.intermediateSize, 172u);
    EXPECT_EQ(a.attentionHeads, 8u);
    EXPECT_EQ(a.kvHeads, 4u);
    EXPECT_EQ(a.contextLength, 512u);
    EXPECT_EQ(a.vocabSize, 512u);
    const auto down = model->find("blk.2.ffn_down.weight");
    ASSERT_GE(down, 0);
    const auto& info = model->tensors()[static_cast<std::size_t>(down)];
    EXPECT_EQ(info.shape, (std::vector<std::uint64_t> {64, 172}));
    EXPECT_EQ(info.layer, 2);
    EXPECT_EQ(info.role, TensorRole::MlpDown);
    EXPECT_EQ(model->metadata().at("general.architecture"), "llama");
    EXPECT_EQ(model->metadata().at("gguf.version"), "3");
}

TEST(GgufReader, EveryTensorEqualsTheF32SafetensorsOneUpToTheRotaryPermutation)
{
    const auto gguf = openModel(kStories / "model-f32.gguf");
    const auto hf = openModel(kStories / "model-f32.safetensors");
    const std::uint64_t headDim = 8;
    for (std::size_t i = 0; i < gguf->tensors().size(); ++i) {
        const auto& t = gguf->tensors()[i];
        const auto j = hf->find(huggingFaceName(t.name));
        ASSERT_GE(j, 0) << t.name;
        ASSERT_EQ(hf->tensors()[static_cast<std::size_t>(j)].shape, t.shape) << t.name;
        const auto ours = readAll(*gguf, i);
        const auto theirs = readAll(*hf, static_cast<std::size_t>(j));
        const bool permuted = t.role == TensorRole::AttentionQ || t.role == TensorRole::AttentionK;
        const auto columns = t.rowLength();
        for (std::uint64_t row = 0; row < ours.size() / columns; ++row) {
            const auto hfRow = permuted ? huggingFaceRow(row, headDim) : row;
            for (std::uint64_t c = 0; c < columns; ++c)
                ASSERT_EQ(ours[row * columns + c], theirs[hfRow * columns + c]) << t.name << " row " << row;
        }
    }
}

class GgufQuantized : public ::testing::TestWithParam<const char*> { };

TEST_P(GgufQuantized, DequantizesEveryTensorBitForBitAsGgml)
{
    std::ifstream in(kData / "ggml-dequant-hashes.json");
    const auto hashes = nlohmann::json::parse(in);
    const std::string file = GetParam();
    const auto model = openModel(kStories / "gguf" / file);
    const auto suffix = file.substr(file.find('-') + 1, file.find('.') - file.find('-') - 1); // "q4_0"
    int compared = 0;
    for (std::size_t i = 0; i < model->tensors().size(); ++i) {
        const auto& t = model->tensors()[i];
        if (t.dtype == DType::F32)
            continue;
        const auto key = t.name.find('@') == std::string::npos ? t.name + "@" + suffix : t.name;
        ASSERT_TRUE(hashes.contains(key)) << key;
        ASSERT_TRUE(model->canDequantize(i));
        const auto values = readAll(*model, i);
        ASSERT_EQ(values.size(), hashes[key]["elements"].get<std::size_t>()) << key;
        for (std::size_t k = 0; k < 4; ++k)
            EXPECT_EQ(values[k], hashes[key]["first"][k].get<float>()) << key;
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx",
                      static_cast<unsigned long long>(test::fnv1a64(std::as_bytes(std::span<const float>(values)))));
        EXPECT_EQ(hex, hashes[key]["fnv1a64"].get<std::string>()) << key;
        ++compared;
    }
    EXPECT_GT(compared, 0);
}

INSTANTIATE_TEST_SUITE_P(StoriesFiles, GgufQuantized,
                         ::testing::Values("stories260K-q4_0.gguf", "stories260K-q4_1.gguf", "stories260K-q5_0.gguf",
                                           "stories260K-q5_1.gguf", "stories260K-q8_0.gguf",
                                           "stories260K-kquants.gguf"),
                         [](const auto& info) {
                             std::string name = info.param;
                             name = name.substr(12, name.find('.') - 12);
                             name.erase(std::remove(name.begin(), name.end(), '_'), name.end());
                             return name;
                         });

TEST(GgufReader, ReadsABlockAlignedRangeWithAPartialLastBlock)
{
    const auto model = openModel(kStories / "gguf" / "stories260K-q4_0.gguf");
    const auto index = static_cast<std::size_t>(model->find("blk.1.ffn_gate.weight"));
    EXPECT_EQ(model->blockAlignment(index), 32u);
    const auto all = readAll(*model, index);
    std::vector<float> part(70); // two blocks and 6 values of a third
    model->readFloat(index, 64, part);
    EXPECT_TRUE(std::equal(part.begin(), part.end(), all.begin() + 64));
    EXPECT_THAT([&] { model->readFloat(index, 3, part); },
                ::testing::ThrowsMessage<UsageError>(HasSubstr("not a multiple of the Q4_0 block size 32")));
}

TEST(GgufReader, ListsTypesWithoutADequantizerAndSaysSoWhenAskedToRead)
{
    // One IQ2_XXS tensor of 256 weights (66 bytes): ggml type 16.
    std::vector<std::byte> file;
    const auto put = [&](const void* p, std::size_t n) {
        const auto* b = static_cast<const std::byte*>(p);
        file.insert(file.end(), b, b + n);
    };
    const std::uint32_t magic = 0x46554747u, version = 3, dims = 1, type = 16;
    const std::uint64_t tensors = 1, kvs = 0, nameLength = 1, ne = 256, offset = 0;
    put(&magic, 4), put(&version, 4), put(&tensors, 8), put(&kvs, 8);
    put(&nameLength, 8), put("w", 1), put(&dims, 4), put(&ne, 8), put(&type, 4), put(&offset, 8);
    file.resize(64 + 66);
    const auto path = std::filesystem::temp_directory_path() / "quantlens-gguf-test-iq2.gguf";
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(file.data()), std::streamsize(file.size()));
    const auto model = openModel(path);
    ASSERT_EQ(model->tensors().size(), 1u);
    EXPECT_EQ(model->tensors()[0].dtype, DType::IQ2_XXS);
    EXPECT_EQ(model->tensors()[0].byteSize, 66u);
    std::string why;
    EXPECT_FALSE(model->canDequantize(0, &why));
    EXPECT_EQ(why, "dequantization of IQ2_XXS is not supported");
    std::vector<float> out(256);
    EXPECT_THAT([&] { model->readFloat(0, 0, out); },
                ::testing::ThrowsMessage<UnsupportedError>(HasSubstr("dequantization of IQ2_XXS is not supported")));
    std::filesystem::remove(path);
}

struct BadGguf {
    const char* file;
    const char* message;
};

inline void PrintTo(const BadGguf& c, std::ostream* os)
{
    *os << c.file;
}

class GgufMalformed : public ::testing::TestWithParam<BadGguf> { };

TEST_P(GgufMalformed, IsRejectedWithOneMessageNamingFileFieldAndOffset)
{
    const auto& c = GetParam();
    try {
        openModel(kData / "malformed-extra" / c.file);
        FAIL() << c.file << " was accepted";
    } catch (const FormatError& e) {
        EXPECT_THAT(e.what(), HasSubstr(c.file));
        EXPECT_THAT(e.what(), HasSubstr(c.message));
        EXPECT_TRUE(e.offset().has_value()) << e.what();
        EXPECT_FALSE(e.field().empty()) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    ExtraFiles, GgufMalformed,
    ::testing::Values(BadGguf {"gguf_bad_magic.gguf", "not a GGUF file"},
                      BadGguf {"gguf_version_1.gguf", "unsupported GGUF version"},
                      BadGguf {"gguf_huge_string.gguf", "string length runs past the end of the file"},
                      BadGguf {"gguf_huge_array.gguf", "array count runs past the end of the file"},
                      BadGguf {"gguf_huge_tensor_count.gguf", "tensor count runs past the end of the file"},
                      BadGguf {"gguf_unknown_value_type.gguf", "unknown value type"},
                      BadGguf {"gguf_bad_alignment.gguf", "alignment is not a non-zero power of two"},
                      BadGguf {"gguf_unknown_tensor_type.gguf", "tensor 'w' has unknown ggml type 4"},
                      BadGguf {"gguf_too_many_dims.gguf", "too many dimensions"},
                      BadGguf {"gguf_partial_block.gguf", "rows of 33 elements, not a whole number of Q4_0 blocks"},
                      BadGguf {"gguf_tensor_past_end.gguf",
                               "tensor 'blk.0.attn_q.weight' ends past the end of the data"},
                      BadGguf {"gguf_unaligned_offset.gguf", "tensor 'b' data offset 4 is not aligned"},
                      BadGguf {"gguf_overlap.gguf", "tensor 'b' overlaps tensor 'a'"},
                      BadGguf {"gguf_duplicate_key.gguf", "duplicate metadata key"},
                      BadGguf {"gguf_nested_too_deep.gguf", "arrays nested too deeply"},
                      BadGguf {"gguf_truncated_header.gguf", "runs past the end of the file"},
                      BadGguf {"gguf_bad_bool.gguf", "boolean is neither 0 nor 1"}),
    [](const auto& info) {
        std::string name = info.param.file;
        name = name.substr(5, name.find('.') - 5);
        name.erase(std::remove(name.begin(), name.end(), '_'), name.end());
        return name;
    });

TEST(GgufValue, RendersLongArraysWithTheirCountInsteadOfEveryItem)
{
    GgufValue array;
    array.type = 9;
    array.arrayType = 8;
    array.arrayCount = 32000;
    for (const char* s : {"<unk>", "<s>"}) {
        GgufValue item;
        item.type = 8;
        item.stringValue = s;
        array.arrayItems.push_back(item);
    }
    EXPECT_EQ(array.render(), R"(["<unk>", "<s>", ... (32000 STRING items)])");
}
