#include "core/planner/planner.h"

#include <benchmark/benchmark.h>

// The planner's speed targets (issue 3): one evaluation under 50 µs, the max-batch / max-seq
// searches under 5 ms, since the GUI recomputes on every keystroke. Run:
//   build/<dir>/tests/benchmarks/planner_bench
using namespace quantlens::core;

namespace {

PlanInput typicalPlan()
{
    PlanInput in;
    in.model = findModelPreset("llama-3.1-8b");
    in.method = TrainingMethod::Qlora;
    in.doubleQuant = true;
    in.loraTargets = kLoraAll;
    in.seqLen = 2048;
    in.microBatch = 4;
    in.gradientCheckpointing = true;
    in.gpu = "rtx-4090";
    return in;
}

void BM_Evaluate(benchmark::State& state)
{
    const PlanInput in = typicalPlan();
    for (auto _ : state)
        benchmark::DoNotOptimize(evaluate(in));
}
BENCHMARK(BM_Evaluate)->Unit(benchmark::kMicrosecond);

void BM_MaxMicroBatch(benchmark::State& state)
{
    const PlanInput in = typicalPlan();
    for (auto _ : state)
        benchmark::DoNotOptimize(maxMicroBatch(in));
}
BENCHMARK(BM_MaxMicroBatch)->Unit(benchmark::kMicrosecond);

void BM_MaxSeqLen(benchmark::State& state)
{
    const PlanInput in = typicalPlan();
    for (auto _ : state)
        benchmark::DoNotOptimize(maxSeqLen(in));
}
BENCHMARK(BM_MaxSeqLen)->Unit(benchmark::kMicrosecond);

void BM_Suggestions(benchmark::State& state)
{
    PlanInput in = typicalPlan();
    in.method = TrainingMethod::Full;
    for (auto _ : state)
        benchmark::DoNotOptimize(suggestions(in));
}
BENCHMARK(BM_Suggestions)->Unit(benchmark::kMicrosecond);

} // namespace
