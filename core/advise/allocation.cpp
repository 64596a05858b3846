#include "core/advise/allocation.h"

#include "core/util/error.h"
#include "core/util/str_cat.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace quantlens::core {

namespace {

// The option indices on an item's lower convex hull, by increasing bytes (decreasing cost): the
// only options a Lagrangian price ever picks.
std::vector<std::size_t> lowerHull(const AllocationItem& item)
{
    std::vector<std::size_t> order(item.size());
    std::iota(order.begin(), order.end(), 0);
    // By bytes; at equal bytes the cheaper first.
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return item[a].bytes != item[b].bytes ? item[a].bytes < item[b].bytes : item[a].cost < item[b].cost;
    });
    std::vector<std::size_t> hull;
    for (std::size_t k : order) {
        if (!hull.empty() && item[k].bytes == item[hull.back()].bytes)
            continue; // same size, costlier
        if (!hull.empty() && item[k].cost >= item[hull.back()].cost)
            continue; // more bytes for no less cost
        while (hull.size() >= 2) {
            const auto& a = item[hull[hull.size() - 2]];
            const auto& b = item[hull.back()];
            const auto& c = item[k];
            // b lies on or above the segment a-c: drop it.
            const double cross = (double(b.bytes) - double(a.bytes)) * (c.cost - a.cost)
                - (b.cost - a.cost) * (double(c.bytes) - double(a.bytes));
            if (cross <= 0)
                hull.pop_back();
            else
                break;
        }
        hull.push_back(k);
    }
    return hull;
}

struct Edge {
    std::size_t item = 0;
    std::size_t step = 0; // from hull[step] to hull[step + 1]
    std::uint64_t bytes = 0;
    double saved = 0.0;
    double rate() const { return saved / double(bytes); }
};

struct Path {
    std::vector<std::vector<std::size_t>> hulls;
    std::vector<Edge> edges; // best rate first; an item's edges come in hull order
    std::uint64_t baseBytes = 0;
    double baseCost = 0.0;
};

Path lagrangianPath(const std::vector<AllocationItem>& items)
{
    Path p;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].empty())
            throw UsageError(strCat("allocation: item ", i, " has no option"));
        p.hulls.push_back(lowerHull(items[i]));
        const auto& h = p.hulls.back();
        p.baseBytes += items[i][h.front()].bytes;
        p.baseCost += items[i][h.front()].cost;
        for (std::size_t s = 0; s + 1 < h.size(); ++s)
            p.edges.push_back(
                {i, s, items[i][h[s + 1]].bytes - items[i][h[s]].bytes, items[i][h[s]].cost - items[i][h[s + 1]].cost});
    }
    // Convexity makes each item's rates decrease along its hull, so a stable sort by rate keeps an
    // item's edges in order.
    std::stable_sort(p.edges.begin(), p.edges.end(), [](const Edge& a, const Edge& b) { return a.rate() > b.rate(); });
    return p;
}

Allocation greedy(const std::vector<AllocationItem>& items, std::uint64_t budget, const Path& p)
{
    Allocation a;
    std::vector<std::size_t> step(items.size(), 0);
    std::uint64_t bytes = p.baseBytes;
    double cost = p.baseCost;
    double bound = -1;
    std::vector<bool> blocked(items.size(), false); // an item whose next edge did not fit
    for (const auto& e : p.edges) {
        if (blocked[e.item] || step[e.item] != e.step)
            continue;
        if (bytes + e.bytes <= budget) {
            bytes += e.bytes;
            cost -= e.saved;
            ++step[e.item];
        } else {
            if (bound < 0) // the linear relaxation takes this edge in part: its optimum
                bound = cost - e.saved * double(budget - bytes) / double(e.bytes);
            blocked[e.item] = true;
        }
    }
    a.lowerBound = bound < 0 ? cost : bound;
    for (std::size_t i = 0; i < items.size(); ++i)
        a.choice.push_back(p.hulls[i][step[i]]);
    // Spend what is left on whole upgrades (any option, hull or not) while one fits and saves cost.
    for (;;) {
        double bestSaved = 0;
        std::size_t bestItem = 0, bestOption = 0;
        for (std::size_t i = 0; i < items.size(); ++i) {
            const auto& now = items[i][a.choice[i]];
            for (std::size_t k = 0; k < items[i].size(); ++k) {
                const auto& o = items[i][k];
                if (o.cost < now.cost && o.bytes >= now.bytes && bytes - now.bytes + o.bytes <= budget
                    && now.cost - o.cost > bestSaved) {
                    bestSaved = now.cost - o.cost;
                    bestItem = i;
                    bestOption = k;
                }
            }
        }
        if (bestSaved <= 0)
            break;
        bytes = bytes - items[bestItem][a.choice[bestItem]].bytes + items[bestItem][bestOption].bytes;
        cost -= bestSaved;
        a.choice[bestItem] = bestOption;
    }
    a.bytes = bytes;
    a.cost = cost;
    a.exact = a.cost <= a.lowerBound + 1e-12 * std::max(1.0, std::fabs(a.cost));
    return a;
}

// Exact dynamic programme over a grid of `unit` bytes (the gcd of every size, so no rounding).
Allocation dynamicProgramme(const std::vector<AllocationItem>& items, std::uint64_t budget, std::uint64_t unit)
{
    const std::size_t cells = std::size_t(budget / unit) + 1;
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> best(cells, inf), next(cells);
    best[0] = 0;
    std::vector<std::vector<std::uint16_t>> pick(items.size(), std::vector<std::uint16_t>(cells, 0));
    for (std::size_t i = 0; i < items.size(); ++i) {
        std::fill(next.begin(), next.end(), inf);
        for (std::size_t k = 0; k < items[i].size(); ++k) {
            const std::size_t w = std::size_t(items[i][k].bytes / unit);
            for (std::size_t c = w; c < cells; ++c) {
                const double v = best[c - w] + items[i][k].cost;
                if (v < next[c]) {
                    next[c] = v;
                    pick[i][c] = std::uint16_t(k);
                }
            }
        }
        best.swap(next);
    }
    std::size_t at = std::size_t(std::min_element(best.begin(), best.end()) - best.begin());
    Allocation a;
    a.cost = best[at];
    a.lowerBound = a.cost;
    a.exact = true;
    a.choice.assign(items.size(), 0);
    for (std::size_t i = items.size(); i-- > 0;) {
        const std::size_t k = pick[i][at];
        a.choice[i] = k;
        a.bytes += items[i][k].bytes;
        at -= std::size_t(items[i][k].bytes / unit);
    }
    return a;
}

} // namespace

std::pair<std::uint64_t, std::uint64_t> allocationBounds(const std::vector<AllocationItem>& items)
{
    std::uint64_t least = 0, most = 0;
    for (const auto& item : items) {
        std::uint64_t lo = UINT64_MAX, hi = 0;
        for (const auto& o : item) {
            lo = std::min(lo, o.bytes);
            hi = std::max(hi, o.bytes);
        }
        least += item.empty() ? 0 : lo;
        most += hi;
    }
    return {least, most};
}

Allocation solveAllocation(const std::vector<AllocationItem>& items, std::uint64_t budget, bool allowExact)
{
    std::uint64_t unit = 0;
    std::size_t options = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].empty())
            throw UsageError(strCat("allocation: item ", i, " has no option"));
        for (const auto& o : items[i]) {
            if (!std::isfinite(o.cost))
                throw UsageError(strCat("allocation: item ", i, " has a cost that is not finite"));
            unit = std::gcd(unit, o.bytes);
        }
        options = std::max(options, items[i].size());
    }
    const std::uint64_t smallest = allocationBounds(items).first;
    if (smallest > budget)
        throw UsageError(
            strCat("a budget of ", budget, " bytes is below the smallest possible choice, ", smallest, " bytes"));
    const Path path = lagrangianPath(items);
    Allocation a = greedy(items, budget, path);
    if (a.exact || items.empty() || !allowExact)
        return a;
    unit = std::max<std::uint64_t>(unit, 1);
    const double work = double(items.size()) * double(budget / unit + 1) * double(options);
    if (options <= 65535 && work <= 5e7 && double(items.size()) * double(budget / unit + 1) <= 2e7)
        return dynamicProgramme(items, budget, unit);
    return a;
}

std::vector<FrontierPoint> allocationFrontier(const std::vector<AllocationItem>& items, std::size_t maxPoints)
{
    const Path path = lagrangianPath(items);
    std::vector<FrontierPoint> all {{path.baseBytes, path.baseCost}};
    std::uint64_t bytes = path.baseBytes;
    double cost = path.baseCost;
    for (const auto& e : path.edges) {
        bytes += e.bytes;
        cost -= e.saved;
        all.push_back({bytes, cost});
    }
    if (all.size() <= std::max<std::size_t>(maxPoints, 2))
        return all;
    std::vector<FrontierPoint> kept;
    for (std::size_t k = 0; k < maxPoints; ++k)
        kept.push_back(all[k * (all.size() - 1) / (maxPoints - 1)]);
    return kept;
}

} // namespace quantlens::core
