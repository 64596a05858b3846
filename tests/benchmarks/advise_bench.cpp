// The advisor's solver at the size of a 70B model: about 560 tensors (80 layers x 7) x 10 types.
// Targets (issue 18): one budget in under 100 ms, a 100-budget frontier in under 1 s.
#include "core/advise/allocation.h"

#include <benchmark/benchmark.h>

#include <cmath>
#include <random>

using namespace quantlens::core;

namespace {

std::vector<AllocationItem> seventyB()
{
    std::mt19937 rng(1);
    std::uniform_real_distribution<double> noise(0.7, 1.4);
    const double bits[] = {2.625, 3.4375, 4.5, 5.0, 4.5, 5.5, 6.0, 5.5, 6.5625, 8.5};
    std::vector<AllocationItem> items;
    for (int layer = 0; layer < 80; ++layer) {
        for (double elements : {8192.0 * 8192, 1024.0 * 8192, 1024.0 * 8192, 8192.0 * 8192, 28672.0 * 8192,
                                28672.0 * 8192, 8192.0 * 28672}) {
            AllocationItem item;
            for (double b : bits)
                item.push_back({std::uint64_t(elements * b / 8), elements * std::pow(2.0, -2 * b) * noise(rng)});
            items.push_back(item);
        }
    }
    return items;
}

void BM_SolveOneBudget(benchmark::State& state)
{
    const auto items = seventyB();
    const auto [lo, hi] = allocationBounds(items);
    double gap = 0;
    for (auto _ : state) {
        const auto a = solveAllocation(items, (lo + hi) / 2);
        gap = a.gap() / a.cost;
        benchmark::DoNotOptimize(a.cost);
    }
    state.counters["relative_gap"] = gap;
    state.counters["tensors"] = double(items.size());
}
BENCHMARK(BM_SolveOneBudget)->Unit(benchmark::kMillisecond);

void BM_HundredBudgets(benchmark::State& state)
{
    const auto items = seventyB();
    const auto [lo, hi] = allocationBounds(items);
    for (auto _ : state) {
        for (int k = 0; k < 100; ++k)
            benchmark::DoNotOptimize(solveAllocation(items, lo + (hi - lo) * std::uint64_t(k) / 99).cost);
    }
}
BENCHMARK(BM_HundredBudgets)->Unit(benchmark::kMillisecond);

void BM_Frontier(benchmark::State& state)
{
    const auto items = seventyB();
    for (auto _ : state)
        benchmark::DoNotOptimize(allocationFrontier(items, 100).size());
}
BENCHMARK(BM_Frontier)->Unit(benchmark::kMillisecond);

} // namespace
