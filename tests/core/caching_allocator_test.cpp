#include "core/planner/caching_allocator.h"
#include "core/planner/planner.h"
#include "core/planner/step_simulation.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

// The allocator model against the rules of PyTorch's CUDACachingAllocator.cpp (rounding, pools,
// segment sizes, best fit, splitting, merging, release on failure), and the step simulation's
// mechanisms one at a time.
using namespace quantlens::core;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

} // namespace

TEST(CachingAllocator, RoundsToHalfKilobytesAndCountsTheBlock)
{
    CachingAllocatorModel a;
    const int b = a.allocate(1);
    EXPECT_EQ(a.blockBytes(b), 512u);
    EXPECT_EQ(a.allocatedBytes(), 512u);
    EXPECT_EQ(a.reservedBytes(), 2 * MiB); // a small-pool segment
    a.allocate(513);
    EXPECT_EQ(a.allocatedBytes(), 512u + 1024u);
    EXPECT_EQ(a.reservedBytes(), 2 * MiB); // carved from the same segment
}

TEST(CachingAllocator, SegmentSizesFollowThePools)
{
    EXPECT_EQ(CachingAllocatorModel::segmentSize(MiB), 2 * MiB);
    EXPECT_EQ(CachingAllocatorModel::segmentSize(MiB + 512), 20 * MiB);
    EXPECT_EQ(CachingAllocatorModel::segmentSize(10 * MiB - 512), 20 * MiB);
    EXPECT_EQ(CachingAllocatorModel::segmentSize(10 * MiB), 10 * MiB);
    EXPECT_EQ(CachingAllocatorModel::segmentSize(31 * MiB), 32 * MiB);

    CachingAllocatorModel a;
    a.allocate(5 * MiB);
    a.allocate(5 * MiB); // from the 20 MiB segment's rest
    EXPECT_EQ(a.reservedBytes(), 20 * MiB);
    a.allocate(31 * MiB);
    EXPECT_EQ(a.reservedBytes(), 52 * MiB);
}

TEST(CachingAllocator, TakesTheSmallestFreeBlockThatFits)
{
    CachingAllocatorModel a;
    const int big = a.allocate(64 * MiB);
    const int medium = a.allocate(40 * MiB);
    a.release(big);
    a.release(medium);
    const int b = a.allocate(32 * MiB);
    EXPECT_EQ(a.reservedBytes(), 104 * MiB);
    // The 40 MiB block was split (8 MiB left over): a 60 MiB request still finds the 64 MiB one.
    EXPECT_EQ(a.blockBytes(b), 32 * MiB);
    a.allocate(60 * MiB);
    EXPECT_EQ(a.reservedBytes(), 104 * MiB);
}

TEST(CachingAllocator, DoesNotSplitOffAMebibyteOrLessInTheLargePool)
{
    CachingAllocatorModel a;
    const int b = a.allocate(34 * MiB);
    a.release(b);
    const int c = a.allocate(33 * MiB + 512);
    EXPECT_EQ(a.blockBytes(c), 34 * MiB); // the rest (1 MiB - 512 B) stays with the block
    EXPECT_EQ(a.allocatedBytes(), 34 * MiB);
}

TEST(CachingAllocator, FreedNeighboursMergeAndCachedSegmentsStayReserved)
{
    CachingAllocatorModel a;
    const int x = a.allocate(6 * MiB);
    const int y = a.allocate(6 * MiB);
    const int z = a.allocate(6 * MiB); // all three in one 20 MiB segment
    EXPECT_EQ(a.reservedBytes(), 20 * MiB);
    a.release(x);
    a.release(z);
    a.release(y);
    EXPECT_EQ(a.allocatedBytes(), 0u);
    EXPECT_EQ(a.reservedBytes(), 20 * MiB); // cached, not returned
    a.allocate(18 * MiB); // fits only because the three merged again
    EXPECT_EQ(a.reservedBytes(), 20 * MiB);
}

TEST(CachingAllocator, EmptyCacheReturnsOnlyWhollyFreeSegments)
{
    CachingAllocatorModel a;
    const int x = a.allocate(30 * MiB);
    const int y = a.allocate(5 * MiB);
    a.allocate(5 * MiB);
    a.release(x);
    a.release(y);
    a.emptyCache();
    EXPECT_EQ(a.reservedBytes(), 20 * MiB); // the 20 MiB segment still holds a block
}

TEST(CachingAllocator, ReleasesTheCacheAndRetriesWhenTheDeviceIsFull)
{
    CachingAllocatorModel a(100 * MiB);
    a.release(a.allocate(60 * MiB));
    EXPECT_GE(a.allocate(70 * MiB), 0); // 60 + 70 > 100: the cached 60 MiB goes back first
    EXPECT_EQ(a.reservedBytes(), 70 * MiB);
    EXPECT_FALSE(a.outOfMemory());
    EXPECT_EQ(a.allocate(40 * MiB), -1);
    EXPECT_TRUE(a.outOfMemory());
}

TEST(CachingAllocator, ExpandableSegmentsGrowOneSegmentByPages)
{
    CachingAllocatorModel plain;
    plain.allocate(30 * MiB);
    plain.allocate(30 * MiB);
    EXPECT_EQ(plain.reservedBytes(), 60 * MiB);

    CachingAllocatorModel a(~0ull, true);
    const int x = a.allocate(30 * MiB); // 40 MiB mapped, 10 MiB free at the end
    EXPECT_EQ(a.reservedBytes(), 40 * MiB);
    a.allocate(30 * MiB); // extends the free end by one 20 MiB page
    EXPECT_EQ(a.reservedBytes(), 60 * MiB);
    a.release(x);
    a.allocate(25 * MiB); // the freed start
    EXPECT_EQ(a.reservedBytes(), 60 * MiB);
}

// Random traffic of every size class, in both modes: allocated never exceeds reserved, and once
// everything is freed the blocks have merged back into whole segments that empty_cache returns.
TEST(CachingAllocator, RandomTrafficKeepsTheBookkeepingWhole)
{
    for (const bool expandable : {false, true}) {
        CachingAllocatorModel a(~0ull, expandable);
        std::uint64_t state = 12345;
        const auto next = [&state] {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            return state >> 33;
        };
        std::vector<std::pair<int, std::uint64_t>> live;
        std::uint64_t expected = 0;
        for (int i = 0; i < 20000; ++i) {
            if (live.empty() || next() % 3 != 0) {
                const std::uint64_t sizes[] = {100, 4096, 600 * 1024, 3 * MiB, 9 * MiB, 24 * MiB, 70 * MiB};
                const std::uint64_t bytes = sizes[next() % 7] + next() % 4096;
                const int b = a.allocate(bytes);
                ASSERT_GE(b, 0);
                live.emplace_back(b, a.blockBytes(b));
                expected += a.blockBytes(b);
            } else {
                const std::size_t k = next() % live.size();
                expected -= live[k].second;
                a.release(live[k].first);
                live[k] = live.back();
                live.pop_back();
            }
            ASSERT_EQ(a.allocatedBytes(), expected) << (expandable ? "expandable" : "plain") << " step " << i;
            ASSERT_LE(a.allocatedBytes(), a.reservedBytes());
        }
        for (const auto& [b, bytes] : live)
            a.release(b);
        EXPECT_EQ(a.allocatedBytes(), 0u);
        a.emptyCache();
        EXPECT_EQ(a.reservedBytes(), 0u) << (expandable ? "expandable" : "plain");
    }
}

// ---- the step simulation, one mechanism at a time -----------------------------------------------

namespace {

StepInput llama1b(TrainingMethod method)
{
    StepInput in;
    in.shape = {16, 2048, 2048, 512, 32, 8192, 128256, 1, 1, true};
    in.seqLen = 2048;
    in.microBatch = 1;
    in.method = method;
    in.parameterBytes = 2;
    in.autocast = method != TrainingMethod::Full;
    in.stateBytes = method == TrainingMethod::Full ? 4 : 8;
    in.temporaries = StepTemporaries::AllParameters;
    return in;
}

} // namespace

TEST(StepSimulation, FullFinetuningPeaksAtTheOptimizerStepWithTheForeachTemporaries)
{
    StepInput in = llama1b(TrainingMethod::Full);
    in.seqLen = 16; // activations negligible: the optimizer's tensors decide
    const double p = 1235814400; // parameters of Llama-3.2-1B (tied)
    const double embedding = 2.0 * 128256 * 2048; // bf16 V x h
    const StepSimulation foreach = simulateTrainingStep(in);
    EXPECT_STREQ(foreach.peakPhase, "optimizer step");
    // weights + gradients + two states + one temporary, 2 B each (bf16), and two cuBLAS workspaces
    EXPECT_NEAR(double(foreach.peakAllocated), 5 * 2 * p + 64.0 * MiB, 0.002 * 5 * 2 * p);
    // Fused: no temporaries; the peak is then the end of the backward pass, where the tied
    // embedding's dense gradient briefly exists beside the .grad it is added to.
    in.temporaries = StepTemporaries::None;
    const StepSimulation fused = simulateTrainingStep(in);
    EXPECT_NEAR(double(foreach.peakAllocated - fused.peakAllocated), 2 * p - embedding, 0.01 * 2 * p);
    // For-loop: two tensors of one parameter at a time, the largest being the embedding.
    in.temporaries = StepTemporaries::PerParameter;
    const StepSimulation loop = simulateTrainingStep(in);
    EXPECT_NEAR(double(loop.peakAllocated - fused.peakAllocated), embedding, 4.0 * MiB);
}

TEST(StepSimulation, CheckpointingKeepsOnlyTheLayerInputs)
{
    StepInput in = llama1b(TrainingMethod::Lora);
    in.microBatch = 4;
    const StepSimulation plain = simulateTrainingStep(in);
    in.checkpointing = true;
    const StepSimulation checkpointed = simulateTrainingStep(in);
    EXPECT_LT(double(checkpointed.peakAllocated), 0.6 * double(plain.peakAllocated));
    EXPECT_GT(checkpointed.peakAllocated, 0u);
}

TEST(StepSimulation, HeldOutputsAddTheBf16LogitsToTheBackwardPeak)
{
    StepInput in = llama1b(TrainingMethod::Lora);
    in.microBatch = 4;
    const StepSimulation held = simulateTrainingStep(in);
    in.keepOutputs = false;
    const StepSimulation freed = simulateTrainingStep(in);
    const double logits = 2.0 * 2048 * 4 * 128256;
    EXPECT_NEAR(double(held.peakAllocated - freed.peakAllocated), logits, 0.02 * logits);
}

TEST(StepSimulation, PagedStatesOfLargeParametersLiveOutsideTheAllocator)
{
    StepInput in = llama1b(TrainingMethod::Qlora);
    in.frozenLinearBytes = 0.5 + 1.0 / 64 + 4.0 / (256 * 64);
    in.frozenDequantized = true;
    in.temporaries = StepTemporaries::None;
    in.stateBytes = 2 * (1 + 4.0 / 256);
    in.paged = true;
    in.pagedStateBytes = in.stateBytes;
    const StepSimulation r = simulateTrainingStep(in);
    // LoRA r16 on 1B: B of gate/up (8192 x 16) and A of down (16 x 8192) have 131,072 elements, at
    // least bitsandbytes' 100,000: paged; the rest are ordinary tensors.
    EXPECT_NEAR(double(r.pagedBytes), 16 * 3 * 131072 * in.stateBytes, 1024);
}

TEST(StepSimulation, TheCacheAnswersWhatASimulationWould)
{
    StepInput in = llama1b(TrainingMethod::Full);
    const StepSimulation a = simulateTrainingStepUncached(in);
    const StepSimulation b = simulateTrainingStep(in);
    const StepSimulation c = simulateTrainingStep(in);
    EXPECT_EQ(a.peakReserved, b.peakReserved);
    EXPECT_EQ(b.peakReserved, c.peakReserved);
    EXPECT_EQ(a.peakAllocated, c.peakAllocated);
    EXPECT_EQ(a.atPeak, c.atPeak);
}

TEST(StepSimulation, ThePlannerBreakdownSumsToThePeak)
{
    PlanInput in;
    in.model = findModelPreset("llama-3.1-8b");
    in.method = TrainingMethod::Qlora;
    in.loraTargets = kLoraAll;
    in.gradientCheckpointing = true;
    in.optimizer = OptimizerKind::PagedAdamW8bit;
    const PlanResult r = evaluate(in);
    ASSERT_TRUE(r.simulated);
    std::uint64_t sum = 0;
    for (const auto& e : r.components)
        sum += e.bytesAtPeak;
    EXPECT_EQ(sum, r.peakBytes);
    EXPECT_EQ(r.peakBytes, r.reservedBytes + r.outsideAllocatorBytes);
    EXPECT_GE(r.reservedBytes, r.allocatedBytes);
}

TEST(StepSimulation, SeveralGpusAndInferenceKeepTheAllocatorFraction)
{
    PlanInput in;
    in.model = findModelPreset("llama-3.1-8b");
    in.method = TrainingMethod::Full;
    in.gpus = 8;
    in.zeroStage = 3;
    EXPECT_FALSE(evaluate(in).simulated);
    in.gpus = 1;
    in.zeroStage = 0;
    in.method = TrainingMethod::Inference;
    EXPECT_FALSE(evaluate(in).simulated);
}

TEST(StepSimulation, SearchesFindTheEdgeOfTheSimulatedPeak)
{
    PlanInput in;
    in.model = findModelPreset("llama-3.1-8b");
    in.method = TrainingMethod::Qlora;
    in.loraTargets = kLoraAll;
    in.gradientCheckpointing = true;
    in.seqLen = 2048;
    in.gpu = "rtx-4090";
    const std::uint64_t usable = findGpu("rtx-4090").memoryBytesUsable;
    const std::int64_t batch = maxMicroBatch(in);
    ASSERT_GT(batch, 0);
    in.microBatch = batch;
    EXPECT_LE(evaluate(in).peakBytes, usable);
    in.microBatch = batch + 1;
    EXPECT_GT(evaluate(in).peakBytes, usable);
    in.microBatch = 1;
    const std::int64_t seq = maxSeqLen(in);
    ASSERT_GT(seq, 0);
    in.seqLen = seq;
    EXPECT_LE(evaluate(in).peakBytes, usable);
    in.seqLen = seq + 1;
    EXPECT_GT(evaluate(in).peakBytes, usable);
}
