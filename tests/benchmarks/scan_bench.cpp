#include "core/metrics/error_accumulator.h"
#include "core/metrics/value_histogram.h"
#include "core/scan/cpu_benchmark.h"
#include "core/scan/scan_schemes.h"

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

// The pieces of a scan, per element, so that a regression shows where it is; the whole scan
// against the memory-read bound is `quantlens-cli bench --cpu` (core/scan/cpu_benchmark.h), also
// run here so that both appear in one run.
namespace {

using namespace quantlens::core;

constexpr std::size_t kChunk = 1 << 16;

struct Chunk {
    std::vector<float> original;
    std::vector<float> reconstructed;
    Chunk()
        : original(kChunk)
        , reconstructed(kChunk)
    {
        std::mt19937 rng(1);
        std::normal_distribution<float> w(0.0f, 0.02f), e(0.0f, 0.001f);
        for (std::size_t i = 0; i < kChunk; ++i) {
            original[i] = w(rng);
            reconstructed[i] = original[i] + e(rng);
        }
    }
};

const Chunk& chunk()
{
    static const Chunk c;
    return c;
}

void errorAccumulatorAdd(benchmark::State& state)
{
    ErrorAccumulator acc;
    for (auto _ : state) {
        acc.add(chunk().original, chunk().reconstructed);
        benchmark::DoNotOptimize(acc);
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * kChunk));
}
BENCHMARK(errorAccumulatorAdd);

void weightHistogramAdd(benchmark::State& state)
{
    ValueHistogram h(-0.1, 0.1, 64);
    for (auto _ : state) {
        h.add(chunk().original);
        benchmark::DoNotOptimize(h);
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * kChunk));
}
BENCHMARK(weightHistogramAdd);

void schemeRoundTrip(benchmark::State& state, const char* id)
{
    const auto scheme = makeScanSchemes(id, 64, false).front();
    std::vector<float> out(kChunk);
    for (auto _ : state) {
        scheme->roundTrip(chunk().original, out, 0, {});
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * kChunk));
}
BENCHMARK_CAPTURE(schemeRoundTrip, nf4, "nf4");

// The CPU benchmark itself, 16 Mi parameters: counters give the scan rate and its fraction of
// the read bound measured in the same iteration.
void cpuBenchmarkNf4(benchmark::State& state)
{
    CpuBenchmarkOptions options;
    options.parameters = std::uint64_t(16) << 20;
    options.repetitions = 1;
    const auto scheme = makeScanSchemes("nf4", 64, false).front();
    ProgressSink sink;
    CpuBenchmarkResult r;
    for (auto _ : state)
        r = runCpuBenchmark(options, scheme, sink);
    state.counters["scan_Mparams_per_s"] = r.scanParametersPerSecond / 1e6;
    state.counters["read_bound_Mparams_per_s"] = r.readBoundParametersPerSecond / 1e6;
    state.counters["fraction_of_read_bound"] = r.fractionOfReadBound;
}
BENCHMARK(cpuBenchmarkNf4)->Unit(benchmark::kMillisecond)->Iterations(1);

} // namespace
