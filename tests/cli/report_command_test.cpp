#include "run_cli.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <cstdio>

using ::testing::HasSubstr;

namespace {

const std::string kModel = std::string(QUANTLENS_SOURCE_DIR) + "/resources/examples/stories260K/model.safetensors";

class ReportCommand : public ::testing::Test {
protected:
    void SetUp() override
    {
        if (runCli({"--help"}).out.find("report") == std::string::npos)
            GTEST_SKIP() << "quantlens-cli was built without the UI (QUANTLENS_BUILD_UI=OFF): no report command";
        m_dir = std::filesystem::temp_directory_path() / ("quantlens-report-cli-" + std::to_string(::getpid()));
        std::filesystem::remove_all(m_dir);
        std::filesystem::create_directories(m_dir);
    }
    void TearDown() override { std::filesystem::remove_all(m_dir); }
    std::string file(const std::string& name) const { return (m_dir / name).string(); }
    static std::string read(const std::string& path)
    {
        std::ifstream in(path);
        std::stringstream ss;
        ss << in.rdbuf();
        return ss.str();
    }
    std::filesystem::path m_dir;
};

} // namespace

TEST_F(ReportCommand, WritesJsonWithTheModelScanPlanAndRegeneratingCommand)
{
    const auto out = file("r.json");
    const auto r = runCli(
        {"report", "--model", kModel, "--scheme", "nf4,int8", "--grad-checkpointing", "--gpu", "rtx-4090", "-o", out});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(read(out));
    EXPECT_EQ(j.at("schema_version"), 1);
    EXPECT_EQ(j.at("model").at("parameters"), 260032);
    EXPECT_EQ(j.at("model").at("tensors"), 47);
    EXPECT_EQ(j.at("errors").at("summary").size(), 2u);
    EXPECT_EQ(j.at("plans").at(0).at("gpu").at("id"), "rtx-4090");
    EXPECT_THAT(j.at("command_line").get<std::string>(),
                HasSubstr("quantlens-cli report --output " + out + " --model " + kModel + " --scheme nf4,int8"));
    EXPECT_THAT(j.at("command_line").get<std::string>(), HasSubstr("--gpu rtx-4090"));
    EXPECT_THAT(j.at("command_line").get<std::string>(), HasSubstr("--grad-checkpointing --gpu"))
        << "flags are written without a value";
    EXPECT_EQ(j.at("teaching").at("parameters"), 260032);
}

TEST_F(ReportCommand, WritesHtmlWithoutADisplay)
{
    const auto out = file("r.html");
    const auto r = runCli({"report", "--model", kModel, "-o", out});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto html = read(out);
    EXPECT_THAT(html, HasSubstr("<svg"));
    EXPECT_THAT(html, HasSubstr("260,032 parameters"));
}

TEST_F(ReportCommand, RefusesToReplaceAFileWithoutForceAndExitsTwo)
{
    const auto out = file("r.md");
    ASSERT_EQ(runCli({"report", "--params", "7B", "-o", out}).exitCode, 0);
    const auto again = runCli({"report", "--params", "7B", "-o", out});
    EXPECT_EQ(again.exitCode, 2);
    EXPECT_THAT(again.err, HasSubstr("r.md exists; use --force to replace it"));
    EXPECT_EQ(runCli({"report", "--params", "7B", "-o", out, "--force"}).exitCode, 0);
}

TEST_F(ReportCommand, NamesAnUnknownExtensionAndAnUnwritableFolder)
{
    const auto bad = runCli({"report", "--params", "7B", "-o", file("r.txt")});
    EXPECT_EQ(bad.exitCode, 2);
    EXPECT_THAT(bad.err, HasSubstr("use .html, .pdf, .md, .csv or .json"));
    const auto missing = runCli({"report", "--params", "7B", "-o", file("no/such/r.md")});
    EXPECT_EQ(missing.exitCode, 1);
    EXPECT_THAT(missing.err, HasSubstr("does not exist"));
    const auto typo = runCli({"report", "--model", file("nosuch.safetensors"), "-o", file("r.md")});
    EXPECT_EQ(typo.exitCode, 2);
    EXPECT_THAT(typo.err, HasSubstr("nosuch.safetensors: no such file"));
    const auto nothing = runCli({"report", "-o", file("r.md")});
    EXPECT_EQ(nothing.exitCode, 2);
    EXPECT_THAT(nothing.err, HasSubstr("nothing to report"));
}

TEST_F(ReportCommand, SplitsCsvIntoTensorAndPlannerFiles)
{
    const auto out = file("r.csv");
    const auto r = runCli({"report", "--model", kModel, "-o", out});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(read(out), HasSubstr("tensor,scheme,layer"));
    EXPECT_THAT(read(file("r-planner.csv")), HasSubstr("scenario,component,label"));
    EXPECT_THAT(r.err, HasSubstr("r-planner.csv"));
}

TEST_F(ReportCommand, BenchCpuAddsTheScanBenchmarkSection)
{
    const auto out = file("bench.json");
    const auto r = runCli({"report", "--bench", "cpu", "--bench-size", "1M", "--no-plan", "-o", out});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(read(out));
    ASSERT_EQ(j.at("bench").size(), 1u);
    EXPECT_EQ(j.at("bench").at(0).at("title"), "CPU scan benchmark");
    const auto& rows = j.at("bench").at(0).at("rows");
    ASSERT_EQ(rows.size(), 5u); // read bound, decode, metrics, scan, and the fraction
    EXPECT_EQ(rows.back().at("name"), "fraction of read bound");
    EXPECT_GT(rows.back().at("value").get<double>(), 0.0);
    EXPECT_LT(rows.back().at("value").get<double>(), 1.0);
    EXPECT_THAT(j.at("command_line").get<std::string>(), HasSubstr("--bench cpu --bench-size 1048576"));
}

// Results measured on a GPU machine become a report section on any machine, named as read, not measured.
TEST_F(ReportCommand, BenchFromAddsSavedGpuResults)
{
    const std::string saved = std::string(QUANTLENS_SOURCE_DIR) + "/docs/measurements/gpu-bench-h100-2026-11-23.json";
    const auto out = file("saved.md");
    const auto r = runCli({"report", "--bench-from", saved, "--no-plan", "-o", out});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const std::string md = read(out);
    EXPECT_THAT(md, HasSubstr("GPU kernels on NVIDIA H100 80GB HBM3"));
    EXPECT_THAT(md, HasSubstr("8192x28672 GEMV b16"));
    EXPECT_THAT(md, HasSubstr("read from " + saved + ", not measured by this report"));

    const auto bad = runCli({"report", "--bench-from", file("absent.json"), "--no-plan", "-o", file("bad.md")});
    EXPECT_EQ(bad.exitCode, 1);
    EXPECT_THAT(bad.err, HasSubstr("absent.json: cannot open"));
    EXPECT_FALSE(std::filesystem::exists(file("bad.md")));
}

TEST_F(ReportCommand, BenchSizeWithoutTheCpuBenchmarkIsRefused)
{
    const auto r = runCli({"report", "--bench-size", "1M", "--params", "7B", "-o", file("b.md")});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("--bench-size sizes the CPU benchmark"));
}

TEST_F(ReportCommand, CudaOptionsWithoutAGpuSayWhy)
{
    const auto bench = runCli({"report", "--bench", "cuda", "-o", file("b.json")});
    const auto scan = runCli({"report", "--model", kModel, "--device", "cuda", "-o", file("s.json")});
    if (bench.exitCode == 0)
        GTEST_SKIP() << "a GPU is present";
    EXPECT_EQ(bench.exitCode, 1);
    EXPECT_THAT(bench.err, HasSubstr("--bench cuda: "));
    EXPECT_EQ(scan.exitCode, 1);
    EXPECT_THAT(scan.err, HasSubstr("cannot scan on the GPU: "));
    EXPECT_FALSE(std::filesystem::exists(file("b.json")));
}

// What can fail without measuring fails before the scan: here a folder that does not exist.
TEST_F(ReportCommand, AMissingOutputFolderFailsBeforeAnythingIsMeasured)
{
    const auto r = runCli({"report", "--bench", "cpu", "--bench-size", "1M", "-o", file("nodir/x.md")});
    EXPECT_EQ(r.exitCode, 1);
    EXPECT_THAT(r.err, HasSubstr("the folder"));
    EXPECT_THAT(r.err, ::testing::Not(HasSubstr("M params/s"))); // nothing ran
}

TEST_F(ReportCommand, FlagsGivenAsFalseAreNotRegeneratedAsTrue)
{
    const auto out = file("ff.json");
    const auto r = runCli({"report", "--params", "7B", "--grad-checkpointing=false", "-o", out});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(read(out));
    EXPECT_THAT(j.at("command_line").get<std::string>(), ::testing::Not(HasSubstr("--grad-checkpointing")));
}

// The summary carries what inspect prints: how many values were left out as non-finite.
TEST_F(ReportCommand, NonFiniteValuesAreReportedBesideTheError)
{
    const auto out = file("nf.md");
    const auto r
        = runCli({"report", "--model", std::string(QUANTLENS_TEST_DATA_DIR) + "/synthetic/nonfinite.safetensors",
                  "--no-plan", "--policy", "every", "-o", out});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const std::string md = read(out);
    EXPECT_THAT(md, HasSubstr("| Non-finite |"));
    EXPECT_THAT(md, HasSubstr("nf4: 3 non-finite values (inf/NaN) in the weights and 125 produced by quantization"));
}

TEST_F(ReportCommand, AModelFileThatDoesNotExistIsNotTakenForAPreset)
{
    const auto r = runCli({"report", "--model", "mymodel.bin", "-o", file("m.md")});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("--model mymodel.bin: no such file"));
}

namespace {

// What a command prints on stdout ("" when it cannot run).
std::string commandOutput(const std::string& command)
{
    std::string out;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        char buffer[4096];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
            out.append(buffer, n);
        ::pclose(pipe);
    }
    return out;
}

} // namespace

// The example report as PDF (docs/examples): no page ends with a heading or with the sentence that
// introduces a table, its content on the next page. Before the PDF writer kept them together, page 3
// ended with "Scheme nf4" and page 4 with "Per layer under nf4 (...)".
TEST_F(ReportCommand, PdfKeepsHeadingsAndTableIntroductionsWithWhatFollows)
{
    if (commandOutput("command -v pdftotext").empty())
        GTEST_SKIP() << "poppler-utils (pdftotext) not installed";
    const std::string pdf = file("example.pdf");
    const CliResult r = runCli({"report", "--title", "QuantLens report: stories260K", "--model", kModel, "--scheme",
                                "nf4,int8", "--method", "qlora", "--gpu", "rtx-4090", "-o", pdf});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    int pages = 0;
    for (int page = 1; page < 50; ++page) {
        const std::string text = commandOutput("pdftotext -f " + std::to_string(page) + " -l " + std::to_string(page)
                                               + " '" + pdf + "' - 2>/dev/null");
        if (text.find("Page " + std::to_string(page) + " of") == std::string::npos)
            break;
        ++pages;
        // The last line of the body: the lines before the footer's title and page number.
        std::vector<std::string> lines;
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);)
            if (line.find_first_not_of(" \f") != std::string::npos && line.find("QuantLens report: stories260K") != 0
                && line.rfind("Page ", 0) != 0)
                lines.push_back(line);
        ASSERT_FALSE(lines.empty()) << "page " << page << " is empty";
        const std::string& last = lines.back();
        for (const char* heading :
             {"Scheme nf4", "Scheme int8", "Quantization error", "Teaching table", "Memory plan", "Benchmarks",
              "Environment", "Model", "Peak against sequence length", "To lower the peak"})
            EXPECT_NE(last, heading) << "page " << page << " ends with a heading";
        EXPECT_NE(last.rfind("Per layer under", 0), 0u) << "page " << page << " ends with: " << last;
        EXPECT_NE(last.rfind("Worst ", 0), 0u) << "page " << page << " ends with: " << last;
    }
    EXPECT_GE(pages, 4);
}

TEST_F(ReportCommand, ModelQualitySectionInEveryFormatWithItsEvalCommand)
{
    const std::vector<std::string> common {"report",
                                           "--model",
                                           kModel,
                                           "--no-plan",
                                           "--eval-scheme",
                                           "nf4,q8_0",
                                           "--eval-sensitivity",
                                           "layer",
                                           "--eval-sample",
                                           "2",
                                           "--eval-length",
                                           "24"};
    auto args = common;
    args.insert(args.end(), {"--no-scan", "-o", file("q.md")});
    auto r = runCli(args);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto md = read(file("q.md"));
    EXPECT_THAT(md, HasSubstr("## Model quality"));
    EXPECT_THAT(md, HasSubstr("| Model | Bits/param | Perplexity | KL mean |"));
    EXPECT_THAT(md, HasSubstr("### Sensitivity by layer under nf4"));
    EXPECT_THAT(md, HasSubstr("quantlens-cli eval"));
    EXPECT_THAT(md, HasSubstr("--scheme nf4,q8_0 --sensitivity layer --sample 2 --length 24 --seed 1"));

    args = common;
    args.insert(args.end(), {"--no-scan", "-o", file("q.html")});
    r = runCli(args);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto html = read(file("q.html"));
    EXPECT_THAT(html, HasSubstr("Model quality"));
    EXPECT_THAT(html, HasSubstr("Mean KL with one layer at a time in nf4")); // the sensitivity chart's title

    args = common;
    args.insert(args.end(), {"--no-scan", "-o", file("q.json")});
    r = runCli(args);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(read(file("q.json")));
    EXPECT_EQ(j.at("quality").at("results").size(), 2u);
    EXPECT_EQ(j.at("quality").at("sensitivity").size(), 5u);
    EXPECT_THAT(j.at("quality").at("command_line").get<std::string>(), HasSubstr("quantlens-cli eval "));

    // CSV: the scan's table in the file asked for, the quality table beside it.
    args = common;
    args.insert(args.end(), {"--scheme", "nf4", "-o", file("q.csv")});
    r = runCli(args);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(read(file("q.csv")), HasSubstr("tensor,scheme,layer"));
    const auto quality = read(file("q-quality.csv"));
    EXPECT_THAT(quality, HasSubstr("row,name,bits_per_parameter,perplexity,kl_mean"));
    EXPECT_THAT(quality, HasSubstr("scheme,nf4,"));
    EXPECT_THAT(quality, HasSubstr("sensitivity,layer 4 under nf4,"));

    r = runCli({"report", "--model", "llama-3.1-8b", "--eval-scheme", "nf4", "-o", file("x.md")});
    EXPECT_EQ(r.exitCode, 2);
    EXPECT_THAT(r.err, HasSubstr("--eval-scheme and --eval-compare need --model FILE"));
}

TEST_F(ReportCommand, NoQtWarningWithoutARuntimeFolderAndARegenerateLineThatRunsAnywhere)
{
    // Without XDG_RUNTIME_DIR (a server, a container) Qt would warn on stderr; the report makes its own.
    const auto out = file("x.md");
    const std::string command = "env -u XDG_RUNTIME_DIR " + shellQuote(QUANTLENS_CLI_PATH) + " report --model "
        + shellQuote(kModel) + " --scheme nf4 --no-plan -o " + shellQuote(out) + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
        output.append(buffer, n);
    EXPECT_EQ(::pclose(pipe), 0) << output;
    EXPECT_THAT(output, ::testing::Not(HasSubstr("XDG_RUNTIME_DIR")));
    // A relative model path is written absolute in the line that regenerates the report.
    const auto relative = std::filesystem::relative(kModel);
    const auto r
        = runCli({"report", "--model", relative.string(), "--no-plan", "--scheme", "nf4", "-o", file("y.json")});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(read(file("y.json")));
    EXPECT_THAT(j.at("command_line").get<std::string>(), HasSubstr("--model " + kModel));
}

TEST_F(ReportCommand, AdvisorSectionWithItsAdviseCommand)
{
    auto r = runCli({"report", "--model", kModel, "--no-plan", "--no-scan", "--advise-bits", "8", "-o", file("a.md")});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto md = read(file("a.md"));
    EXPECT_THAT(md, HasSubstr("## Mixed precision advisor"));
    EXPECT_THAT(md, HasSubstr("| llama.cpp Q4\\_K\\_M |"));
    EXPECT_THAT(md, HasSubstr("quantlens-cli advise"));
    EXPECT_THAT(md, HasSubstr("--bits-per-param 8 --family ggml"));
    r = runCli({"report", "--model", kModel, "--no-plan", "--no-scan", "--advise-bits", "8", "-o", file("a.json")});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto j = nlohmann::json::parse(read(file("a.json")));
    EXPECT_EQ(j.at("advice").at("assignment").size(), 36u);
    EXPECT_LE(j.at("advice").at("total_bytes").get<std::uint64_t>(), 260032u);
    r = runCli({"report", "--model", kModel, "--no-plan", "--no-scan", "--advise-bits", "8", "-o", file("a.html")});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(read(file("a.html")), HasSubstr("Total weight error against bits per parameter"));

    // CSV: the mix tensor by tensor, the types alone, llama.cpp's mixes and the frontier; with the
    // activation cost, its name on every row and in the headings.
    r = runCli({"report", "--model", kModel, "--no-plan", "--no-scan", "--advise-bits", "8", "--advise-cost",
                "activation", "-o", file("a.csv")});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    const auto csv = read(file("a.csv"));
    EXPECT_EQ(csv.rfind("row,name,layer,role,scheme,bytes,bits_per_parameter,cost,cost_kind\r\n", 0), 0u);
    EXPECT_THAT(csv, HasSubstr("tensor,model.embed_tokens.weight,,embedding,"));
    EXPECT_THAT(csv, HasSubstr("alone,q8_0,"));
    EXPECT_THAT(csv, HasSubstr("llama.cpp,llama.cpp Q4_K_M,"));
    EXPECT_THAT(csv, HasSubstr(",activation\r\nfrontier,"));
    r = runCli({"report", "--model", kModel, "--no-plan", "--no-scan", "--advise-bits", "8", "--advise-cost",
                "activation", "-o", file("b.md")});
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_THAT(read(file("b.md")), HasSubstr("| Activation-weighted error |"));
    EXPECT_THAT(read(file("b.md")), HasSubstr("--cost activation"));
}
