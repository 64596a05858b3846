#include "core/metrics/error_accumulator.h"
#include "core/metrics/value_histogram.h"
#include "core/quant/ggml_quantize.h"
#include "core/quant/ggml_types.h"
#include "core/scan/cpu_benchmark.h"
#include "core/scan/scan_schemes.h"
#include "core/simd/instruction_set.h"

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

// Each benchmark runs on one instruction set (core/simd/instruction_set.h); one this CPU lacks is skipped.
bool useSet(benchmark::State& state, InstructionSet set)
{
    if (int(set) > int(detectedInstructionSet())) {
        state.SkipWithError("this CPU lacks the instruction set");
        return false;
    }
    setInstructionSet(set);
    return true;
}

void errorAccumulatorAdd(benchmark::State& state, InstructionSet set)
{
    if (!useSet(state, set))
        return;
    ErrorAccumulator acc;
    for (auto _ : state) {
        acc.add(chunk().original, chunk().reconstructed);
        benchmark::DoNotOptimize(acc);
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * kChunk));
}

// Q(x) = x: every |error| in bin 0, the worst case for the histogram's increments.
void errorAccumulatorAddExact(benchmark::State& state, InstructionSet set)
{
    if (!useSet(state, set))
        return;
    ErrorAccumulator acc;
    for (auto _ : state) {
        acc.add(chunk().original, chunk().original);
        benchmark::DoNotOptimize(acc);
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * kChunk));
}

void weightHistogramAdd(benchmark::State& state, InstructionSet set)
{
    if (!useSet(state, set))
        return;
    ValueHistogram h(-0.1, 0.1, 64);
    for (auto _ : state) {
        h.add(chunk().original);
        benchmark::DoNotOptimize(h);
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * kChunk));
}

void schemeRoundTrip(benchmark::State& state, const char* id, InstructionSet set)
{
    if (!useSet(state, set))
        return;
    const auto scheme = makeScanSchemes(id, 64, false).front();
    std::vector<float> out(kChunk);
    const std::vector<std::uint64_t> shape {kChunk / 4096, 4096};
    // Schemes with a whole-tensor statistic (int8's absmax) get the chunk's, as the scan's first pass gives it.
    const TensorStatistics statistics
        = scheme->needsTensorStatistics() ? scheme->chunkStatistics(chunk().original, shape) : TensorStatistics {};
    for (auto _ : state) {
        scheme->roundTrip(chunk().original, out, shape, 0, statistics);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * kChunk));
}

// ggml's k-quant quantizers alone: the scalar Ref loops (ggml's order, one group at a time) beside the
// same bytes from the kernels, per set.
using RowQuantizer = void (*)(std::span<const float>, std::span<std::byte>);
void kQuantize(benchmark::State& state, DType type, RowQuantizer quantize, InstructionSet set)
{
    if (!useSet(state, set))
        return;
    std::vector<std::byte> out(ggmlByteSize(type, kChunk));
    for (auto _ : state) {
        quantize(chunk().original, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * kChunk));
}
#define QUANTLENS_KQUANT(name, type, fast, ref)                                                                        \
    BENCHMARK_CAPTURE(kQuantize, name##_ref_scalar, DType::type, ref, InstructionSet::Baseline);                       \
    BENCHMARK_CAPTURE(kQuantize, name##_baseline, DType::type, fast, InstructionSet::Baseline);                        \
    BENCHMARK_CAPTURE(kQuantize, name##_avx2, DType::type, fast, InstructionSet::Avx2);                                \
    BENCHMARK_CAPTURE(kQuantize, name##_avx512, DType::type, fast, InstructionSet::Avx512)
QUANTLENS_KQUANT(q2_k, Q2_K, quantizeRowQ2K, quantizeRowQ2KRef);
QUANTLENS_KQUANT(q3_k, Q3_K, quantizeRowQ3K, quantizeRowQ3KRef);
QUANTLENS_KQUANT(q4_k, Q4_K, quantizeRowQ4K, quantizeRowQ4KRef);
QUANTLENS_KQUANT(q5_k, Q5_K, quantizeRowQ5K, quantizeRowQ5KRef);
QUANTLENS_KQUANT(q6_k, Q6_K, quantizeRowQ6K, quantizeRowQ6KRef);

#define QUANTLENS_PER_SET(fn)                                                                                          \
    BENCHMARK_CAPTURE(fn, baseline, InstructionSet::Baseline);                                                         \
    BENCHMARK_CAPTURE(fn, avx2, InstructionSet::Avx2);                                                                 \
    BENCHMARK_CAPTURE(fn, avx512, InstructionSet::Avx512)
QUANTLENS_PER_SET(errorAccumulatorAdd);
QUANTLENS_PER_SET(errorAccumulatorAddExact);
QUANTLENS_PER_SET(weightHistogramAdd);
#define QUANTLENS_SCHEME_PER_SET(name)                                                                                 \
    BENCHMARK_CAPTURE(schemeRoundTrip, name##_baseline, #name, InstructionSet::Baseline);                              \
    BENCHMARK_CAPTURE(schemeRoundTrip, name##_avx2, #name, InstructionSet::Avx2);                                      \
    BENCHMARK_CAPTURE(schemeRoundTrip, name##_avx512, #name, InstructionSet::Avx512)
QUANTLENS_SCHEME_PER_SET(nf4);
QUANTLENS_SCHEME_PER_SET(dyn8);
QUANTLENS_SCHEME_PER_SET(int8);
QUANTLENS_SCHEME_PER_SET(q4_0);
QUANTLENS_SCHEME_PER_SET(q8_0);
QUANTLENS_SCHEME_PER_SET(q2_k);
QUANTLENS_SCHEME_PER_SET(q3_k);
QUANTLENS_SCHEME_PER_SET(q4_k);
QUANTLENS_SCHEME_PER_SET(q5_k);
QUANTLENS_SCHEME_PER_SET(q6_k);

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
