#pragma once

#include <cstdint>
#include <limits>
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
// With expandable segments (PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True) each pool is one
// segment that grows at its end by pages of 20 MiB (large pool) or 2 MiB (small pool), extending a
// free block at the end when there is one, so that freed blocks anywhere merge with their
// neighbours; empty_cache() unmaps the free end. (PyTorch also unmaps free pages inside the
// segment on empty_cache(); the model keeps them, which matters only right after loading.)
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
    explicit CachingAllocatorModel(std::uint64_t capacityBytes = std::numeric_limits<std::uint64_t>::max(),
                                   bool expandableSegments = false);
    // Back to an empty device of the given capacity, keeping the memory of the bookkeeping.
    void reset(std::uint64_t capacityBytes = std::numeric_limits<std::uint64_t>::max(),
               bool expandableSegments = false);

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
    // Free blocks of a pool as (size, address, block), ordered as PyTorch's BlockComparatorSize so
    // that the first not below a request is the best fit. A sorted vector: a pool holds tens to
    // hundreds of free blocks, where moving a few kilobytes beats a node allocation per insert.
    struct FreeKey {
        std::uint64_t size = 0;
        std::uint64_t address = 0;
        int block = -1;
        bool operator<(const FreeKey& o) const { return size != o.size ? size < o.size : address < o.address; }
    };
    using FreeSet = std::vector<FreeKey>;
    FreeSet& pool(bool small) { return small ? smallFree_ : largeFree_; }
    int newBlock(const Block& b);
    void insertFree(int block);
    void eraseFree(int block);
    int mallocSegment(std::uint64_t size, bool small);
    int growExpandable(std::uint64_t size, bool small);
    int& tail(bool small) { return small ? smallTail_ : largeTail_; }
    void releaseFreeSegments();

    std::vector<Block> blocks_;
    std::vector<int> unused_; // indices of blocks_ to reuse
    FreeSet smallFree_, largeFree_;
    std::uint64_t capacity_;
    std::uint64_t nextAddress_ = 0;
    std::uint64_t allocated_ = 0, reserved_ = 0, peakAllocated_ = 0, peakReserved_ = 0;
    bool outOfMemory_ = false;
    bool expandable_ = false;
    int smallTail_ = -1, largeTail_ = -1; // expandable: the last block of each pool's segment
    static constexpr std::uint64_t kSmallPoolBase = 1ull << 62; // expandable: the small pool's addresses
    std::uint64_t smallEnd_ = kSmallPoolBase, largeEnd_ = 0; // expandable: where each segment ends
};

} // namespace quantlens::core
