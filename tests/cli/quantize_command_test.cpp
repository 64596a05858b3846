#include "run_cli.h"

#include "core/eval/eval.h"
#include "core/eval/llama_config.h"
#include "core/model/model.h"
#include "core/quant/bnb_4bit.h"
#include "core/quant/calibration.h"
#include "core/quant/gptq.h"
#include "core/quant/scheme.h"
#include "core/util/float16.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace quantlens;
using ::testing::HasSubstr;

namespace {

const std::string kModel = std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/model.safetensors";

std::filesystem::path outputPath(const std::string& name)
{
    return std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()) + ".safetensors");
}

// Quantizes stories260K, opens the checkpoint with our readers and compares every tensor with our
// own quantize -> dequantize of the original: the 4-bit tensors exactly, the copied ones bit for bit.
void expectRoundTrip(const std::string& scheme, bool doubleQuant)
{
    const auto out = outputPath("quantize-" + scheme + (doubleQuant ? "-dq" : ""));
    std::filesystem::remove(out);
    std::initializer_list<std::string> args = {"quantize", kModel, "--scheme", scheme, "-o", out.string()};
    const CliResult r = doubleQuant
        ? runCli({"quantize", kModel, "--scheme", scheme, "--double-quant", "-o", out.string()})
        : runCli(args);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("35 linear weights"));

    const auto original = core::openModel(kModel);
    const auto quantized = core::openModel(out);
    const core::DType expected = scheme == "nf4" ? core::DType::NF4
        : scheme == "fp4"                        ? core::DType::FP4
                                                 : core::DType::LlmInt8;
    std::size_t fourBit = 0;
    for (std::size_t i = 0; i < original->tensors().size(); ++i) {
        const auto& t = original->tensors()[i];
        SCOPED_TRACE(t.name);
        const auto j = quantized->find(t.name);
        ASSERT_GE(j, 0);
        EXPECT_EQ(quantized->tensors()[std::size_t(j)].shape, t.shape);
        std::vector<float> values(t.elementCount()), read(t.elementCount());
        original->readFloat(i, 0, values);
        quantized->readFloat(std::size_t(j), 0, read);
        if (quantized->tensors()[std::size_t(j)].dtype == expected && scheme == "int8") {
            ++fourBit;
            // What inspect's llm-int8 measures is what the file holds, value for value.
            std::vector<float> direct(values.size());
            core::makeScheme("llm-int8")->roundTrip(values, direct, core::RoundTripContext {t.shape, 0, nullptr});
            EXPECT_EQ(read, direct);
        } else if (quantized->tensors()[std::size_t(j)].dtype == expected) {
            ++fourBit;
            core::Bnb4BitOptions options;
            options.type = scheme == "nf4" ? core::FourBitType::Nf4 : core::FourBitType::Fp4;
            options.doubleQuant = doubleQuant;
            std::vector<float> direct(values.size());
            core::dequantize4bit(core::quantize4bit(values, options), direct);
            EXPECT_EQ(read, direct);
        } else {
            EXPECT_EQ(quantized->tensors()[std::size_t(j)].dtype, t.dtype);
            EXPECT_EQ(read, values);
        }
    }
    EXPECT_EQ(fourBit, 35u); // 5 layers x (q, k, v, o, gate, up, down)
    EXPECT_EQ(quantized->tensors().size(), original->tensors().size());
    std::filesystem::remove(out);
}

} // namespace

TEST(QuantizeCommand, Nf4CheckpointReadsBackAsOurOwnDequantization)
{
    expectRoundTrip("nf4", false);
}

TEST(QuantizeCommand, Fp4WithDoubleQuantizationReadsBackAsOurOwnDequantization)
{
    expectRoundTrip("fp4", true);
}

TEST(QuantizeCommand, LlmInt8CheckpointReadsBackAsOurOwnRowwiseDequantization)
{
    expectRoundTrip("int8", false);
}

// Tensors are read and quantized a piece at a time (16 Mi values by default, more than any
// stories260K tensor holds); with pieces of about 1000 values every weight spans several, and the
// file must come out byte for byte the same.
TEST(QuantizeCommand, StreamingInSmallPiecesWritesTheSameFile)
{
    const std::vector<std::vector<std::string>> variants {
        {"--scheme", "nf4", "--double-quant"}, {"--scheme", "fp4", "--blocksize", "128"}, {"--scheme", "int8"}};
    for (const auto& variant : variants) {
        SCOPED_TRACE(variant[1]);
        const auto whole = outputPath("quantize-whole-" + variant[1]);
        const auto pieces = outputPath("quantize-pieces-" + variant[1]);
        std::vector<std::string> args {"quantize", kModel, "--force", "-o", whole.string()};
        args.insert(args.end(), variant.begin(), variant.end());
        const CliResult a = runCli(args);
        ASSERT_EQ(a.exitCode, 0) << a.err;
        args[4] = pieces.string();
        args.insert(args.end(), {"--chunk-elements", "1000"});
        const CliResult b = runCli(args);
        ASSERT_EQ(b.exitCode, 0) << b.err;
        std::ifstream fa(whole, std::ios::binary), fb(pieces, std::ios::binary);
        const std::string bytesA((std::istreambuf_iterator<char>(fa)), std::istreambuf_iterator<char>());
        const std::string bytesB((std::istreambuf_iterator<char>(fb)), std::istreambuf_iterator<char>());
        EXPECT_GT(bytesA.size(), 100000u);
        EXPECT_TRUE(bytesA == bytesB) << "sizes " << bytesA.size() << " and " << bytesB.size();
        std::filesystem::remove(whole);
        std::filesystem::remove(pieces);
    }
}

TEST(QuantizeCommand, RefusesToReplaceAFileWithoutForce)
{
    const auto out = outputPath("quantize-exists");
    std::filesystem::remove(out);
    {
        std::ofstream(out) << "keep me";
    }
    const CliResult refused = runCli({"quantize", kModel, "-o", out.string()});
    EXPECT_EQ(refused.exitCode, 2);
    EXPECT_THAT(refused.err, HasSubstr("--force"));
    EXPECT_EQ(std::filesystem::file_size(out), 7u);
    const CliResult forced = runCli({"quantize", kModel, "-o", out.string(), "--force"});
    EXPECT_EQ(forced.exitCode, 0) << forced.err;
    EXPECT_GT(std::filesystem::file_size(out), 7u);
    std::filesystem::remove(out);
}

TEST(QuantizeCommand, RejectsOtherSchemesAndBadBlocksizesAsUsageErrors)
{
    const auto out = outputPath("quantize-bad");
    const CliResult scheme = runCli({"quantize", kModel, "--scheme", "q4_0", "-o", out.string()});
    EXPECT_EQ(scheme.exitCode, 2);
    EXPECT_THAT(scheme.err, HasSubstr("nf4, fp4, int8 (the formats bitsandbytes checkpoints store) or gptq2"));
    const CliResult dq = runCli({"quantize", kModel, "--scheme", "int8", "--double-quant", "-o", out.string()});
    EXPECT_EQ(dq.exitCode, 2);
    EXPECT_THAT(dq.err, HasSubstr("--double-quant"));
    const CliResult blocksize = runCli({"quantize", kModel, "--blocksize", "48", "-o", out.string()});
    EXPECT_EQ(blocksize.exitCode, 2);
    EXPECT_THAT(blocksize.err, HasSubstr("48"));
    EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(QuantizeCommand, LlmInt8RefusesABlocksize)
{
    const auto out = outputPath("quantize-int8-blocksize");
    const CliResult r = runCli({"quantize", kModel, "--scheme", "int8", "--blocksize", "128", "-o", out.string()});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("--blocksize applies to nf4 and fp4"));
    EXPECT_FALSE(std::filesystem::exists(out));
}

// A GGUF model's names and row order are llama.cpp's: no transformers checkpoint can come of it.
TEST(QuantizeCommand, RefusesGgufInput)
{
    const auto out = outputPath("quantize-gguf");
    const std::string gguf = std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/model-f32.gguf";
    const CliResult r = runCli({"quantize", gguf, "-o", out.string()});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_THAT(r.err, HasSubstr("model-f32.gguf: quantize writes checkpoints for transformers from safetensors"));
    EXPECT_FALSE(std::filesystem::exists(out));
}

// A file without a linear weight is refused rather than copied whole under a quantized name.
TEST(QuantizeCommand, RefusesAModelWithNoLinearWeight)
{
    const auto out = outputPath("quantize-none");
    const std::string normal = std::string(QUANTLENS_TEST_DATA_DIR) + "/synthetic/normal.safetensors";
    const CliResult r = runCli({"quantize", normal, "-o", out.string()});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_THAT(r.err, HasSubstr("normal.safetensors: no linear weight to quantize"));
    EXPECT_FALSE(std::filesystem::exists(out));
}

// The scheme's name in any case, as inspect takes it. The output names the inspect command that
// measures exactly its layout (llm-int8 for int8).
TEST(QuantizeCommand, TakesTheSchemeInAnyCaseAndNamesInspectsScheme)
{
    const auto out = outputPath("quantize-upper");
    std::filesystem::remove(out);
    const CliResult r = runCli({"quantize", kModel, "--scheme", "NF4", "--double-quant", "-o", out.string()});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("--scheme nf4-dq --blocksize 64 --role "));
    std::filesystem::remove(out);
    const CliResult int8 = runCli({"quantize", kModel, "--scheme", "int8", "-o", out.string()});
    EXPECT_EQ(int8.exitCode, 0) << int8.err;
    EXPECT_THAT(int8.out, HasSubstr("quantlens-cli inspect " + kModel + " --scheme llm-int8 --role "));
    std::filesystem::remove(out);
}

// The inspect command quantize prints measures exactly the tensors it quantized: their roles, and
// ".weight" (not a bias of the same role), 35 weights and 226,560 parameters of stories260K.
TEST(QuantizeCommand, ThePrintedInspectCommandMeasuresExactlyTheQuantizedWeights)
{
    const auto out = outputPath("quantize-pointer");
    std::filesystem::remove(out);
    const CliResult r = runCli({"quantize", kModel, "--scheme", "fp4", "-o", out.string()});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    std::filesystem::remove(out);
    const std::string prefix = "Its quantization error: quantlens-cli ";
    const auto at = r.out.find(prefix);
    ASSERT_NE(at, std::string::npos) << r.out;
    const std::string line = r.out.substr(at + prefix.size(), r.out.find('\n', at) - at - prefix.size());
    std::vector<std::string> args; // shell words; only the filter is quoted, in single quotes
    std::istringstream words(line);
    for (std::string word; words >> word;)
        args.push_back(word.size() >= 2 && word.front() == '\'' ? word.substr(1, word.size() - 2) : word);
    EXPECT_EQ(args.size(), 10u) << line;
    args.push_back("--json");
    const CliResult inspect = runCli(std::vector<std::string>(args));
    ASSERT_EQ(inspect.exitCode, 0) << line << "\n" << inspect.err;
    const auto json = nlohmann::json::parse(inspect.out);
    EXPECT_EQ(json["summary"][0]["scheme"], "fp4");
    EXPECT_EQ(json["summary"][0]["tensors"], 35);
    EXPECT_EQ(json["summary"][0]["parameters"], 226560);
}

TEST(QuantizeCommand, RecipeKeepsItsSkipModulesAndWritesAFolderTransformersLoads)
{
    const auto folder = std::filesystem::temp_directory_path() / ("quantize-recipe-" + std::to_string(::getpid()));
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder);
    const auto recipe = folder / "bnb.json";
    std::ofstream(recipe) << R"({"load_in_4bit": true, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": true,
        "llm_int8_skip_modules": ["model.layers.1.mlp.down_proj", "self_attn.k_proj", "lm_head"]})";
    const auto out = folder / "mix";
    CliResult r = runCli({"quantize", kModel, "--recipe", recipe.string(), "-o", out.string()});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("29 linear weights"));
    EXPECT_THAT(r.out, HasSubstr("6 linear weights kept as stored"));
    EXPECT_THAT(r.out, HasSubstr("eval"));

    const auto original = core::openModel(kModel);
    const auto quantized = core::openModel(out / "model.safetensors");
    std::size_t kept = 0, fourBit = 0;
    for (const auto& t : original->tensors()) {
        const auto j = quantized->find(t.name);
        ASSERT_GE(j, 0) << t.name;
        const auto& q = quantized->tensors()[std::size_t(j)];
        const bool skip = t.name == "model.layers.1.mlp.down_proj.weight" || t.name.find("k_proj") != std::string::npos;
        if (q.dtype == core::DType::NF4) {
            ++fourBit;
            EXPECT_FALSE(skip) << t.name;
        } else if (skip) {
            ++kept;
            EXPECT_EQ(q.dtype, t.dtype) << t.name; // as stored
        }
    }
    EXPECT_EQ(fourBit, 29u);
    EXPECT_EQ(kept, 6u);
    std::ifstream configFile(out / "config.json");
    const auto config = nlohmann::json::parse(configFile);
    EXPECT_EQ(config["model_type"], "llama"); // the model's own config, with the quantization added
    EXPECT_EQ(config["quantization_config"]["quant_method"], "bitsandbytes");
    EXPECT_EQ(config["quantization_config"]["bnb_4bit_use_double_quant"], true);
    EXPECT_EQ(config["quantization_config"]["llm_int8_skip_modules"].size(), 3u);

    // Nothing the user had is replaced without --force, and the model's own folder is refused.
    r = runCli({"quantize", kModel, "--recipe", recipe.string(), "-o", out.string()});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("--force"));
    r = runCli({"quantize", kModel, "--recipe", recipe.string(), "-o",
                std::filesystem::path(kModel).parent_path().string(), "--force"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("own folder"));
    // The recipe sets the type: --scheme beside it is a usage error; a bad recipe names its field.
    r = runCli({"quantize", kModel, "--recipe", recipe.string(), "--scheme", "fp4", "-o", (folder / "x").string()});
    EXPECT_EQ(r.exitCode, 2);
    std::ofstream(recipe, std::ios::trunc) << R"({"load_in_4bit": true, "bnb_4bit_quant_type": "int4"})";
    r = runCli({"quantize", kModel, "--recipe", recipe.string(), "-o", (folder / "y").string()});
    EXPECT_NE(r.exitCode, 0);
    EXPECT_THAT(r.err, HasSubstr("bnb_4bit_quant_type"));
    EXPECT_FALSE(std::filesystem::exists(folder / "y"));
    std::filesystem::remove_all(folder);
}

TEST(QuantizeCommand, ABrokenConfigBesideTheModelIsRefusedBeforeAnyWeightIsWritten)
{
    const auto folder = std::filesystem::temp_directory_path() / ("quantize-bad-config-" + std::to_string(::getpid()));
    std::filesystem::remove_all(folder);
    std::filesystem::create_directories(folder / "model");
    std::filesystem::copy_file(kModel, folder / "model" / "model.safetensors");
    std::ofstream(folder / "model" / "config.json") << "{\"model_type\": \"llama\",";
    const CliResult r
        = runCli({"quantize", (folder / "model" / "model.safetensors").string(), "-o", (folder / "out").string()});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_THAT(r.err, HasSubstr("config.json"));
    EXPECT_THAT(r.err, HasSubstr("not valid JSON"));
    EXPECT_FALSE(std::filesystem::exists(folder / "out" / "model.safetensors"));
    std::filesystem::remove_all(folder);
}

// quantize --scheme gptq4 --blocksize 32 on stories260K: GPTQ's v1 layout for the weights it holds (q,
// k, v, o: 64 inputs; gate, up and down have 172 outputs or inputs, which do not pack into 32-bit words),
// the rest kept and named in modules_in_block_to_quantize; layer 0 reads back, value for value, as
// gptq4 simulates it on the same calibration (layer 0's inputs are the same sequential or not).
TEST(QuantizeCommand, GptqCheckpointInAutoGptqsLayout)
{
    const auto folder = std::filesystem::temp_directory_path() / ("quantize-gptq-" + std::to_string(::getpid()));
    std::filesystem::remove_all(folder);
    const CliResult r = runCli({"quantize", kModel, "--scheme", "gptq4", "--blocksize", "32", "-o", folder.string()});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("20 linear weights (61,440 parameters) in gptq4, group 32"));
    EXPECT_THAT(r.out, HasSubstr("mlp.down_proj (GPTQ's layout packs the inputs into whole 32-bit words"));
    EXPECT_THAT(r.out, HasSubstr("seed 1234"));
    EXPECT_THAT(r.out, HasSubstr("the simulation quantizes every Linear weight; this checkpoint keeps mlp.down_proj"));

    std::ifstream configFile(folder / "config.json");
    const auto config = nlohmann::json::parse(configFile);
    const auto& q = config.at("quantization_config");
    EXPECT_EQ(q.at("quant_method"), "gptq");
    EXPECT_EQ(q.at("checkpoint_format"), "gptq");
    EXPECT_EQ(q.at("bits"), 4);
    EXPECT_EQ(q.at("group_size"), 32);
    EXPECT_EQ(q.at("sym"), false);
    EXPECT_EQ(q.at("desc_act"), false);
    EXPECT_EQ(
        q.at("modules_in_block_to_quantize"),
        nlohmann::json::parse(R"([["self_attn.k_proj", "self_attn.o_proj", "self_attn.q_proj", "self_attn.v_proj"]])"));
    EXPECT_EQ(config.at("hidden_size"), 64); // the model's own config, with quantization_config added

    const auto original = core::openModel(kModel);
    const auto checkpoint = core::openModel(folder / "model.safetensors");
    EXPECT_LT(checkpoint->find("model.layers.0.self_attn.q_proj.weight"), 0);
    const auto tensor = [&](const std::string& name) -> const core::TensorInfo& {
        const auto i = checkpoint->find(name);
        EXPECT_GE(i, 0) << name;
        return checkpoint->tensors().at(std::size_t(i));
    };
    EXPECT_EQ(tensor("model.layers.0.self_attn.q_proj.qweight").shape, (std::vector<std::uint64_t> {8, 64}));
    EXPECT_EQ(tensor("model.layers.0.self_attn.q_proj.qweight").dtype, core::DType::I32);
    EXPECT_EQ(tensor("model.layers.0.self_attn.k_proj.qzeros").shape, (std::vector<std::uint64_t> {2, 4}));
    EXPECT_EQ(tensor("model.layers.0.self_attn.q_proj.scales").dtype, core::DType::F16);
    EXPECT_EQ(tensor("model.layers.0.self_attn.q_proj.g_idx").shape, (std::vector<std::uint64_t> {64}));
    const auto down = std::size_t(checkpoint->find("model.layers.4.mlp.down_proj.weight"));
    const auto downOriginal = std::size_t(original->find("model.layers.4.mlp.down_proj.weight"));
    EXPECT_TRUE(std::ranges::equal(checkpoint->rawBytes(down), original->rawBytes(downOriginal)));

    // Layer 0's q_proj read back as AutoGPTQ's forward does.
    const auto ints = [&](const std::string& name) {
        const auto bytes = checkpoint->rawBytes(std::size_t(checkpoint->find(name)));
        std::vector<std::uint32_t> v(bytes.size() / 4);
        std::memcpy(v.data(), bytes.data(), bytes.size());
        return v;
    };
    const auto qweight = ints("model.layers.0.self_attn.q_proj.qweight");
    const auto qzeros = ints("model.layers.0.self_attn.q_proj.qzeros");
    const auto scaleBytes
        = checkpoint->rawBytes(std::size_t(checkpoint->find("model.layers.0.self_attn.q_proj.scales")));
    std::vector<std::uint16_t> scales(scaleBytes.size() / 2);
    std::memcpy(scales.data(), scaleBytes.data(), scaleBytes.size());
    const std::uint64_t n = 64, k = 64;
    std::vector<float> read(n * k);
    for (std::uint64_t o = 0; o < n; ++o) {
        for (std::uint64_t i = 0; i < k; ++i) {
            const std::uint64_t g = i / 32;
            const std::uint32_t code = (qweight[(i / 8) * n + o] >> (4 * (i % 8))) & 15u;
            const std::uint32_t zero = ((qzeros[g * 8 + o / 8] >> (4 * (o % 8))) & 15u) + 1u;
            read[o * k + i] = core::fp16ToFloat(scales[g * n + o]) * (float(code) - float(zero));
        }
    }
    const auto llama = core::llamaConfigFor(*original);
    const auto calibration = core::collectCalibration(*original, core::sampleCalibrationTokens(*original, llama, 2), 2);
    const auto qIndex = std::size_t(original->find("model.layers.0.self_attn.q_proj.weight"));
    std::vector<float> w(n * k), expected(n * k);
    original->readFloat(qIndex, 0, w);
    core::GptqOptions options;
    options.groupSize = 32;
    core::gptqQuantize(w, n, k, *calibration.find(qIndex)->gptqFactor(options), options, expected);
    EXPECT_EQ(read, expected);
    std::filesystem::remove_all(folder);
}

TEST(QuantizeCommand, GptqSaysWhenNoWeightFitsItsLayout)
{
    const auto out = outputPath("quantize-gptq-g128");
    const CliResult r = runCli({"quantize", kModel, "--scheme", "gptq4", "-o", out.string()});
    EXPECT_NE(r.exitCode, 0);
    EXPECT_THAT(r.err, HasSubstr("no Linear weight fits GPTQ's layout at 4 bits and group size 128"));
    EXPECT_THAT(r.err, HasSubstr("a smaller --blocksize"));
    EXPECT_FALSE(std::filesystem::exists(out));
    const CliResult recipe
        = runCli({"quantize", kModel, "--scheme", "nf4", "--calibration", kModel, "-o", out.string()});
    EXPECT_NE(recipe.exitCode, 0);
    EXPECT_THAT(recipe.err, HasSubstr("--calibration applies to the gptq schemes"));
}
