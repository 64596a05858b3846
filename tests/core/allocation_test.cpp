#include "core/advise/allocation.h"
#include "core/util/error.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

using namespace quantlens;
using namespace quantlens::core;
using ::testing::HasSubstr;
using ::testing::ThrowsMessage;

namespace {

// The optimum by trying every combination.
double bruteForce(const std::vector<AllocationItem>& items, std::uint64_t budget)
{
    double best = std::numeric_limits<double>::infinity();
    std::vector<std::size_t> choice(items.size(), 0);
    for (;;) {
        std::uint64_t bytes = 0;
        double cost = 0;
        for (std::size_t i = 0; i < items.size(); ++i) {
            bytes += items[i][choice[i]].bytes;
            cost += items[i][choice[i]].cost;
        }
        if (bytes <= budget)
            best = std::min(best, cost);
        std::size_t i = 0;
        while (i < items.size() && ++choice[i] == items[i].size())
            choice[i++] = 0;
        if (i == items.size())
            return best;
    }
}

// Random instances shaped like the advisor's: per item, sizes growing with bits and errors
// shrinking (roughly 4x per extra bit), with noise, sometimes an option missing.
std::vector<AllocationItem> randomItems(std::mt19937& rng, std::size_t n, std::size_t options, std::uint64_t unit)
{
    std::uniform_real_distribution<double> noise(0.5, 2.0);
    std::uniform_int_distribution<int> elements(1, 40);
    std::vector<AllocationItem> items(n);
    for (auto& item : items) {
        const int size = elements(rng);
        for (std::size_t k = 0; k < options; ++k) {
            if (k > 0 && noise(rng) > 1.9)
                continue; // this type cannot store the tensor
            const double bits = 2.0 + double(k) * 1.5;
            item.push_back(
                {std::uint64_t(std::llround(bits * size)) * unit, double(size) * std::pow(4.0, -bits) * noise(rng)});
        }
    }
    return items;
}

} // namespace

TEST(Allocation, MatchesBruteForceWithinItsStatedGap)
{
    std::mt19937 rng(7);
    int exact = 0;
    double pathExcess = 0;
    for (int trial = 0; trial < 300; ++trial) {
        const auto items = randomItems(rng, 2 + std::size_t(trial % 6), 2 + std::size_t(trial % 4), trial % 2 ? 1 : 18);
        std::uint64_t least = 0, most = 0;
        for (const auto& item : items) {
            std::uint64_t lo = UINT64_MAX, hi = 0;
            for (const auto& o : item) {
                lo = std::min(lo, o.bytes);
                hi = std::max(hi, o.bytes);
            }
            least += lo;
            most += hi;
        }
        const std::uint64_t budget = least + (most - least) * std::uint64_t(trial % 11) / 10;
        const double optimum = bruteForce(items, budget);
        const auto a = solveAllocation(items, budget);
        ASSERT_LE(a.bytes, budget);
        double cost = 0;
        std::uint64_t bytes = 0;
        for (std::size_t i = 0; i < items.size(); ++i) {
            cost += items[i][a.choice[i]].cost;
            bytes += items[i][a.choice[i]].bytes;
        }
        EXPECT_NEAR(cost, a.cost, 1e-12 * std::max(1.0, cost)) << trial;
        EXPECT_EQ(bytes, a.bytes) << trial;
        EXPECT_LE(a.lowerBound, optimum + 1e-12) << trial; // a true bound
        EXPECT_GE(a.cost, optimum - 1e-12) << trial;
        EXPECT_LE(a.cost - optimum, a.gap() + 1e-12) << trial;
        if (a.exact) {
            EXPECT_NEAR(a.cost, optimum, 1e-12 * std::max(1.0, optimum)) << trial;
            ++exact;
        }
        // The Lagrangian path alone: feasible, its bound true, its cost within its own gap.
        const auto path = solveAllocation(items, budget, false);
        ASSERT_LE(path.bytes, budget);
        EXPECT_LE(path.lowerBound, optimum + 1e-12) << trial;
        EXPECT_GE(path.cost, optimum - 1e-12) << trial;
        if (path.exact) {
            EXPECT_NEAR(path.cost, optimum, 1e-12 * std::max(1.0, optimum)) << trial;
        }
        pathExcess += (path.cost - optimum) / std::max(optimum, 1e-300);
    }
    // Small instances on a byte grid go through the exact programme.
    EXPECT_GT(exact, 250);
    EXPECT_LT(pathExcess / 300, 0.2); // the greedy path is near optimal on average even for 2-7 items
}

TEST(Allocation, LargeInstancesSolveByTheLagrangianPathWithASmallGap)
{
    // 560 tensors x 10 types, the shape of a 70B model, sizes in bytes that share no grid.
    std::mt19937 rng(3);
    auto items = randomItems(rng, 560, 10, 1);
    for (auto& item : items)
        for (auto& o : item)
            o.bytes = o.bytes * 1000003 + std::uniform_int_distribution<std::uint64_t>(0, 999)(rng);
    std::uint64_t least = 0, most = 0;
    for (const auto& item : items) {
        std::uint64_t lo = UINT64_MAX, hi = 0;
        for (const auto& o : item) {
            lo = std::min(lo, o.bytes);
            hi = std::max(hi, o.bytes);
        }
        least += lo;
        most += hi;
    }
    const auto a = solveAllocation(items, (least + most) / 2);
    EXPECT_LE(a.bytes, (least + most) / 2);
    EXPECT_LE(a.gap(), 1e-3 * a.cost); // within 0.1% of optimal, proven
    const auto frontier = allocationFrontier(items, 100);
    ASSERT_EQ(frontier.size(), 100u);
    EXPECT_EQ(frontier.front().bytes, least);
    EXPECT_LE(frontier.back().bytes, most); // every tensor at its largest hull option
    for (std::size_t k = 1; k < frontier.size(); ++k) {
        EXPECT_GT(frontier[k].bytes, frontier[k - 1].bytes);
        EXPECT_LE(frontier[k].cost, frontier[k - 1].cost);
    }
}

TEST(Allocation, ABudgetBelowTheSmallestChoiceSaysTheSmallest)
{
    const std::vector<AllocationItem> items {{{10, 1.0}, {20, 0.5}}, {{5, 2.0}}};
    EXPECT_THAT([&] { solveAllocation(items, 14); },
                ThrowsMessage<UsageError>(HasSubstr("smallest possible choice, 15")));
    const auto a = solveAllocation(items, 25);
    EXPECT_EQ(a.bytes, 25u);
    EXPECT_DOUBLE_EQ(a.cost, 2.5);
    EXPECT_TRUE(a.exact);
}
