#pragma once

#include <cstdint>
#include <limits>
#include <set>
#include <tuple>
#include <vector>

// A model of PyTorch's CUDA caching allocator (c10/cuda/CUDACachingAllocator.cpp, torch 2.x,
// default PYTORCH_CUDA_ALLOC_CONF), as far as it decides how much device memory a process reserves:
//   - every request is rounded up to a multiple of 512 B (kMinBlockSize);
//   - requests of at most 1 MiB (kSmallSize) come from the small pool, whose segments are 2 MiB
//     (kSmallBuffer); larger ones from the large pool, whose segments are 20 MiB (kLargeBuffer) for
//     requests under 10 MiB (kMinLargeAlloc) and the request rounded up to 2 MiB (kRoundLarge) above;
//   - a request takes the smallest cached free block of its pool that is large enough (best fit,
//     ties to the lower address) and splits it when the rest is at least 512 B (small pool) or more
//     than 1 MiB (large pool); an unsplit remainder counts as allocated;
//   - a freed block merges with free neighbours of its segment and stays cached: segments go back
//     to the driver only through empty_cache() or, when cudaMalloc fails, by releasing every wholly
//     free segment and trying once more (then it is out of memory).
// Reserved memory is the sum of the segments; allocated the sum of the blocks in use. Both are what
// torch.cuda.max_memory_reserved() and max_memory_allocated() report.
namespace quantlens::core {

class CachingAllocatorModel {
public:
    static constexpr std::uint64_t kMinBlockSize = 512;
    static constexpr std::uint64_t kSmallSize = 1u << 20;
    static constexpr std::uint64_t kSmallBuffer = 2u << 20;
    static constexpr std::uint64_t kLargeBuffer = 20u << 20;
    static constexpr std::uint64_t kMinLargeAlloc = 10u << 20;
    static constexpr std::uint64_t kRoundLarge = 2u << 20;

    // capacityBytes: what cudaMalloc can hand out in all (the GPU's memory less what lies outside
    // the allocator); unlimited by default.
    explicit CachingAllocatorModel(std::uint64_t capacityBytes = std::numeric_limits<std::uint64_t>::max());

    // A block for `bytes` (0 allowed: PyTorch hands out no memory for it, nor do we); -1 when the
    // device is out of memory, after which outOfMemory() stays true.
    int allocate(std::uint64_t bytes);
    // Frees the block; -1 is ignored (the tensor never existed).
    void release(int block);
    // torch.cuda.empty_cache(): returns every wholly free segment.
    void emptyCache();
    void resetPeaks();

    std::uint64_t allocatedBytes() const { return allocated_; }
    std::uint64_t reservedBytes() const { return reserved_; }
    std::uint64_t peakAllocatedBytes() const { return peakAllocated_; }
    std::uint64_t peakReservedBytes() const { return peakReserved_; }
    bool outOfMemory() const { return outOfMemory_; }
    // The bytes of a block as allocated (rounded, with any unsplit remainder).
    std::uint64_t blockBytes(int block) const { return block < 0 ? 0 : blocks_[static_cast<std::size_t>(block)].size; }

    static std::uint64_t roundSize(std::uint64_t bytes);
    static std::uint64_t segmentSize(std::uint64_t roundedBytes);

private:
    struct Block {
        std::uint64_t address = 0;
        std::uint64_t size = 0;
        int previous = -1; // neighbours within the segment
        int next = -1;
        bool free = false;
        bool small = false;
    };
    // (size, address, block): ordered as PyTorch's BlockComparatorSize, so lower_bound is best fit.
    using FreeSet = std::set<std::tuple<std::uint64_t, std::uint64_t, int>>;
    FreeSet& pool(bool small) { return small ? smallFree_ : largeFree_; }
    int newBlock(const Block& b);
    void insertFree(int block);
    void eraseFree(int block);
    int mallocSegment(std::uint64_t size, bool small);
    void releaseFreeSegments();

    std::vector<Block> blocks_;
    std::vector<int> unused_; // indices of blocks_ to reuse
    FreeSet smallFree_, largeFree_;
    std::uint64_t capacity_;
    std::uint64_t nextAddress_ = 0;
    std::uint64_t allocated_ = 0, reserved_ = 0, peakAllocated_ = 0, peakReserved_ = 0;
    bool outOfMemory_ = false;
};

} // namespace quantlens::core
