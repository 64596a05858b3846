#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace quantlens::core {

// Runs work(firstBlock, endBlock) over [0, blocks) split into contiguous ranges, one per thread
// (0 threads: one per core). Quantizers split by whole blocks so that no two threads write the
// same output byte; the first exception of any range is rethrown on the calling thread.
template <typename Work> void forEachBlockRange(std::uint64_t blocks, unsigned threads, Work&& work)
{
    if (threads == 0)
        threads = std::max(1u, std::thread::hardware_concurrency());
    const std::uint64_t ranges = std::min<std::uint64_t>(threads, blocks);
    if (ranges <= 1) {
        work(std::uint64_t {0}, blocks);
        return;
    }
    std::vector<std::exception_ptr> errors(ranges);
    std::vector<std::thread> workers;
    workers.reserve(ranges - 1);
    const auto rangeBegin = [&](std::uint64_t r) { return blocks * r / ranges; };
    for (std::uint64_t r = 1; r < ranges; ++r) {
        workers.emplace_back([&, r] {
            try {
                work(rangeBegin(r), rangeBegin(r + 1));
            } catch (...) {
                errors[r] = std::current_exception();
            }
        });
    }
    try {
        work(rangeBegin(0), rangeBegin(1));
    } catch (...) {
        errors[0] = std::current_exception();
    }
    for (auto& worker : workers)
        worker.join();
    for (const auto& error : errors)
        if (error)
            std::rethrow_exception(error);
}

} // namespace quantlens::core
