#include "core/io/gguf_reader.h"
#include "core/io/hf_config.h"
#include "core/io/mapped_file.h"
#include "core/io/safetensors_header.h"
#include "core/io/safetensors_model.h"
#include "core/model/model.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <ostream>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;

namespace {

const std::filesystem::path kData = QUANTLENS_TEST_DATA_DIR;

} // namespace

TEST(OpenModel, OpensAFolderThroughItsIndexAndAGgufByMagic)
{
    EXPECT_EQ(openModel(kData / "stories260K" / "sharded")->format(), "safetensors (sharded)");
    EXPECT_EQ(openModel(kData / "stories260K" / "sharded" / "model.safetensors.index.json")->format(),
              "safetensors (sharded)");
    EXPECT_EQ(openModel(kData / "stories260K" / "model-f32.gguf")->format(), "gguf");
    EXPECT_EQ(openModel(kData / "stories260K")->files().front().filename(), "model.safetensors");
    EXPECT_THAT([] { openModel(kData / "stories260K" / "gguf"); },
                ::testing::ThrowsMessage<UsageError>(HasSubstr("folder holds 6 model files")));
    EXPECT_THAT([] { openModel(kData / "no-such-model.safetensors"); },
                ::testing::ThrowsMessage<IoError>(HasSubstr("no such file or folder")));
}

TEST(OpenModel, SaysWhatIsNotAModelBeforeWhyAndOpensAConfigsWeights)
{
    // A text file: the sentence starts with what is wrong, then the reader's reason.
    const std::string readme = (kData / "stories260K" / "README.md").string();
    EXPECT_THAT([&] { openModel(readme); },
                ::testing::ThrowsMessage<FormatError>(::testing::StartsWith(
                    readme
                    + " is not a model file (expected .safetensors, .gguf, model.safetensors.index.json or "
                      "config.json)")));
    // A folder with nothing to open fails as a missing file does (IoError: exit 1, not a usage error).
    const auto empty = std::filesystem::temp_directory_path() / ("no-models-" + std::to_string(::getpid()));
    std::filesystem::create_directories(empty);
    EXPECT_THAT([&] { openModel(empty); }, ::testing::ThrowsMessage<IoError>(HasSubstr("holds no model file")));
    std::ofstream(empty / "config.json") << "{}";
    EXPECT_THAT([&] { openModel(empty / "config.json"); },
                ::testing::ThrowsMessage<IoError>(HasSubstr("describes a model, but its folder holds no weights")));
    std::filesystem::remove_all(empty);
    // config.json beside weights opens them.
    EXPECT_EQ(openModel(kData / "stories260K" / "config.json")->files().front().filename(), "model.safetensors");
}

TEST(OpenModel, AModelStoredQuantizedSaysSoAndAFloatOneDoesNot)
{
    EXPECT_EQ(storedQuantizationNote(*openModel(kData / "stories260K" / "model.safetensors")), "");
    EXPECT_EQ(storedQuantizationNote(*openModel(kData / "stories260K" / "model-f32.gguf")), "");
    const auto q4 = openModel(kData / "stories260K" / "gguf" / "stories260K-q4_0.gguf");
    std::size_t quantized = 0;
    for (const auto& t : q4->tensors())
        quantized += t.dtype == DType::Q4_0 ? 1 : 0;
    const std::string note = storedQuantizationNote(*q4);
    EXPECT_THAT(note, HasSubstr("This model is stored quantized: "));
    EXPECT_THAT(note, HasSubstr("Q4_0 x " + std::to_string(quantized)));
    EXPECT_THAT(note, HasSubstr("measured against these stored values"));
}

TEST(OpenModel, TotalsParametersAndBytesOverAllTensors)
{
    const auto model = openModel(kData / "stories260K" / "model-f16.safetensors");
    EXPECT_EQ(model->totalParameters(), 260032u);
    EXPECT_EQ(model->totalBytes(), 2u * 260032u);
}

struct BadIndex {
    const char* path;
    const char* message;
};

inline void PrintTo(const BadIndex& c, std::ostream* os)
{
    *os << c.path;
}

class ShardIndexMalformed : public ::testing::TestWithParam<BadIndex> { };

TEST_P(ShardIndexMalformed, IsRejectedNamingTheIndexAndTheField)
{
    const auto& c = GetParam();
    EXPECT_THAT([&] { openModel(kData / "malformed-extra" / c.path); },
                ::testing::ThrowsMessage<FormatError>(HasSubstr(c.message)));
}

INSTANTIATE_TEST_SUITE_P(
    ExtraFiles, ShardIndexMalformed,
    ::testing::Values(
        BadIndex {
            "index_missing_shard",
            "model.safetensors.index.json: shard 'model-00001-of-00002.safetensors' named by the index is missing"},
        BadIndex {"index_path_traversal.json",
                  "index_path_traversal.json: tensor 'w' names shard '../../etc/passwd', which is not a plain file"},
        BadIndex {"index_no_weight_map.json", "index_no_weight_map.json: index has no weight_map object"},
        BadIndex {"index_invalid_json.json", "index_invalid_json.json: index is not valid JSON [at byte 40]"}),
    [](const auto& info) {
        std::string name = info.param.path;
        name = name.substr(6, name.find('.') == std::string::npos ? std::string::npos : name.find('.') - 6);
        name.erase(std::remove(name.begin(), name.end(), '_'), name.end());
        return name;
    });

TEST(OpenModel, RejectsAnIndexNamingATensorItsShardDoesNotHold)
{
    const auto dir = std::filesystem::temp_directory_path() / "quantlens-model-test-index";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(kData / "synthetic" / "zeros.safetensors", dir / "a.safetensors");
    std::ofstream(dir / "model.safetensors.index.json")
        << R"({"weight_map": {"w": "a.safetensors", "lm_head.weight": "a.safetensors"}})";
    EXPECT_THAT([&] { openModel(dir); },
                ::testing::ThrowsMessage<FormatError>(
                    HasSubstr("tensor 'lm_head.weight' is not in shard 'a.safetensors' the index names")));
}

// A tensor named twice in weight_map would come from whichever shard is named last; refused. The
// same name under "metadata" is not a weight_map key and does not count.
TEST(OpenModel, RejectsAnIndexNamingATensorTwice)
{
    const auto dir = std::filesystem::temp_directory_path() / "quantlens-model-test-index-twice";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(kData / "synthetic" / "zeros.safetensors", dir / "a.safetensors");
    std::filesystem::copy_file(kData / "synthetic" / "zeros.safetensors", dir / "b.safetensors");
    std::ofstream(dir / "model.safetensors.index.json")
        << R"({"metadata": {"w": 1}, "weight_map": {"w": "a.safetensors", "w": "b.safetensors"}})";
    EXPECT_THAT([&] { openModel(dir); },
                ::testing::ThrowsMessage<FormatError>(
                    HasSubstr("model.safetensors.index.json: weight_map names tensor 'w' twice")));
    std::ofstream(dir / "model.safetensors.index.json")
        << R"({"metadata": {"w": 1}, "weight_map": {"w": "a.safetensors"}})";
    EXPECT_NO_THROW(openModel(dir));
    // A second weight_map would replace the first, and the tensors only it names.
    std::ofstream(dir / "model.safetensors.index.json")
        << R"({"weight_map": {"w": "a.safetensors"}, "weight_map": {"x": "b.safetensors"}})";
    EXPECT_THAT([&] { openModel(dir); },
                ::testing::ThrowsMessage<FormatError>(HasSubstr("the index names 'weight_map' twice")));
    std::filesystem::remove_all(dir);
}

TEST(MappedFile, HandsOutOnlyRangesInsideTheFile)
{
    const MappedFile file(kData / "synthetic" / "zeros.safetensors");
    EXPECT_EQ(file.bytes(0, 8, "header length").size(), 8u);
    EXPECT_THAT([&] { file.bytes(file.size() - 4, 8, "tensor 'w'"); },
                ::testing::ThrowsMessage<FormatError>(HasSubstr("data runs past the end of the file")));
    std::vector<std::byte> copy(8);
    file.read(0, copy, "header length");
    EXPECT_EQ(std::memcmp(copy.data(), file.all().data(), 8), 0);
    EXPECT_THAT([&] { file.read(file.size() - 4, copy, "tensor 'w'"); },
                ::testing::ThrowsMessage<FormatError>(HasSubstr("data runs past the end of the file")));
    EXPECT_THAT([&] { file.bytes(~0ull, 2, "x"); },
                ::testing::ThrowsMessage<FormatError>(HasSubstr("zeros.safetensors")));
}

// Every file the fuzzers kept (corpus and crashes, tests/data/fuzz/) replayed through the reader it
// was found with: it must parse or throw quantlens::Error; a crash fails the whole binary.
namespace {

// What safetensors_model_fuzzer does with an input that opens: every decodable tensor read at its
// start and at its last aligned start.
void readEveryTensor(const Model& model)
{
    std::vector<float> out;
    for (std::size_t i = 0; i < model.tensors().size(); ++i) {
        if (!model.canDequantize(i))
            continue;
        const auto n = model.tensors()[i].elementCount();
        const auto align = std::max<std::uint64_t>(1, model.blockAlignment(i));
        out.resize(std::size_t(std::min<std::uint64_t>(n, 4096)));
        model.readFloat(i, 0, out);
        const auto last = n == 0 ? 0 : (n - 1) / align * align;
        out.resize(std::size_t(std::min<std::uint64_t>(n - last, 4096)));
        model.readFloat(i, last, out);
    }
}

} // namespace

TEST(FuzzCorpus, EveryKeptInputParsesOrThrowsOurError)
{
    int replayed = 0;
    for (const char* reader : {"safetensors", "gguf", "config", "safetensors_model"}) {
        for (const auto& entry : std::filesystem::directory_iterator(kData / "fuzz" / reader)) {
            const MappedFile file(entry.path());
            const auto name = entry.path().filename().string();
            try {
                if (std::string(reader) == "safetensors")
                    parseSafetensorsHeader(file.all(), name);
                else if (std::string(reader) == "gguf")
                    parseGguf(file.all(), name);
                else if (std::string(reader) == "safetensors_model")
                    readEveryTensor(*openSafetensorsFile(entry.path()));
                else
                    parseHfConfig({reinterpret_cast<const char*>(file.all().data()), file.all().size()}, name);
            } catch (const quantlens::Error& e) {
                EXPECT_THAT(e.what(), HasSubstr(name));
            }
            ++replayed;
        }
    }
    EXPECT_GT(replayed, 20);
}
