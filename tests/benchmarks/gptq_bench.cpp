// GPTQ on a 4096 x 4096 layer, the Hessian given (#19: under 10 s), beside Eigen's own GEMM rate
// measured in the same run, so that GPTQ's FLOP/s reads as a share of what this machine's Eigen does.
//   build/default/tests/benchmarks/gptq_bench
// The Hessian is 2/N X X^T of N = 4096 random inputs with correlated channels: GPTQ's time does not
// depend on how many samples made it (128 sequences of 512 tokens give a matrix of the same size).
#include "core/quant/gptq.h"

#include <benchmark/benchmark.h>

#include <Eigen/Dense>

#include <random>
#include <vector>

namespace {

constexpr Eigen::Index kN = 4096;

struct Layer {
    std::vector<float> w;
    Eigen::MatrixXf h;
};

const Layer& layer()
{
    static const Layer l = [] {
        Layer out;
        std::mt19937 rng(1);
        std::normal_distribution<float> normal;
        out.w.resize(std::size_t(kN * kN));
        for (float& v : out.w)
            v = 0.02f * normal(rng);
        Eigen::MatrixXf x(kN, kN);
        for (Eigen::Index c = 0; c < kN; ++c) {
            const float common = normal(rng);
            for (Eigen::Index j = 0; j < kN; ++j)
                x(j, c) = 0.5f * common + normal(rng);
        }
        out.h = (2.0f / float(kN)) * x * x.transpose();
        return out;
    }();
    return l;
}

// Eigen's single-precision GEMM, 4096^3: the rate GPTQ's products could reach here.
void BM_EigenGemm4096(benchmark::State& state)
{
    const Eigen::MatrixXf a = Eigen::MatrixXf::Random(kN, kN);
    const Eigen::MatrixXf b = Eigen::MatrixXf::Random(kN, kN);
    Eigen::MatrixXf c(kN, kN);
    for (auto _ : state) {
        c.noalias() = a * b;
        benchmark::DoNotOptimize(c.data());
    }
    state.counters["FLOP/s"]
        = benchmark::Counter(2.0 * double(kN) * kN * kN, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_EigenGemm4096)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();

// GPTQ 4-bit, groups of 128, blocks of 128; act-order in the second run. FLOPs counted: the lazy
// block updates and the in-block feedback (2 x rows x n^2 / 2 each way, about rows x n^2 in all)
// and the three factorisations of H (Cholesky, inverse, Cholesky: about 5/3 n^3).
void BM_Gptq4096(benchmark::State& state)
{
    const Layer& l = layer();
    quantlens::core::GptqOptions o;
    o.groupSize = 128;
    o.actOrder = state.range(0) != 0;
    std::vector<float> out(l.w.size());
    for (auto _ : state) {
        const auto stats = quantlens::core::gptqQuantize(l.w, kN, kN, l.h, o, out);
        benchmark::DoNotOptimize(stats.loss);
    }
    const double n = double(kN);
    state.counters["FLOP/s"]
        = benchmark::Counter(n * n * n + 5.0 / 3.0 * n * n * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Gptq4096)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

} // namespace
