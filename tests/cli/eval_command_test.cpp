#include "run_cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

using ::testing::AllOf;
using ::testing::HasSubstr;

namespace {

const std::string kData = QUANTLENS_TEST_DATA_DIR;
const std::string kModel = kData + "/stories260K/model.safetensors";

std::string tempFile(const std::string& name, const std::string& text)
{
    const auto path = std::filesystem::temp_directory_path() / ("quantlens-eval-cli-" + std::to_string(::getpid()) + name);
    std::ofstream(path) << text;
    return path.string();
}

} // namespace

TEST(EvalCommand, JsonHasTheDocumentedFieldsForSchemesFilesAndSensitivity)
{
    const CliResult r = runCli({"eval", kModel, "--sample", "2", "--length", "32", "--scheme", "nf4,q8_0", "--compare",
                                kData + "/stories260K/gguf/stories260K-q8_0.gguf", "--sensitivity", "role", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["tokens_scored"], 2 * 31);
    EXPECT_GT(j["baseline"]["perplexity"].get<double>(), 1.0);
    ASSERT_EQ(j["results"].size(), 3u);
    EXPECT_EQ(j["results"][0]["name"], "nf4");
    EXPECT_EQ(j["results"][2]["name"], "stories260K-q8_0.gguf");
    EXPECT_EQ(j["results"][2]["kind"], "file");
    for (const auto& c : j["results"]) {
        for (const char* key : {"name", "perplexity", "kl_mean", "kl_median", "kl_p99", "kl_max", "top1_agreement", "policy"})
            EXPECT_TRUE(c.contains(key)) << key;
    }
    // ggml's own q8_0 file and our q8_0 simulation of the BF16 model are close in KL (the file was
    // quantized from F32 weights, ours from their BF16 rounding, and ggml kept ffn_down in F32).
    EXPECT_LT(j["results"][2]["kl_mean"].get<double>(), 0.1);
    ASSERT_EQ(j["sensitivity"].size(), 7u);
    for (const auto& s : j["sensitivity"]) {
        for (const char* key : {"group", "scheme", "kl_mean", "top1_agreement"})
            EXPECT_TRUE(s.contains(key)) << key;
        EXPECT_EQ(s["scheme"], "nf4");
    }
}

TEST(EvalCommand, TextStatesThePolicyAndTheInput)
{
    const auto tokens = tempFile("ok.txt", "1 403 407 261 378 395\n1 32 300 45\n");
    const CliResult r = runCli({"eval", kModel, "--tokens", tokens, "--scheme", "q4_0"});
    std::filesystem::remove(tokens);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("2 sequences, 10 tokens"));
    EXPECT_THAT(r.out, HasSubstr("8 next-token predictions scored"));
    EXPECT_THAT(r.out, HasSubstr("llama-quantize --pure"));
    EXPECT_THAT(r.out, HasSubstr("5 tensors in f16 (rows of 172"));
}

TEST(EvalCommand, BadInputIsAClearErrorNamingFileAndLine)
{
    const auto bad = tempFile("bad.txt", "1 2 3\n1 600\n");
    CliResult r = runCli({"eval", kModel, "--tokens", bad});
    std::filesystem::remove(bad);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_THAT(r.err, AllOf(HasSubstr("bad.txt"), HasSubstr("line 2, column 3"), HasSubstr("vocabulary")));

    r = runCli({"eval", kModel, "--tokens", "x.txt", "--sample", "3"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("choose one input"));

    r = runCli({"eval", kModel, "--scheme", "nf5"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("nf5"));

    r = runCli({"eval", kModel, "--sensitivity", "layer"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("needs a scheme"));

    r = runCli({"eval", kModel, "--length", "600"});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("context of 512"));

    r = runCli({"eval", kData + "/stories260K/model.safetensors", "--compare", kData + "/synthetic/normal.safetensors"});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_THAT(r.err, HasSubstr("normal.safetensors"));
}

TEST(EvalCommand, HelpNamesTheInputsAndCtrlC)
{
    const CliResult r = runCli({"eval", "--help"});
    EXPECT_EQ(r.exitCode, 0);
    EXPECT_THAT(r.out, AllOf(HasSubstr("--tokens"), HasSubstr("--sample"), HasSubstr("--compare"),
                             HasSubstr("--sensitivity"), HasSubstr("Ctrl+C")));
}

TEST(EvalCommand, PlainTextGoesThroughTheModelsOwnTokenizer)
{
    const auto text = tempFile("story.txt", "Once upon a time, a little cat found a red ball in the garden.\n");
    CliResult r = runCli({"eval", kData + "/tokenizers/gguf/stories260K-spm.gguf", "--text", text, "--length", "8",
                          "--scheme", "q8_0", "--json"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_THAT(j["input"].get<std::string>(), AllOf(HasSubstr("story.txt"), HasSubstr("tokenized as llama.cpp does")));
    EXPECT_GT(j["tokens_scored"].get<int>(), 8);
    // A safetensors file with no tokenizer beside it says what was looked for.
    r = runCli({"eval", kModel, "--text", text});
    std::filesystem::remove(text);
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_THAT(r.err, HasSubstr("looked for tokenizer.model and tokenizer.json"));
}

TEST(EvalCommand, CtrlCStopsCleanly)
{
    // A run of several seconds, interrupted: the command says "cancelled" and exits 1, not killed by
    // the signal.
    const auto errPath = std::filesystem::temp_directory_path() / ("quantlens-eval-int-" + std::to_string(::getpid()));
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const int fd = ::open(errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::dup2(fd, 2);
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, 1);
        ::execl(QUANTLENS_CLI_PATH, "quantlens-cli", "eval", kModel.c_str(), "--scheme", "nf4,fp4,q4_0,q8_0,int8",
                "--sample", "64", "--length", "512", "--threads", "1", static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::sleep(3); // past start-up (the CLI loads Qt and CUDA libraries), inside the work
    ::kill(child, SIGINT);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    std::ifstream in(errPath);
    std::stringstream err;
    err << in.rdbuf();
    std::filesystem::remove(errPath);
    ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    EXPECT_EQ(WEXITSTATUS(status), 1);
    EXPECT_THAT(err.str(), HasSubstr("cancelled"));
}
