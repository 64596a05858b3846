#include "core/io/safetensors_header.h"
#include "core/io/safetensors_writer.h"
#include "core/model/model.h"
#include "core/quant/bnb_4bit.h"
#include "core/quant/llm_int8.h"
#include "core/util/error.h"
#include "core/util/float16.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <ostream>
#include <random>
#include <sstream>

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

std::filesystem::path freshTempDir(const std::string& name)
{
    const auto dir = std::filesystem::temp_directory_path() / ("quantlens-safetensors-test-" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

std::span<const std::byte> asBytes(const auto& vector)
{
    return std::as_bytes(std::span(vector));
}

// Nine significant digits round-trip a float, as Python's repr of offset.item() does.
std::string floatText(float value)
{
    std::ostringstream out;
    out << std::setprecision(9) << value;
    return out.str();
}

} // namespace

TEST(SafetensorsReader, OpensStoriesBf16WithShapesRolesAndArchitecture)
{
    const auto model = openModel(kStories / "model.safetensors");
    EXPECT_EQ(model->format(), "safetensors");
    EXPECT_EQ(model->tensors().size(), 47u);
    EXPECT_EQ(model->totalParameters(), 260032u);
    const auto q = model->find("model.layers.3.self_attn.k_proj.weight");
    ASSERT_GE(q, 0);
    const auto& info = model->tensors()[static_cast<std::size_t>(q)];
    EXPECT_EQ(info.shape, (std::vector<std::uint64_t> {32, 64}));
    EXPECT_EQ(info.dtype, DType::BF16);
    EXPECT_EQ(info.layer, 3);
    EXPECT_EQ(info.role, TensorRole::AttentionK);
    EXPECT_EQ(info.byteSize, 32u * 64u * 2u);
    const auto& a = model->architecture();
    EXPECT_EQ(a.name, "llama");
    EXPECT_EQ(a.layers, 5u);
    EXPECT_EQ(a.hiddenSize, 64u);
    EXPECT_EQ(a.intermediateSize, 172u);
    EXPECT_EQ(a.kvHeads, 4u);
    EXPECT_TRUE(a.tiedEmbeddings);
    EXPECT_EQ(model->metadata().at("format"), "pt");
    EXPECT_EQ(model->find("no.such.tensor"), -1);
}

TEST(SafetensorsReader, F16AndBf16EqualF32WithinOneRoundingOfTheirDtype)
{
    const auto f32 = openModel(kStories / "model-f32.safetensors");
    const auto f16 = openModel(kStories / "model-f16.safetensors");
    const auto bf16 = openModel(kStories / "model.safetensors");
    ASSERT_EQ(f32->tensors().size(), f16->tensors().size());
    for (std::size_t i = 0; i < f32->tensors().size(); ++i) {
        const auto& name = f32->tensors()[i].name;
        const auto reference = readAll(*f32, i);
        const auto half = readAll(*f16, static_cast<std::size_t>(f16->find(name)));
        const auto brain = readAll(*bf16, static_cast<std::size_t>(bf16->find(name)));
        for (std::size_t k = 0; k < reference.size(); ++k) {
            // Exactly the round-to-nearest-even of the F32 value: stronger than a tolerance.
            ASSERT_EQ(half[k], fp16ToFloat(floatToFp16(reference[k]))) << name << " element " << k;
            ASSERT_EQ(brain[k], bf16ToFloat(floatToBf16(reference[k]))) << name << " element " << k;
        }
    }
}

TEST(SafetensorsReader, ShardedCheckpointEqualsTheSingleFileTensorForTensor)
{
    const auto single = openModel(kStories / "model.safetensors");
    const auto sharded = openModel(kStories / "sharded");
    EXPECT_EQ(sharded->format(), "safetensors (sharded)");
    EXPECT_EQ(sharded->files().size(), 2u);
    ASSERT_EQ(sharded->tensors().size(), single->tensors().size());
    for (std::size_t i = 0; i < sharded->tensors().size(); ++i) {
        const auto& name = sharded->tensors()[i].name;
        const auto j = single->find(name);
        ASSERT_GE(j, 0) << name;
        EXPECT_EQ(readAll(*sharded, i), readAll(*single, static_cast<std::size_t>(j))) << name;
        const auto raw = sharded->rawBytes(i);
        const auto rawSingle = single->rawBytes(static_cast<std::size_t>(j));
        ASSERT_EQ(raw.size(), rawSingle.size());
        EXPECT_EQ(std::memcmp(raw.data(), rawSingle.data(), raw.size()), 0);
    }
}

TEST(SafetensorsReader, ReadsARangeInTheMiddleOfATensor)
{
    const auto model = openModel(kStories / "model-f32.safetensors");
    const auto index = static_cast<std::size_t>(model->find("model.layers.0.mlp.down_proj.weight"));
    const auto all = readAll(*model, index);
    std::vector<float> part(100);
    model->readFloat(index, 1000, part);
    EXPECT_TRUE(std::equal(part.begin(), part.end(), all.begin() + 1000));
    std::vector<float> tooMany(all.size());
    EXPECT_THAT([&] { model->readFloat(index, 1, tooMany); },
                ::testing::ThrowsMessage<UsageError>(HasSubstr("cannot read 11008 from element 1")));
}

struct MalformedCase {
    const char* file;
    const char* message;
};

inline void PrintTo(const MalformedCase& c, std::ostream* os)
{
    *os << c.file;
}

class SafetensorsMalformed : public ::testing::TestWithParam<MalformedCase> { };

TEST_P(SafetensorsMalformed, IsRejectedWithOneMessageNamingFileFieldAndOffset)
{
    const auto& c = GetParam();
    const auto path = kData / "synthetic" / "malformed" / c.file;
    try {
        openModel(path);
        FAIL() << c.file << " was accepted";
    } catch (const FormatError& e) {
        EXPECT_THAT(e.what(), HasSubstr(c.file));
        EXPECT_THAT(e.what(), HasSubstr(c.message));
        EXPECT_TRUE(e.offset().has_value()) << e.what();
        EXPECT_FALSE(e.field().empty()) << e.what();
    }
}

INSTANTIATE_TEST_SUITE_P(
    SyntheticFiles, SafetensorsMalformed,
    ::testing::Values(
        MalformedCase {"truncated.safetensors",
                       "tensor 'w' ends at byte 4000, past the end of the data section (1964)"},
        MalformedCase {"header_longer_than_file.safetensors", "header length runs past the end of the file"},
        MalformedCase {"header_invalid_json.safetensors", "header is not valid JSON"},
        MalformedCase {"header_not_object.safetensors", "header is not a JSON object"},
        MalformedCase {"offsets_overlap.safetensors", "tensor 'b' (bytes 8..16) overlaps tensor 'a' (bytes 0..16)"},
        MalformedCase {"offsets_beyond_data.safetensors",
                       "tensor 'a' ends at byte 32, past the end of the data section (16)"},
        MalformedCase {"unknown_dtype.safetensors", "unknown dtype 'F31'"},
        MalformedCase {"shape_bytes_mismatch.safetensors", "shape [3] of F32 is 12 bytes but data_offsets span 16"},
        MalformedCase {"header_len_all_ff.safetensors",
                       "not a safetensors file: its first 8 bytes, the length of the JSON header that follows, are "
                       "larger than any real header [header length] [at byte 0] (expected at most 100000000, found "
                       "18446744073709551615)"}),
    [](const auto& info) {
        std::string name = info.param.file;
        name = name.substr(0, name.find('.'));
        name.erase(std::remove(name.begin(), name.end(), '_'), name.end());
        return name;
    });

TEST(SafetensorsHeader, RejectsAnElementCountThatOverflowsNamingTheTensor)
{
    const std::string json = R"({"w":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}})";
    std::vector<std::byte> file(8 + json.size());
    file[0] = static_cast<std::byte>(json.size());
    std::memcpy(file.data() + 8, json.data(), json.size());
    EXPECT_THAT(
        [&] { parseSafetensorsHeader(file, "big.safetensors"); },
        ::testing::ThrowsMessage<FormatError>(HasSubstr("big.safetensors: tensor 'w': element count overflows")));
}

namespace {

// A header as given, then `dataBytes` zero bytes of data.
std::vector<std::byte> headerFile(const std::string& json, std::size_t dataBytes)
{
    std::vector<std::byte> file(8 + json.size() + dataBytes);
    file[0] = static_cast<std::byte>(json.size() & 0xff);
    file[1] = static_cast<std::byte>(json.size() >> 8);
    std::memcpy(file.data() + 8, json.data(), json.size());
    return file;
}

} // namespace

// What the safetensors library itself refuses: a name given twice (nlohmann would keep the last and
// lose the first tensor), bytes between tensors, and bytes after the last one.
TEST(SafetensorsHeader, RejectsADuplicateNameAGapAndTrailingBytes)
{
    using ::testing::ThrowsMessage;
    const std::string a = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
    const std::string b = R"("b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]})";
    EXPECT_NO_THROW(parseSafetensorsHeader(headerFile("{" + a + "," + b + "}", 16), "ok.safetensors"));

    const std::string again = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]})";
    EXPECT_THAT([&] { parseSafetensorsHeader(headerFile("{" + a + "," + again + "}", 16), "twice.safetensors"); },
                ThrowsMessage<FormatError>(HasSubstr("twice.safetensors: the header names 'a' twice")));

    const std::string late = R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]})";
    EXPECT_THAT([&] { parseSafetensorsHeader(headerFile("{" + a + "," + late + "}", 20), "gap.safetensors"); },
                ThrowsMessage<FormatError>(HasSubstr("gap.safetensors: bytes 8..12 of the data section belong to no "
                                                     "tensor (tensor 'b' begins at 12, tensor 'a' ends at 8)")));
    const std::string first = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]})";
    EXPECT_THAT([&] { parseSafetensorsHeader(headerFile("{" + first + "}", 12), "lead.safetensors"); },
                ThrowsMessage<FormatError>(HasSubstr("bytes 0..4 of the data section belong to no tensor")));

    EXPECT_THAT([&] { parseSafetensorsHeader(headerFile("{" + a + "," + b + "}", 20), "tail.safetensors"); },
                ThrowsMessage<FormatError>(
                    HasSubstr("tail.safetensors: the data section holds 4 bytes after the last tensor ('b', ending "
                              "at 16)")));
    // Empty tensors take no bytes wherever they say they are.
    const std::string empty = R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]})";
    EXPECT_NO_THROW(parseSafetensorsHeader(headerFile("{" + a + "," + empty + "," + b + "}", 16), "e.safetensors"));
}

TEST(SafetensorsWriter, WritesAFileTheReaderReadsBackWithMetadata)
{
    const auto dir = freshTempDir("roundtrip");
    const std::vector<float> a {1.0f, -2.5f, 3.25f, 0.0f, 7.0f, 8.0f};
    const std::vector<std::uint16_t> b {floatToBf16(0.5f), floatToBf16(-1.0f)};
    const std::vector<SafetensorsTensorData> tensors {
        {"a", DType::F32, {2, 3}, asBytes(a)}, {"b", DType::BF16, {2}, asBytes(b)}, {"empty", DType::F32, {0, 4}, {}}};
    writeSafetensors(dir / "out.safetensors", tensors, {{"format", "pt"}});
    const auto model = openModel(dir / "out.safetensors");
    ASSERT_EQ(model->tensors().size(), 3u);
    EXPECT_EQ(readAll(*model, static_cast<std::size_t>(model->find("a"))), a);
    EXPECT_EQ(readAll(*model, static_cast<std::size_t>(model->find("b"))), (std::vector<float> {0.5f, -1.0f}));
    EXPECT_EQ(model->metadata().at("format"), "pt");
    std::vector<std::filesystem::path> left;
    for (const auto& e : std::filesystem::directory_iterator(dir))
        left.push_back(e.path().filename());
    EXPECT_EQ(left, std::vector<std::filesystem::path> {"out.safetensors"}) << "temporary file left behind";
}

TEST(SafetensorsWriter, LeavesTheExistingFileUntouchedWhenWritingFails)
{
    const auto dir = freshTempDir("atomic");
    const auto path = dir / "model.safetensors";
    const std::vector<float> before {1.0f, 2.0f};
    writeSafetensors(path, std::vector<SafetensorsTensorData> {{"w", DType::F32, {2}, asBytes(before)}});
    const auto sizeBefore = std::filesystem::file_size(path);
    {
        SafetensorsWriter writer(path, {{"w", DType::F32, {4}}});
        writer.writeTensorData(asBytes(before));
        EXPECT_THAT([&] { writer.commit(); }, ::testing::ThrowsMessage<UsageError>(HasSubstr("is missing 8 bytes")));
    }
    EXPECT_EQ(std::filesystem::file_size(path), sizeBefore);
    EXPECT_EQ(readAll(*openModel(path), 0), before);
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()), 1);
    EXPECT_THAT(
        [&] {
            SafetensorsWriter(path, {{"q", DType::Q4_K, {256}}});
        },
        ::testing::ThrowsMessage<UsageError>(HasSubstr("safetensors cannot hold Q4_K")));
}

// A bitsandbytes checkpoint as transformers saves it (QuantState.as_dict(packed=True)): the packed
// weight, absmax (uint8 codes when double-quantized), nested_absmax, nested_quant_map, quant_map
// and the JSON quant_state tensor. Built here from our own quantizer, so the reader must find the
// pieces by name and hand them to dequantize4bitRange in the right order.
class BnbCheckpoint : public ::testing::TestWithParam<bool> { };

TEST_P(BnbCheckpoint, PresentsEachWeightAsOneLogicalNf4TensorThatDequantizesExactly)
{
    const bool doubleQuant = GetParam();
    const std::uint64_t rows = 96, columns = 70; // 6720 values: 105 blocks of 64, a partial nested group
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 0.02f);
    std::vector<float> weight(rows * columns);
    for (auto& v : weight)
        v = normal(rng);
    Bnb4BitOptions options;
    options.type = FourBitType::Nf4;
    options.blocksize = 64;
    options.doubleQuant = doubleQuant;
    const auto q = quantize4bit(weight, options);
    std::vector<float> expected(weight.size());
    dequantize4bit(q, expected);

    const std::string name = "model.layers.0.mlp.down_proj.weight";
    std::string state = R"({"quant_type": "nf4", "blocksize": 64, "dtype": "bfloat16", "shape": [96, 70])";
    if (doubleQuant)
        state += ", \"nested_blocksize\": 256, \"nested_dtype\": \"float32\", \"nested_offset\": "
            + floatText(q.doubleQuant->offset);
    state += "}";
    std::vector<float> quantMap(fourBitCode(FourBitType::Nf4), fourBitCode(FourBitType::Nf4) + 16);
    // The packed bytes as bnb's quant_storage views them: uint8 by default, bfloat16 or float32 for
    // FSDP-QLoRA (Params4bit(quant_storage=...)), the same bytes under another dtype.
    for (const DType storage : {DType::U8, DType::BF16, DType::F32}) {
        SCOPED_TRACE(dtypeName(storage));
        std::vector<SafetensorsTensorData> tensors {
            {name, storage, {q.packed.size() / dtypeElementBytes(storage), 1}, asBytes(q.packed)},
            {name + ".quant_map", DType::F32, {16}, asBytes(quantMap)},
            {name + ".quant_state.bitsandbytes__nf4", DType::U8, {state.size()}, std::as_bytes(std::span(state))},
            {"model.norm.weight", DType::F32, {2}, asBytes(quantMap).first(8)},
        };
        if (doubleQuant) {
            tensors.push_back({name + ".absmax",
                               DType::U8,
                               {q.doubleQuant->absmaxCodes.size()},
                               asBytes(q.doubleQuant->absmaxCodes)});
            tensors.push_back({name + ".nested_absmax",
                               DType::F32,
                               {q.doubleQuant->nestedAbsmax.size()},
                               asBytes(q.doubleQuant->nestedAbsmax)});
        } else {
            tensors.push_back({name + ".absmax", DType::F32, {q.absmax.size()}, asBytes(q.absmax)});
        }
        const auto dir = freshTempDir(std::string(doubleQuant ? "bnb-dq-" : "bnb-") + std::string(dtypeName(storage)));
        writeSafetensors(dir / "model.safetensors", tensors);

        const auto model = openModel(dir / "model.safetensors");
        ASSERT_EQ(model->tensors().size(), 2u) << "companion tensors must not be listed";
        const auto index = static_cast<std::size_t>(model->find(name));
        const auto& info = model->tensors()[index];
        EXPECT_EQ(info.dtype, DType::NF4);
        EXPECT_EQ(info.shape, (std::vector<std::uint64_t> {96, 70}));
        EXPECT_EQ(info.role, TensorRole::MlpDown);
        EXPECT_GT(info.byteSize, q.packed.size());
        EXPECT_EQ(model->blockAlignment(index), 64u);
        EXPECT_EQ(readAll(*model, index), expected);
        std::vector<float> middle(640);
        model->readFloat(index, 128 * 10, middle);
        EXPECT_TRUE(std::equal(middle.begin(), middle.end(), expected.begin() + 1280));
    }
}

INSTANTIATE_TEST_SUITE_P(DoubleQuant, BnbCheckpoint, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Nested" : "Plain"; });

namespace {

// A Linear8bitLt layer as transformers saves it: int8 weight, SCB, weight_format (0 = row-major).
struct Int8Layer {
    LlmInt8Tensor q;
    std::vector<float> expected;
    std::uint8_t format = 0;
};

Int8Layer makeInt8Layer(std::uint64_t rows, std::uint64_t cols)
{
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 0.05f);
    std::vector<float> weight(rows * cols);
    for (auto& v : weight)
        v = normal(rng);
    Int8Layer layer;
    layer.q = quantizeLlmInt8(weight, cols, 0.0f); // checkpoints hold the whole matrix in int8
    layer.expected.resize(weight.size());
    dequantizeLlmInt8(layer.q, layer.expected);
    return layer;
}

std::vector<SafetensorsTensorData> int8Tensors(const std::string& prefix, const Int8Layer& layer,
                                               bool withFormat = true)
{
    std::vector<SafetensorsTensorData> tensors {
        {prefix + "weight", DType::I8, {layer.q.rows, layer.q.cols}, asBytes(layer.q.codes)},
        {prefix + "SCB", DType::F32, {layer.q.rows}, asBytes(layer.q.rowAbsmax)},
    };
    if (withFormat)
        tensors.push_back({prefix + "weight_format", DType::U8, {}, std::as_bytes(std::span(&layer.format, 1))});
    return tensors;
}

} // namespace

TEST(Int8Checkpoint, PresentsEachLinear8bitLtWeightAsOneLogicalTensorThatDequantizesExactly)
{
    const auto layer = makeInt8Layer(48, 37); // odd columns: reads cross rows mid-way
    auto tensors = int8Tensors("model.layers.3.self_attn.o_proj.", layer);
    const auto older = makeInt8Layer(8, 16);
    for (const auto& t : int8Tensors("model.layers.4.mlp.up_proj.", older, false)) // before weight_format
        tensors.push_back(t);
    const std::vector<float> norm {1.0f, 2.0f};
    tensors.push_back({"model.norm.weight", DType::F32, {2}, asBytes(norm)});
    const auto dir = freshTempDir("int8");
    writeSafetensors(dir / "model.safetensors", tensors);

    const auto model = openModel(dir / "model.safetensors");
    ASSERT_EQ(model->tensors().size(), 3u) << "SCB and weight_format must not be listed";
    const auto index = static_cast<std::size_t>(model->find("model.layers.3.self_attn.o_proj.weight"));
    const auto& info = model->tensors()[index];
    EXPECT_EQ(info.dtype, DType::LlmInt8);
    EXPECT_EQ(dtypeName(info.dtype), "LLM_INT8");
    EXPECT_EQ(info.shape, (std::vector<std::uint64_t> {48, 37}));
    EXPECT_EQ(info.role, TensorRole::AttentionO);
    EXPECT_EQ(info.byteSize, 48u * 37u + 48u * 4u + 1u);
    EXPECT_TRUE(model->canDequantize(index, nullptr));
    EXPECT_EQ(model->blockAlignment(index), 1u); // any element: reads split at rows
    EXPECT_EQ(readAll(*model, index), layer.expected);
    std::vector<float> middle(100); // from the middle of row 2 into row 5
    model->readFloat(index, 2 * 37 + 5, middle);
    EXPECT_TRUE(std::equal(middle.begin(), middle.end(), layer.expected.begin() + 2 * 37 + 5));
    const auto upIndex = static_cast<std::size_t>(model->find("model.layers.4.mlp.up_proj.weight"));
    EXPECT_EQ(model->tensors()[upIndex].dtype, DType::LlmInt8);
    EXPECT_EQ(readAll(*model, upIndex), older.expected);
}

TEST(Int8Checkpoint, RejectsMismatchedStatisticsAndTileLayoutsNamingTheTensor)
{
    const auto dir = freshTempDir("int8-bad");
    auto layer = makeInt8Layer(6, 8);
    const auto expectRejected = [&](const std::vector<SafetensorsTensorData>& tensors, const std::string& what) {
        writeSafetensors(dir / "model.safetensors", tensors);
        try {
            openModel(dir / "model.safetensors");
            ADD_FAILURE() << "accepted: " << what;
        } catch (const FormatError& e) {
            EXPECT_THAT(e.what(), HasSubstr("model.safetensors"));
            EXPECT_THAT(e.what(), HasSubstr("bitsandbytes 8-bit weight 'l.weight'"));
            EXPECT_THAT(e.what(), HasSubstr(what));
            EXPECT_TRUE(e.offset().has_value());
        }
    };
    auto shortScb = int8Tensors("l.", layer);
    shortScb[1].shape = {5};
    shortScb[1].data = shortScb[1].data.first(20);
    expectRejected(shortScb, "one F32 absmax per row (6)");
    layer.format = 2; // col_turing, from bitsandbytes < 0.43
    expectRejected(int8Tensors("l.", layer), "weight_format 2");
    layer.format = 0;
    auto notInt8 = int8Tensors("l.", layer);
    notInt8[0].dtype = DType::U8;
    expectRejected(notInt8, "2-D I8 matrix");
    auto noScb = int8Tensors("l.", layer);
    noScb.erase(noScb.begin() + 1);
    expectRejected(noScb, "SCB (the row absmax) is missing");
}
