// ggml block formats: quantize and dequantize throughput per type, the optimised dequantizer against
// the scalar reference (ports of ggml's dequantize_row_*), and a memcpy of the same float output as
// a bound, all measured side by side in one run; the ratios are printed at the end.
#include "core/model/tensor_info.h"
#include "core/quant/ggml_dequantize.h"
#include "core/quant/ggml_quantize.h"
#include "core/quant/ggml_types.h"

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace quantlens::core;

namespace {

constexpr std::size_t kWeights = 1 << 20; // 1 Mi weights: 4 MiB of float, a 1024 x 1024 layer

const std::vector<DType> kTypes {
    DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q8_0,
    DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_K,
};

const std::vector<float>& weights()
{
    static const std::vector<float> w = [] {
        std::mt19937 rng(42);
        std::normal_distribution<float> normal(0.0f, 0.02f);
        std::vector<float> v(kWeights);
        for (auto& x : v)
            x = normal(rng);
        return v;
    }();
    return w;
}

std::vector<std::byte> quantized(DType type)
{
    std::vector<std::byte> blocks(ggmlByteSize(type, kWeights));
    quantizeGgml(type, weights(), blocks);
    return blocks;
}

void setRate(benchmark::State& state)
{
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kWeights));
}

void quantize(benchmark::State& state, DType type)
{
    std::vector<std::byte> blocks(ggmlByteSize(type, kWeights));
    for (auto _ : state) {
        quantizeGgml(type, weights(), blocks);
        benchmark::DoNotOptimize(blocks.data());
    }
    setRate(state);
}

void dequantize(benchmark::State& state, DType type, bool reference)
{
    const std::vector<std::byte> blocks = quantized(type);
    std::vector<float> out(kWeights);
    for (auto _ : state) {
        if (reference)
            dequantizeGgmlReference(type, blocks, out);
        else
            dequantizeGgml(type, blocks, out);
        benchmark::DoNotOptimize(out.data());
    }
    setRate(state);
}

void copyFloats(benchmark::State& state)
{
    std::vector<float> out(kWeights);
    for (auto _ : state) {
        std::memcpy(out.data(), weights().data(), kWeights * sizeof(float));
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
        const double copy = rate("CopyF32");
        std::printf("\nggml formats, %zu weights (M weights per second; dequantize optimised/reference and "
                    "as a fraction of a float memcpy at %.0f M/s):\n",
                    kWeights, copy / 1e6);
        std::printf("  %-6s %12s %14s %14s %10s %10s\n", "type", "quantize", "dequant ref", "dequant opt", "opt/ref",
                    "opt/copy");
        for (DType type : kTypes) {
            const std::string name(ggmlTraits(type).name);
            const double ref = rate("DequantizeReference/" + name);
            const double opt = rate("Dequantize/" + name);
            std::printf("  %-6s %12.1f %14.1f %14.1f %9.2fx %10.2f\n", name.c_str(), rate("Quantize/" + name) / 1e6,
                        ref / 1e6, opt / 1e6, ref > 0 ? opt / ref : 0.0, copy > 0 ? opt / copy : 0.0);
        }
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
    benchmark::RegisterBenchmark("CopyF32", copyFloats)->Unit(benchmark::kMicrosecond)->UseRealTime();
    for (DType type : kTypes) {
        const std::string name(ggmlTraits(type).name);
        benchmark::RegisterBenchmark(("Quantize/" + name).c_str(), quantize, type)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(("DequantizeReference/" + name).c_str(), dequantize, type, true)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
        benchmark::RegisterBenchmark(("Dequantize/" + name).c_str(), dequantize, type, false)
            ->Unit(benchmark::kMicrosecond)
            ->UseRealTime();
    }
    benchmark::Initialize(&argc, argv);
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    reporter.printRatios();
    benchmark::Shutdown();
    return 0;
}
