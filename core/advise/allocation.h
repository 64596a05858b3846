#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

// Choosing one storage option per tensor to minimise the summed cost under a byte budget: a
// multiple-choice knapsack. The advisor (core/advise/advisor.h) fills the options from measured
// errors; this part knows nothing of tensors or schemes.
namespace quantlens::core {

struct AllocationOption {
    std::uint64_t bytes = 0;
    double cost = 0.0; // smaller is better; finite
};

// The options of one item (a tensor): at least one.
using AllocationItem = std::vector<AllocationOption>;

struct Allocation {
    std::vector<std::size_t> choice; // per item, an index into its options
    std::uint64_t bytes = 0;
    double cost = 0.0;
    // A lower bound on the cost of any choice within the budget (the Lagrangian / linear-relaxation
    // optimum); cost - lowerBound bounds how far from optimal `choice` can be.
    double lowerBound = 0.0;
    bool exact = false; // proven optimal (the dynamic programme ran, or the bound is met)
    double gap() const { return cost - lowerBound; }
};

// Minimises the summed cost with total bytes <= budget. Each item's options are reduced to their
// lower convex hull in (bytes, cost); the hull edges are taken in order of cost saved per byte
// while they fit (the Lagrangian relaxation's path), then every remaining byte goes to the best
// whole upgrade that still fits. The linear relaxation gives the lower bound. When the problem is
// small on a byte grid (items x budget / gcd of the option sizes <= 5e7), a dynamic programme over
// that grid solves it exactly instead. Throws UsageError when even the smallest choice exceeds the
// budget, saying the smallest possible size. `allowExact` false skips the programme (tests check
// the Lagrangian path's own claims with it).
Allocation solveAllocation(const std::vector<AllocationItem>& items, std::uint64_t budget, bool allowExact = true);

// The total bytes of the smallest and of the largest choice (each item at its smallest option, then
// at its largest).
std::pair<std::uint64_t, std::uint64_t> allocationBounds(const std::vector<AllocationItem>& items);

// One point of the cost-against-size frontier.
struct FrontierPoint {
    std::uint64_t bytes = 0;
    double cost = 0.0;
};

// The lower convex frontier of total cost against total bytes, from the smallest choice to the
// cheapest one: the vertices the Lagrangian path passes (every hull edge taken in order), at most
// `maxPoints` of them kept evenly along it (first and last always).
std::vector<FrontierPoint> allocationFrontier(const std::vector<AllocationItem>& items, std::size_t maxPoints = 200);

} // namespace quantlens::core
