#pragma once

#include "core/advise/advisor.h"
#include "core/eval/eval.h"
#include "core/model/model.h"
#include "core/planner/planner.h"
#include "core/planner/teaching_table.h"
#include "core/scan/cpu_benchmark.h"
#include "core/scan/scan.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

// What a report shows (issue 8), as one value struct that the CLI and the GUI fill and every writer
// (Markdown, CSV, JSON, HTML, PDF) reads. No Qt here: charts reach the HTML writer as SVG text.
namespace quantlens::core {

// Totals of one group of tensors (a role such as attn_q, or a dtype such as BF16).
struct ModelGroupTotal {
    std::string name;
    std::uint64_t tensors = 0;
    std::uint64_t parameters = 0;
    std::uint64_t bytes = 0;
};

struct ModelSummary {
    std::string path;
    std::string format; // "safetensors", "gguf", ...
    std::vector<std::string> files;
    ModelArchitecture architecture;
    std::uint64_t tensors = 0;
    std::uint64_t parameters = 0;
    std::uint64_t bytes = 0;
    std::vector<ModelGroupTotal> byRole; // largest first
    std::vector<ModelGroupTotal> byDtype; // largest first
    std::map<std::string, std::string> metadata; // from the file: untrusted text, escaped by writers
    std::string storedQuantization; // storedQuantizationNote: empty unless the weights are stored quantized
};

// Summarises an opened model (sums computed here from tensors(), not from the reader).
ModelSummary summarizeModel(const Model& model);

// One planner scenario with everything the planner view shows for it.
struct PlanScenario {
    std::string name; // "This plan"
    PlanInput input;
    PlanResult result;
    std::vector<Suggestion> suggestions;
    std::optional<std::int64_t> maxMicroBatch; // when a GPU is chosen
    std::optional<std::int64_t> maxSeqLen;
    std::vector<SweepPoint> seqSweep; // peak against sequence length
};

// Evaluates `input` and fills the suggestions, the searches (when a GPU is chosen) and a sweep of
// the sequence length over powers of two from 256 to 32768. Throws UsageError for invalid input.
// An empty `name` names the plan by its subject: planSubject().
PlanScenario makePlanScenario(const std::string& name, const PlanInput& input);

// What a plan is of, for a report's section title: "Llama-3.1-8B, QLoRA on 1 × NVIDIA GeForce RTX 4090",
// "stories260K (config.json), full fine-tuning, no GPU chosen".
std::string planSubject(const PlanInput& input, const PlanResult& result);

// A benchmark table as measured (CPU scan benchmark, GPU kernels): already formatted rows, since
// the GPU API may be absent from the build.
struct BenchRow {
    std::string name;
    std::string what;
    double value = 0.0;
    std::string unit; // "GB/s", "Mparam/s", "x"
};

struct BenchSection {
    std::string title; // "CPU scan benchmark", "GPU kernels on NVIDIA H100"
    std::vector<BenchRow> rows;
    std::vector<std::string> notes;
};

// The CPU scan benchmark as a report table (the GUI's Bench view and `report --bench cpu`).
BenchSection cpuBenchmarkSection(const CpuBenchmarkResult& result);
// "scan nf4 (avx512)": a row's name and the instruction set it ran on.
std::string cpuBenchmarkRowLabel(const CpuBenchmarkRow& row);

struct ReportEnvironment {
    std::string appVersion;
    std::string os; // "Linux 6.8.0 x86_64"
    std::string cpuModel;
    unsigned cpuThreads = 0;
    std::string gpuName; // empty when there is none
    std::string gpuDriver;
    std::string gpuNote; // why there is no GPU ("built without CUDA"), when gpuName is empty
};

// App version, OS (uname), CPU model (/proc/cpuinfo) and thread count. The GPU fields are left to
// the caller, which may link the GPU API.
ReportEnvironment collectEnvironment();

// Which parts a writer includes, when the data has them.
struct ReportSections {
    bool model = true;
    bool plans = true;
    bool teaching = true;
    bool errors = true;
    bool bench = true;
    bool quality = true;
    bool advice = true;
    bool environment = true;
};

struct ReportData {
    std::string title = "QuantLens report";
    std::string generatedAt; // ISO 8601 UTC, "2026-11-22T19:20:00Z"
    std::string commandLine; // the quantlens-cli line that regenerates the report
    ReportEnvironment environment;
    std::optional<ModelSummary> model;
    std::vector<PlanScenario> plans;
    std::optional<TeachingTable> teaching;
    std::optional<ScanResult> scan;
    std::vector<BenchSection> bench;
    std::optional<EvalResult> quality; // the model run against quantized variants (eval)
    std::string qualityCommandLine; // the quantlens-cli eval line that reproduces it
    std::optional<AdvisorResult> advice; // a per-tensor mix for a budget (advise)
    std::string adviceCommandLine; // the quantlens-cli advise line that reproduces it
};

// The current UTC time as ISO 8601 ("2026-11-22T19:20:00Z").
std::string utcTimestamp();

// The scan's schemes in the order they were measured.
std::vector<std::string> scanSchemes(const ScanResult& scan);

// The measured tensors of one scheme, largest relative error first (ties: by name), skipped ones
// last; `limit` 0 keeps them all.
std::vector<const TensorScanResult*> worstTensors(const ScanResult& scan, const std::string& scheme,
                                                  std::size_t limit = 0);

// The per-layer summaries of one scheme, in layer order.
std::vector<const ScanSummary*> layerSummaries(const ScanResult& scan, const std::string& scheme);

} // namespace quantlens::core
