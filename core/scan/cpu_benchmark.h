#pragma once

#include "core/scan/scan_scheme.h"
#include "core/util/progress.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace quantlens::core {

struct CpuBenchmarkOptions {
    std::uint64_t parameters = std::uint64_t(64) << 20; // BF16 weights, in tensors of 16 Mi
    unsigned threads = 0; // 0: one per hardware thread
    int repetitions = 3; // each rate is the best of this many runs
    // Measure the stages on every instruction set this CPU has (core/simd/instruction_set.h), not
    // only on the active one.
    bool everyInstructionSet = false;
    // Further schemes scanned after the main one (slower ones: over the first tensor only, at most
    // 16 Mi parameters), e.g. the k-quants.
    std::vector<std::shared_ptr<const ScanScheme>> moreSchemes;
};

// One measured rate.
struct CpuBenchmarkRow {
    std::string name;
    std::string what;
    std::string instructionSet; // the kernels' set it ran on; empty for the memory read
    std::uint64_t parameters = 0; // measured in this row
    double seconds = 0.0; // best run
    double parametersPerSecond = 0.0;
    double bytesPerSecond = 0.0; // of BF16 input read
};

struct CpuBenchmarkResult {
    std::uint64_t parameters = 0;
    std::uint64_t bytes = 0;
    unsigned threads = 0;
    std::string scheme;
    std::string instructionSet; // the active one: what scans run on, and what the summary figures are
    std::vector<std::string> instructionSets; // measured, baseline first
    // In order: memory read (the bound), then per instruction set: read + decode to float, read +
    // metrics with no quantization, the full scan under the scheme, and under each of moreSchemes.
    // Measured one after the other in the same run.
    std::vector<CpuBenchmarkRow> rows;
    double scanParametersPerSecond = 0.0; // the main scheme on the active set
    double readBoundParametersPerSecond = 0.0;
    double fractionOfReadBound = 0.0; // scan / read bound
    std::uint64_t workingBytes = 0; // the scan's own buffers and accumulators
};

// The CPU benchmark: scan an in-memory BF16 model of normal(0, 0.02) weights under `scheme`
// (quantize + dequantize + every metric, exactly what inspect does) and compare its rate with the
// rate of merely reading the same bytes on the same threads. Throws CancelledError when cancelled.
CpuBenchmarkResult runCpuBenchmark(const CpuBenchmarkOptions& options, std::shared_ptr<const ScanScheme> scheme,
                                   ProgressSink& sink);

} // namespace quantlens::core
