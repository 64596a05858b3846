#include "report_fixture.h"

#include "core/report/csv_report.h"
#include "core/report/html_report.h"
#include "core/report/markdown_report.h"
#include "core/report/report_format.h"
#include "core/report/report_json.h"
#include "core/report/report_text.h"
#include "core/report/text_escape.h"
#include "core/util/error.h"
#include "core/util/units.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>

using namespace quantlens;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::ThrowsMessage;

namespace {

// RFC 4180 reader for the round trips: quoted fields, doubled quotes, CRLF rows.
std::vector<std::vector<std::string>> parseCsv(const std::string& text)
{
    std::vector<std::vector<std::string>> rows(1);
    std::string field;
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            rows.back().push_back(field);
            field.clear();
        } else if (c == '\r') {
        } else if (c == '\n') {
            rows.back().push_back(field);
            field.clear();
            rows.emplace_back();
        } else {
            field += c;
        }
    }
    if (rows.back().empty())
        rows.pop_back();
    return rows;
}

std::size_t column(const std::vector<std::string>& header, const std::string& name)
{
    const auto it = std::find(header.begin(), header.end(), name);
    EXPECT_NE(it, header.end()) << name;
    return static_cast<std::size_t>(it - header.begin());
}

std::size_t unescapedPipes(const std::string& line)
{
    std::size_t n = 0;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == '|' && (i == 0 || line[i - 1] != '\\'))
            ++n;
    }
    return n;
}

} // namespace

TEST(ReportEscaping, HtmlTurnsMarkupIntoText)
{
    EXPECT_EQ(core::escapeHtml("<script>alert('x') & \"y\"</script>"),
              "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
    EXPECT_EQ(core::escapeHtml(std::string("a\x01z", 3)), "a\xEF\xBF\xBDz");
}

// A tensor name a spreadsheet would run as a formula stays text; numbers stay numbers.
TEST(ReportEscaping, CsvFieldsNeverStartAFormula)
{
    EXPECT_EQ(core::csvField("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
    EXPECT_EQ(core::csvField("+1+2"), "'+1+2");
    EXPECT_EQ(core::csvField("@SUM(A1)"), "'@SUM(A1)");
    EXPECT_EQ(core::csvField("-cmd"), "'-cmd");
    EXPECT_EQ(core::csvField("-1.5"), "-1.5");
    EXPECT_EQ(core::csvField("-"), "-");
    EXPECT_EQ(core::csvField("model.layers.0.q_proj.weight"), "model.layers.0.q_proj.weight");
}

TEST(ReportEscaping, ShellQuoteLeavesPlainWordsAndQuotesTheRest)
{
    EXPECT_EQ(core::shellQuote("tests/data/model.safetensors"), "tests/data/model.safetensors");
    EXPECT_EQ(core::shellQuote("--scheme=nf4,q4_0"), "--scheme=nf4,q4_0");
    EXPECT_EQ(core::shellQuote(""), "''");
    EXPECT_EQ(core::shellQuote("my model"), "'my model'");
    EXPECT_EQ(core::shellQuote("it's $HOME"), "'it'\\''s $HOME'");
    EXPECT_EQ(core::shellQuote("a;rm -rf ~"), "'a;rm -rf ~'");
}

TEST(ReportEscaping, MarkdownKeepsANameInsideItsTableCell)
{
    EXPECT_EQ(core::escapeMarkdown("a|b\nc"), "a\\|b c");
    EXPECT_EQ(core::escapeMarkdown("<img src=x>"), "&lt;img src=x&gt;");
    EXPECT_EQ(core::escapeMarkdown("**[x](y)**"), "\\*\\*\\[x\\](y)\\*\\*");
}

TEST(HtmlReport, ShowsATensorNamedScriptAsTextNeverAsAnElement)
{
    const auto html = core::htmlReport(reportfixture::reportFixture(), {});
    EXPECT_THAT(html, Not(HasSubstr("<script")));
    EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
    EXPECT_THAT(html, Not(HasSubstr("<b>bold</b>")));
    EXPECT_THAT(html, HasSubstr("&lt;b&gt;bold&lt;/b&gt;"));
}

TEST(HtmlReport, ContainsThePlannerPeakTheSchemesAndInlineCharts)
{
    const auto data = reportfixture::reportFixture();
    core::ReportCharts charts;
    charts.svg["breakdown/0"] = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>";
    const auto html = core::htmlReport(data, charts);
    EXPECT_THAT(html, HasSubstr(core::formatGB(double(data.plans[0].result.peakBytes))));
    EXPECT_THAT(html, HasSubstr("<h3>Scheme nf4</h3>"));
    EXPECT_THAT(html, HasSubstr("<figure><svg xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>"));
    EXPECT_THAT(html, Not(HasSubstr("<?xml")));
    EXPECT_THAT(html, Not(HasSubstr("src=\"http"))) << "no external resource";
}

TEST(HtmlReport, LeavesOutSectionsNotAskedFor)
{
    core::ReportSections sections;
    sections.errors = false;
    sections.teaching = false;
    const auto html = core::htmlReport(reportfixture::reportFixture(), {}, sections);
    EXPECT_THAT(html, Not(HasSubstr("Quantization error")));
    EXPECT_THAT(html, Not(HasSubstr("Teaching table")));
    EXPECT_THAT(html, HasSubstr("Memory plan"));
}

TEST(MarkdownReport, EscapesNamesAndKeepsEveryTableRowItsColumnCount)
{
    const auto md = core::markdownReport(reportfixture::reportFixture());
    EXPECT_THAT(md, Not(HasSubstr("<script")));
    EXPECT_THAT(md, HasSubstr("&lt;script&gt;alert(1)&lt;/script&gt;"));
    EXPECT_THAT(md, HasSubstr("&lt;b&gt;bold&lt;/b&gt; \\| pipe next line"));
    std::istringstream lines(md);
    std::string line;
    std::size_t expected = 0;
    while (std::getline(lines, line)) {
        if (line.empty() || line[0] != '|') {
            expected = 0;
            continue;
        }
        if (expected == 0)
            expected = unescapedPipes(line);
        EXPECT_EQ(unescapedPipes(line), expected) << line;
    }
}

TEST(MarkdownReport, ListsTheWorstTensorFirstAndTheTeachingTotals)
{
    const auto md = core::markdownReport(reportfixture::reportFixture());
    const auto worst = md.find("weird,&quot;quoted&quot; name");
    const auto next = md.find("&lt;script&gt;");
    ASSERT_NE(worst, std::string::npos);
    EXPECT_LT(worst, next);
    EXPECT_THAT(md, HasSubstr("98.00 GB"));
    EXPECT_THAT(md, HasSubstr("24.50 GB"));
    EXPECT_THAT(md, HasSubstr("Reduction: 75.0%"));
}

TEST(CsvReport, TensorTableRoundTripsToTheSameValues)
{
    const auto data = reportfixture::reportFixture();
    const auto rows = parseCsv(core::tensorErrorsCsv(*data.scan));
    ASSERT_EQ(rows.size(), 1 + data.scan->tensors.size());
    const auto& header = rows[0];
    const auto name = column(header, "tensor");
    const auto scheme = column(header, "scheme");
    const auto rel = column(header, "rel_error");
    const auto rmse = column(header, "rmse");
    const auto sqnr = column(header, "sqnr_db");
    std::size_t matched = 0;
    for (std::size_t r = 1; r < rows.size(); ++r) {
        ASSERT_EQ(rows[r].size(), header.size());
        for (const auto& t : data.scan->tensors) {
            if (t.name != rows[r][name] || t.scheme != rows[r][scheme])
                continue;
            EXPECT_EQ(std::stod(rows[r][rel]), t.error.relError);
            EXPECT_EQ(std::stod(rows[r][rmse]), t.error.rmse);
            EXPECT_EQ(std::stod(rows[r][sqnr]), t.error.sqnrDb);
            ++matched;
        }
    }
    EXPECT_EQ(matched, data.scan->tensors.size());
    EXPECT_EQ(rows[1][name], reportfixture::kCommaTensor) << "worst relative error first";
}

TEST(CsvReport, PlannerBreakdownSumsToThePeak)
{
    const auto data = reportfixture::reportFixture();
    const auto rows = parseCsv(core::plannerBreakdownCsv(data.plans));
    const auto& header = rows[0];
    const auto component = column(header, "component");
    const auto atPeak = column(header, "bytes_at_peak");
    std::uint64_t sum = 0;
    std::uint64_t peak = 0;
    for (std::size_t r = 1; r < rows.size(); ++r) {
        if (rows[r][component] == "peak")
            peak = std::stoull(rows[r][atPeak]);
        else
            sum += std::stoull(rows[r][atPeak]);
    }
    EXPECT_EQ(peak, data.plans[0].result.peakBytes);
    EXPECT_EQ(sum, data.plans[0].result.peakBytes);
}

TEST(JsonReport, RoundTripsToTheSameValuesWithASchemaVersion)
{
    const auto data = reportfixture::reportFixture();
    const auto parsed = nlohmann::json::parse(core::reportToJson(data).dump(2));
    EXPECT_EQ(parsed.at("schema_version"), core::kReportSchemaVersion);
    EXPECT_EQ(parsed.at("command_line"), data.commandLine);
    EXPECT_EQ(parsed.at("plans").at(0).at("peak_bytes").get<std::uint64_t>(), data.plans[0].result.peakBytes);
    EXPECT_EQ(parsed.at("plans").at(0).at("seq_sweep").size(), data.plans[0].seqSweep.size());
    EXPECT_EQ(parsed.at("model").at("metadata").at("note"), data.model->metadata.at("note"));
    const auto& tensors = parsed.at("errors").at("tensors");
    ASSERT_EQ(tensors.size(), data.scan->tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        EXPECT_EQ(tensors[i].at("name"), data.scan->tensors[i].name);
        EXPECT_EQ(tensors[i].at("rel_error").get<double>(), data.scan->tensors[i].error.relError);
        EXPECT_EQ(tensors[i].at("rmse").get<double>(), data.scan->tensors[i].error.rmse);
    }
    EXPECT_EQ(parsed.at("bench").at(0).at("rows").at(0).at("value").get<double>(), 12.5);
    // The GPUs the plan fits, as plan --json lists them.
    std::vector<std::string> fits;
    for (const auto& g : core::gpusThatFit(data.plans[0].input))
        fits.push_back(g.gpu.id);
    ASSERT_FALSE(fits.empty());
    EXPECT_EQ(parsed.at("plans").at(0).at("gpus_that_fit").get<std::vector<std::string>>(), fits);
}

// A scan of part of the model says which part, beside its numbers.
TEST(MarkdownReport, StatesTheFilterAndRolesOfAPartialScan)
{
    auto data = reportfixture::reportFixture();
    ASSERT_TRUE(data.scan.has_value());
    EXPECT_THAT(core::markdownReport(data), Not(HasSubstr("were scanned, not the whole model")));
    data.scan->filter = "layers\\.0\\.";
    data.scan->role = "attn_q,mlp_down";
    EXPECT_THAT(core::markdownReport(data),
                HasSubstr("of the roles attn\\_q,mlp\\_down were scanned, not the whole model"));
    EXPECT_THAT(core::markdownReport(data), HasSubstr("Only the tensors whose names match"));
}

TEST(ReportFormat, FollowsTheExtensionAndNamesAnUnknownOne)
{
    EXPECT_EQ(core::reportFormatFromPath("out/Report.HTML"), core::ReportFormat::Html);
    EXPECT_EQ(core::reportFormatFromPath("r.md"), core::ReportFormat::Markdown);
    EXPECT_EQ(core::reportFormatFromPath("r.pdf"), core::ReportFormat::Pdf);
    EXPECT_THAT([] { core::reportFormatFromPath("r.txt"); },
                ThrowsMessage<UsageError>(HasSubstr("extension '.txt': use .html, .pdf, .md, .csv or .json")));
    EXPECT_EQ(core::plannerCsvPath("out/report.csv"), std::filesystem::path("out/report-planner.csv"));
}

TEST(WorstTensors, SortsByRelativeErrorAndPutsSkippedLast)
{
    auto scan = *reportfixture::reportFixture().scan;
    scan.tensors[0].skipped = "cannot decode";
    const auto worst = core::worstTensors(scan, "nf4");
    ASSERT_EQ(worst.size(), 3u);
    EXPECT_EQ(worst[0]->name, reportfixture::kCommaTensor);
    EXPECT_EQ(worst[1]->name, "model.layers.1.mlp.up_proj.weight");
    EXPECT_EQ(worst[2]->name, reportfixture::kScriptTensor);
    EXPECT_EQ(core::worstTensors(scan, "nf4", 1).size(), 1u);
}

// The report's sweep reaches the longest sequence that fits and holds it, so that the chart's
// marker shows the number the text gives (stories260K on a 4090: over a million tokens).
TEST(ReportPlanScenario, SeqSweepHoldsTheLongestSequenceThatFits)
{
    core::PlanInput in;
    in.model = core::modelSpecFromConfigFile(std::string(QUANTLENS_TEST_DATA_DIR) + "/stories260K/config.json");
    in.gpu = "rtx-4090";
    const core::PlanScenario s = core::makePlanScenario("tiny", in);
    ASSERT_TRUE(s.maxSeqLen.has_value());
    EXPECT_GT(*s.maxSeqLen, 32768);
    bool holds = false;
    for (const auto& p : s.seqSweep)
        holds = holds || p.value == *s.maxSeqLen;
    EXPECT_TRUE(holds);
    EXPECT_GT(s.seqSweep.back().value, *s.maxSeqLen); // the curve crosses the capacity after it
    EXPECT_LE(s.seqSweep.size(), 20u);

    core::PlanInput noGpu = in;
    noGpu.gpu.clear();
    EXPECT_EQ(core::makePlanScenario("no gpu", noGpu).seqSweep.back().value, 32768);
}

// The regenerating command is broken between words only, each line but the last ending in " \",
// so that a PDF cannot break it at a hyphen and a paste is still one command.
TEST(ReportText, WrapCommandLineBreaksBetweenShellWordsOnly)
{
    const std::string line
        = "quantlens-cli report --output r.pdf --model 'my models/it'\\''s 7b.safetensors' "
          "--scheme nf4,int8 --method qlora --grad-checkpointing --lora-targets q,k,v,o,gate,up,down "
          "--gpu rtx-4090 --filter 'layers\\.0\\. q' -o report.html";
    const std::string wrapped = core::wrapCommandLine(line, 40);
    std::string rejoined = wrapped;
    for (std::size_t at; (at = rejoined.find(" \\\n    ")) != std::string::npos;)
        rejoined.replace(at, 7, " ");
    EXPECT_EQ(rejoined, line);
    std::istringstream lines(wrapped);
    int count = 0;
    for (std::string l; std::getline(lines, l); ++count) {
        const bool longWord
            = l.find("'my models") != std::string::npos || l.find("--lora-targets") != std::string::npos;
        if (!longWord) {
            EXPECT_LE(l.size(), 40u) << l;
        }
        EXPECT_EQ(l.find("--grad-\n"), std::string::npos);
    }
    EXPECT_GT(count, 4);
    EXPECT_NE(wrapped.find("'my models/it'\\''s 7b.safetensors'"), std::string::npos) << "a quoted word stays whole";
    EXPECT_EQ(core::wrapCommandLine("quantlens-cli plan", 88), "quantlens-cli plan");
}

// A scheme that could not store some tensors covers fewer of them in the summary table: the report
// says how many, how large, and why, under the table.
TEST(MarkdownReport, SaysWhichTensorsASchemeLeftOutAndWhy)
{
    auto data = reportfixture::reportFixture();
    ASSERT_TRUE(data.scan.has_value());
    ASSERT_FALSE(data.scan->tensors.empty());
    auto& t = data.scan->tensors.front();
    t.skipped = "rows of 172 values are not a whole number of Q4_0's 32-value blocks";
    t.elements = 11008;
    const auto md = core::markdownReport(data);
    EXPECT_THAT(md,
                HasSubstr(t.scheme
                          + ": 1 tensor (11,008 parameters) not measured and left out of its row: rows "
                            "of 172 values are not a whole number of Q4"))
        << md;
    const auto html = core::htmlReport(data, {});
    EXPECT_THAT(html, HasSubstr("1 tensor (11,008 parameters) not measured"));
}

TEST(MarkdownReport, AnUnknownArchitectureIsSaidToBeUnknownNotZero)
{
    auto data = reportfixture::reportFixture();
    data.model->architecture = {};
    data.model->architecture.tiedEmbeddings = true; // inferred from a missing lm_head, not from a config
    const auto md = core::markdownReport(data);
    EXPECT_THAT(md, HasSubstr("| architecture | unknown (no config.json or GGUF metadata) |"));
    EXPECT_THAT(md, Not(HasSubstr("tied embeddings")));
    EXPECT_THAT(md, Not(HasSubstr("| hidden size | 0 |")));
}

// #17 item 8: a plan section names its subject, not "This plan", and says when the plan is not of
// the report's model file (the Planner holds any model); a plan of that model says nothing more.
TEST(MarkdownReport, APlanSectionNamesItsSubjectAndWhetherItIsTheModelsFile)
{
    auto data = reportfixture::reportFixture();
    const auto md = core::markdownReport(data, {});
    EXPECT_THAT(md, HasSubstr("## Memory plan: 7.00 B parameters, qlora in bf16 on 1 × NVIDIA GeForce RTX 4090"));
    EXPECT_THAT(md, HasSubstr("This plan is for 7.00 B parameters, qlora in bf16 on 1 × NVIDIA GeForce RTX 4090 ("));
    EXPECT_THAT(md, HasSubstr("not for the model file of this report"));
    core::PlanInput same = data.plans.front().input;
    same.model = core::modelSpecFromParameterCount(data.model->parameters);
    data.plans = {core::makePlanScenario({}, same)};
    EXPECT_THAT(core::markdownReport(data, {}), Not(HasSubstr("not for the model file")));
}
