// NF4 quantize / dequantize throughput on BF16 weights: the scalar reference against the
// optimised path (4 lanes, then 2 threads), measured side by side in one run, with the ratios
// printed at the end. Run: build/<dir>/tests/benchmarks/quant_bench
#include "core/quant/bnb_4bit.h"
#include "core/quant/scheme.h"
#include "core/util/float16.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace quantlens::core;

namespace {

constexpr std::size_t kRows = 2048;
constexpr std::size_t kCols = 2048; // 4 M parameters, 8 MiB of BF16

const std::vector<std::uint16_t>& bf16Weights()
{
    static const std::vector<std::uint16_t> weights = [] {
        std::mt19937 rng(42);
        std::normal_distribution<float> dist(0.0f, 0.02f);
        std::vector<std::uint16_t> w(kRows * kCols);
        for (auto& x : w)
            x = floatToBf16(dist(rng));
        return w;
    }();
    return weights;
}

void widen(const std::vector<std::uint16_t>& bf16, std::vector<float>& f)
{
    f.resize(bf16.size());
    for (std::size_t i = 0; i < f.size(); ++i)
        f[i] = bf16ToFloat(bf16[i]);
}

std::vector<float> toFloat(const std::vector<std::uint16_t>& bf16)
{
    std::vector<float> f;
    widen(bf16, f);
    return f;
}

void setRate(benchmark::State& state)
{
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRows * kCols));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kRows * kCols * 2));
}

// Quantize from BF16: the widening to fp32 (into a reused buffer) is part of the work. Rates use
// wall-clock time (UseRealTime), so that the threaded runs are not flattered by per-thread CPU time.
void quantizeNf4(benchmark::State& state, int path)
{
    const auto& w = bf16Weights();
    std::vector<float> f;
    for (auto _ : state) {
        widen(w, f);
        Bnb4BitTensor q = path == 0 ? quantize4bitReference(f, {}) : quantize4bit(f, {}, path == 1 ? 1 : 2);
        benchmark::DoNotOptimize(q.packed.data());
    }
    setRate(state);
}

void dequantizeNf4(benchmark::State& state, int path)
{
    const Bnb4BitTensor q = quantize4bit(toFloat(bf16Weights()), {});
    std::vector<float> out(q.elements);
    for (auto _ : state) {
        if (path == 0)
            dequantize4bitReference(q, out);
        else
            dequantize4bit(q, out, path == 1 ? 1 : 2);
        benchmark::DoNotOptimize(out.data());
    }
    setRate(state);
}

// What the scan does per chunk: Scheme::roundTrip on one thread.
void roundTripNf4Scheme(benchmark::State& state)
{
    const std::vector<float> f = toFloat(bf16Weights());
    const auto scheme = makeScheme("nf4");
    const std::uint64_t shape[] = {kRows, kCols};
    std::vector<float> out(f.size());
    for (auto _ : state) {
        scheme->roundTrip(f, out, RoundTripContext {shape, 0, nullptr});
        benchmark::DoNotOptimize(out.data());
    }
    setRate(state);
}

class RatioReporter : public benchmark::ConsoleReporter {
public:
    void ReportRuns(const std::vector<Run>& runs) override
    {
        ConsoleReporter::ReportRuns(runs);
        for (const auto& run : runs) {
            const auto it = run.counters.find("items_per_second");
            if (it == run.counters.end())
                continue;
            std::string name = run.benchmark_name();
            const std::string suffix = "/real_time";
            if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
                name.resize(name.size() - suffix.size());
            m_rate[name] = it->second.value;
        }
    }
    void printRatios() const
    {
        std::printf("\nNF4 on BF16 input, %zu x %zu (M parameters per second, ratio to the reference):\n", kRows,
                    kCols);
        for (const char* op : {"Quantize", "Dequantize"}) {
            const std::string prefix = std::string("Nf4") + op;
            const double reference = rate(prefix + "/reference");
            for (const char* path : {"reference", "optimised_1thread", "optimised_2threads"}) {
                const double r = rate(prefix + "/" + path);
                std::printf("  %-10s %-20s %9.1f M/s  x%.2f\n", op, path, r / 1e6, reference > 0 ? r / reference : 0.0);
            }
        }
        std::printf("  %-10s %-20s %9.1f M/s\n", "RoundTrip", "scheme_1thread", rate("Nf4SchemeRoundTrip") / 1e6);
    }

private:
    double rate(const std::string& name) const
    {
        const auto it = m_rate.find(name);
        return it == m_rate.end() ? 0.0 : it->second;
    }
    std::map<std::string, double> m_rate;
};

} // namespace

int main(int argc, char** argv)
{
    benchmark::RegisterBenchmark("Nf4Quantize/reference", quantizeNf4, 0)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark("Nf4Quantize/optimised_1thread", quantizeNf4, 1)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("Nf4Quantize/optimised_2threads", quantizeNf4, 2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("Nf4Dequantize/reference", dequantizeNf4, 0)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("Nf4Dequantize/optimised_1thread", dequantizeNf4, 1)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("Nf4Dequantize/optimised_2threads", dequantizeNf4, 2)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark("Nf4SchemeRoundTrip", roundTripNf4Scheme)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::Initialize(&argc, argv);
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    reporter.printRatios();
    benchmark::Shutdown();
    return 0;
}
