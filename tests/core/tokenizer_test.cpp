#include "core/eval/eval.h"
#include "core/eval/llama_config.h"
#include "core/eval/tokenizer.h"
#include "core/model/model.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

// Our tokenizers against token ids made by each tokenizer's own reference implementation
// (tests/data/tokenizers/README.md says how): SentencePiece's Python binding for tokenizer.model,
// Hugging Face tokenizers for tokenizer.json, and the same ids for the GGUF files that embed those
// vocabularies, which llama.cpp tokenizes to match.
using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

const std::string kData = QUANTLENS_TEST_DATA_DIR;
const std::string kTok = kData + "/tokenizers";

struct Case {
    std::string text;
    std::vector<std::int32_t> ids;
};

std::vector<Case> expected(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::vector<Case> cases;
    for (const auto& c : nlohmann::json::parse(ss.str()))
        cases.push_back({c.at("text").get<std::string>(), c.at("ids").get<std::vector<std::int32_t>>()});
    return cases;
}

void expectAll(const Tokenizer& tokenizer, const std::vector<Case>& cases)
{
    ASSERT_FALSE(cases.empty());
    for (const auto& c : cases)
        EXPECT_EQ(tokenizer.encode(c.text), c.ids) << "text: '" << c.text << "' (" << tokenizer.description() << ")";
}

} // namespace

TEST(Tokenizer, SentencePieceModelMatchesSentencePiece)
{
    const auto tokenizer = loadTokenizerFile(kTok + "/spm/tokenizer.model", 1);
    EXPECT_EQ(tokenizer->bos(), 1);
    expectAll(*tokenizer, expected(kTok + "/spm/expected.json"));
}

TEST(Tokenizer, TokenizerJsonMatchesHuggingFaceTokenizers)
{
    const auto tokenizer = loadTokenizerFile(kTok + "/bpe/tokenizer.json");
    expectAll(*tokenizer, expected(kTok + "/bpe/expected.json"));
}

TEST(Tokenizer, GgufLlamaVocabularyMatchesSentencePiece)
{
    const auto model = openModel(kTok + "/gguf/stories260K-spm.gguf");
    const auto tokenizer = loadTokenizer(*model);
    EXPECT_THAT(tokenizer->description(), HasSubstr("llama.cpp"));
    EXPECT_EQ(tokenizer->bos(), 1);
    expectAll(*tokenizer, expected(kTok + "/spm/expected.json"));
}

TEST(Tokenizer, GgufGpt2VocabularyMatchesHuggingFaceTokenizers)
{
    const auto model = openModel(kTok + "/gguf/stories260K-bpe.gguf");
    const auto tokenizer = loadTokenizer(*model);
    EXPECT_THAT(tokenizer->description(), HasSubstr("byte-level BPE"));
    expectAll(*tokenizer, expected(kTok + "/bpe/expected.json"));
}

TEST(Tokenizer, TextFilesAreCutIntoSequencesWithBos)
{
    const auto model = openModel(kTok + "/gguf/stories260K-spm.gguf");
    const auto tokenizer = loadTokenizer(*model);
    const auto path
        = std::filesystem::temp_directory_path() / ("quantlens-text-" + std::to_string(::getpid()) + ".txt");
    std::ofstream(path) << "Once upon a time there was a little dog. It liked to run in the park with its friend.\n";
    const auto all = tokenizer->encode("Once upon a time there was a little dog. It liked to run in the park with its "
                                       "friend.\n");
    const auto set = tokenizeTextFile(*tokenizer, path, 8, 0, 512);
    ASSERT_FALSE(set.sequences.empty());
    std::vector<std::int32_t> joined;
    for (const auto& s : set.sequences) {
        EXPECT_EQ(s.front(), 1);
        EXPECT_LE(s.size(), 8u);
        joined.insert(joined.end(), s.begin() + 1, s.end());
    }
    EXPECT_EQ(joined, all);
    EXPECT_EQ(tokenizeTextFile(*tokenizer, path, 8, 2, 512).sequences.size(), 2u);
    EXPECT_THAT(set.source, HasSubstr("llama.cpp"));
    // A vocabulary larger than the model's is refused, naming the file.
    EXPECT_THAT([&] { tokenizeTextFile(*tokenizer, path, 8, 0, 100); },
                ThrowsMessage<UnsupportedError>(HasSubstr("outside the model's vocabulary of 100")));
    std::filesystem::remove(path);
    // The model runs on it.
    EvalOptions options;
    const auto r = runEval(*model, set, options);
    EXPECT_GT(r.baselinePerplexity, 1.0);
}

TEST(Tokenizer, FilesWithoutATokenizerSayWhatWasLookedFor)
{
    const auto safetensors = openModel(kData + "/stories260K/model.safetensors");
    EXPECT_THAT([&] { loadTokenizer(*safetensors); },
                ThrowsMessage<UnsupportedError>(HasSubstr("looked for tokenizer.model and tokenizer.json")));
    // The fixture GGUF's placeholder vocabulary is a "llama" one: it tokenizes (bytes, mostly).
    const auto gguf = openModel(kData + "/stories260K/model-f32.gguf");
    EXPECT_NO_THROW(loadTokenizer(*gguf));
    const auto kquants = openModel(kData + "/stories260K/gguf/stories260K-kquants.gguf");
    EXPECT_THAT([&] { loadTokenizer(*kquants); }, ThrowsMessage<UnsupportedError>(HasSubstr("no tokenizer")));
}
