#include "command.h"
#include "progress_bar.h"

#include "core/eval/eval_benchmark.h"
#include "core/scan/cpu_benchmark.h"
#include "core/scan/scan_schemes.h"
#include "core/util/error.h"
#include "core/util/str_cat.h"
#include "core/util/text_list.h"
#include "core/util/units.h"
#include "gpu/benchmark.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

namespace quantlens::cli {

namespace {

struct BenchOptions {
    bool cpu = false;
    bool eval = false;
    std::uint64_t evalLayers = 1;
    std::string device = "cpu";
    bool json = false;
    unsigned threads = 0;
    std::uint64_t size = std::uint64_t(64) << 20;
    int repetitions = 3;
    std::string from; // a saved GPU result to print instead of measuring
    // Which of the CPU-only options the user gave (they mean nothing to the GPU benchmark).
    bool sizeGiven = false;
    bool threadsGiven = false;
    bool repetitionsGiven = false;
};

std::string fixed(const char* format, double value)
{
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, format, value);
    return buffer;
}

// The CPU benchmark: an NF4 scan of BF16 weights beside the memory-read bound, and the k-quants,
// on every instruction set this CPU has, one run.
void runCpuBench(const BenchOptions& options)
{
    core::CpuBenchmarkOptions cpu;
    cpu.parameters = options.size;
    cpu.threads = options.threads;
    cpu.repetitions = options.repetitions;
    cpu.everyInstructionSet = true;
    cpu.moreSchemes = core::makeScanSchemes("q4_k,q6_k", 64, false);
    core::ProgressSink sink;
    const auto schemes = core::makeScanSchemes("nf4", 64, false);
    const core::CpuBenchmarkResult r = core::runCpuBenchmark(cpu, schemes.front(), sink);

    if (options.json) {
        nlohmann::json out;
        out["device"] = "cpu";
        out["scheme"] = r.scheme;
        out["parameters"] = r.parameters;
        out["input_bytes"] = r.bytes;
        out["input_dtype"] = "BF16";
        out["threads"] = r.threads;
        out["repetitions"] = options.repetitions;
        out["instruction_set"] = r.instructionSet;
        out["instruction_sets"] = r.instructionSets;
        out["scan_parameters_per_second"] = r.scanParametersPerSecond;
        out["read_bound_parameters_per_second"] = r.readBoundParametersPerSecond;
        out["fraction_of_read_bound"] = r.fractionOfReadBound;
        out["scan_working_bytes"] = r.workingBytes;
        out["rows"] = nlohmann::json::array();
        for (const auto& row : r.rows)
            out["rows"].push_back(
                {{"name", row.name},
                 {"what", row.what},
                 {"instruction_set", row.instructionSet},
                 {"parameters", row.parameters},
                 {"seconds", row.seconds},
                 {"parameters_per_second", row.parametersPerSecond},
                 {"bytes_per_second", row.bytesPerSecond},
                 {"fraction_of_read_bound", row.parametersPerSecond / r.readBoundParametersPerSecond}});
        std::cout << out.dump(2) << "\n";
        return;
    }
    std::cout << "CPU benchmark: " << core::formatThousands(r.parameters) << " BF16 parameters ("
              << core::formatBinaryBytes(double(r.bytes)) << ") in memory, " << r.threads << " threads, best of "
              << options.repetitions << " runs each, measured one after the other\n";
    const std::string sets = joinList(r.instructionSets, ", ");
    std::cout << "Instruction sets on this CPU: " << sets << "; scans run on " << r.instructionSet
              << " (QUANTLENS_ISA=baseline|avx2|avx512 picks another)\n\n";
    // One line per stage, one column per instruction set, in M params/s.
    std::vector<std::string> stages;
    for (const auto& row : r.rows)
        if (std::find(stages.begin(), stages.end(), row.name) == stages.end())
            stages.push_back(row.name);
    std::string header = "  M params/s          ";
    for (const auto& set : r.instructionSets) {
        std::string column = set;
        column.insert(0, column.size() < 10 ? 10 - column.size() : 0, ' ');
        header += column;
    }
    std::cout << header << "   " << r.instructionSet << " / read bound\n";
    for (const auto& stage : stages) {
        std::string name = stage;
        name.resize(20, ' ');
        std::string line = "  " + name;
        std::string what;
        double activeRate = 0.0;
        for (const auto& set : r.instructionSets) {
            std::string cell = "";
            for (const auto& row : r.rows) {
                if (row.name != stage)
                    continue;
                what = row.what;
                if (row.instructionSet.empty()) { // the memory read: one figure, in the first column
                    if (&set == &r.instructionSets.front())
                        cell = fixed("%10.1f", row.parametersPerSecond / 1e6);
                    activeRate = row.parametersPerSecond;
                } else if (row.instructionSet == set) {
                    cell = fixed("%10.1f", row.parametersPerSecond / 1e6);
                    if (set == r.instructionSet)
                        activeRate = row.parametersPerSecond;
                }
            }
            line += cell.empty() ? std::string(10, ' ') : cell;
        }
        std::cout << line << fixed("%12.4f", activeRate / r.readBoundParametersPerSecond) << "   " << what << "\n";
    }
    std::cout << "\n"
              << r.scheme << " scan on " << r.instructionSet
              << " (quantize + dequantize + every metric): " << fixed("%.1f", r.scanParametersPerSecond / 1e6)
              << " M params/s = " << fixed("%.4f", r.fractionOfReadBound) << " of the memory-read bound ("
              << fixed("%.1f", r.readBoundParametersPerSecond / 1e6) << " M params/s); scan buffers "
              << core::formatBinaryBytes(double(r.workingBytes)) << "\n";
}

void printGpuResult(const gpu::GpuBenchmarkResult& result, bool json)
{
    if (json)
        std::cout << gpu::toJson(result).dump(2) << "\n";
    else
        std::cout << gpu::formatGpuBenchmark(result);
}

// The GPU benchmark lives in gpu/ (gpu/benchmark.h): its own shapes, warm-up and median of 50
// CUDA-event timings (--repetitions changes the 50); without a usable GPU it throws
// UnsupportedError naming the reason.
void runCudaBench(const BenchOptions& options)
{
    if (options.sizeGiven || options.threadsGiven)
        throw UsageError(strCat(options.sizeGiven ? "--size" : "--threads",
                                " applies to the CPU benchmark; the GPU benchmark measures its own weight shapes"));
    gpu::GpuBenchmarkOptions gpuOptions;
    if (options.repetitionsGiven)
        gpuOptions.repetitions = options.repetitions;
    printGpuResult(gpu::runGpuBenchmark(gpuOptions), options.json);
}

// The forward pass on synthetic Llama-3.2-1B-shaped weights against Eigen's GEMM rate, one run.
void runEvalBench(const BenchOptions& options)
{
    if (options.device != "cpu" || options.sizeGiven || options.repetitionsGiven || !options.from.empty())
        throw UsageError("--eval measures the CPU forward pass; it takes --threads and --eval-layers only");
    core::EvalBenchmarkOptions eval;
    eval.threads = options.threads;
    eval.layers = options.evalLayers;
    ProgressBar bar;
    core::ProgressSink sink([&bar](const core::Progress& p) { bar.update(p); });
    const auto r = core::runEvalBenchmark(eval, &sink);
    bar.finish();
    if (!options.json) {
        std::cout << core::formatEvalBenchmark(r);
        return;
    }
    nlohmann::json out;
    out["benchmark"] = "eval";
    out["threads"] = r.threads;
    out["sequences"] = r.sequences;
    out["sequence_length"] = r.sequenceLength;
    out["layers"] = r.layers;
    out["gemm_flops"] = r.gemmFlops;
    out["prefill_seconds"] = r.prefillSeconds;
    out["prefill_tokens_per_second"] = r.prefillTokensPerSecond;
    out["prefill_flops"] = r.prefillFlops;
    out["fraction_of_gemm"] = r.fractionOfGemm;
    out["head_flops"] = r.headFlops;
    out["block_weight_bytes"] = r.blockWeightBytes;
    out["activation_bytes"] = r.activationBytes;
    out["head_weight_bytes"] = r.headWeightBytes;
    out["logit_bytes"] = r.logitBytes;
    out["prefill_peak_growth_bytes"] = r.prefillPeakGrowthBytes;
    out["head_peak_growth_bytes"] = r.headPeakGrowthBytes;
    std::cout << out.dump(2) << "\n";
}

void runBench(const BenchOptions& options)
{
    if (options.eval) {
        runEvalBench(options);
        return;
    }
    if (options.cpu && options.device != "cpu")
        throw UsageError("--cpu and --device " + options.device + " contradict each other");
    if (!options.from.empty()) {
        if (options.cpu || options.sizeGiven || options.threadsGiven || options.repetitionsGiven)
            throw UsageError("--from prints saved results; it measures nothing, so it takes no --cpu, --size, "
                             "--threads or --repetitions");
        printGpuResult(gpu::loadGpuBenchmark(options.from), options.json);
        return;
    }
    if (options.size == 0)
        throw UsageError("--size must be at least 1 parameter");
    if (options.device == "cuda")
        runCudaBench(options);
    else
        runCpuBench(options);
}

} // namespace

void setupBenchCommand(CLI::App& app)
{
    auto options = std::make_shared<BenchOptions>();
    auto* sub
        = app.add_subcommand("bench", "Measure scan speed against the memory-read bound (CPU) or the GPU kernels");
    sub->add_flag("--cpu", options->cpu, "The CPU benchmark (the default): an NF4 scan of BF16 weights");
    sub->add_option("--device", options->device, "cpu or cuda")
        ->check(CLI::IsMember({"cpu", "cuda"}))
        ->capture_default_str();
    sub->add_flag("--eval", options->eval,
                  "The forward pass of eval: prefill of 512-token sequences through Llama-3.2-1B-shaped blocks "
                  "(synthetic weights) against this machine's fp32 GEMM rate, measured in the same run");
    sub->add_option("--eval-layers", options->evalLayers, "Blocks the --eval prefill runs (each costs the same)")
        ->check(CLI::Range(std::uint64_t(1), std::uint64_t(16)))
        ->capture_default_str();
    sub->add_flag("--json", options->json, "Machine-readable output");
    auto* threads = sub->add_option("--threads", options->threads, "Worker threads (default: all cores)")
                        ->check(CLI::Range(0u, 1024u));
    auto* size = sub->add_option("--size", options->size, "Parameters to scan, e.g. 64M (binary multiples)")
                     ->transform(CLI::AsSizeValue(false))
                     ->capture_default_str();
    auto* repetitions
        = sub->add_option("--repetitions", options->repetitions,
                          "Runs per measurement: the CPU keeps the best of them (default 3), the GPU their median "
                          "(default 50)")
              ->check(CLI::Range(1, 1000));
    sub->add_option("--from", options->from,
                    "Print GPU results saved earlier with --device cuda --json (as text, or checked JSON with "
                    "--json) instead of measuring");
    sub->callback([options, threads, size, repetitions] {
        options->threadsGiven = threads->count() > 0;
        options->sizeGiven = size->count() > 0;
        options->repetitionsGiven = repetitions->count() > 0;
        runBench(*options);
    });
}

} // namespace quantlens::cli
