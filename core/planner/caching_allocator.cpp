#include "core/planner/caching_allocator.h"

#include <algorithm>

namespace quantlens::core {

CachingAllocatorModel::CachingAllocatorModel(std::uint64_t capacityBytes, bool expandableSegments)
    : capacity_(capacityBytes)
    , expandable_(expandableSegments)
{
}

void CachingAllocatorModel::reset(std::uint64_t capacityBytes, bool expandableSegments)
{
    expandable_ = expandableSegments;
    smallTail_ = largeTail_ = -1;
    smallEnd_ = kSmallPoolBase;
    largeEnd_ = 0;
    blocks_.clear();
    unused_.clear();
    smallFree_.clear();
    largeFree_.clear();
    capacity_ = capacityBytes;
    nextAddress_ = 0;
    allocated_ = reserved_ = peakAllocated_ = peakReserved_ = 0;
    outOfMemory_ = false;
}

std::uint64_t CachingAllocatorModel::roundSize(std::uint64_t bytes)
{
    if (bytes < kMinBlockSize)
        return kMinBlockSize;
    return (bytes + kMinBlockSize - 1) / kMinBlockSize * kMinBlockSize;
}

std::uint64_t CachingAllocatorModel::segmentSize(std::uint64_t rounded)
{
    if (rounded <= kSmallSize)
        return kSmallBuffer;
    if (rounded < kMinLargeAlloc)
        return kLargeBuffer;
    return (rounded + kRoundLarge - 1) / kRoundLarge * kRoundLarge;
}

int CachingAllocatorModel::newBlock(const Block& b)
{
    if (!unused_.empty()) {
        const int id = unused_.back();
        unused_.pop_back();
        blocks_[static_cast<std::size_t>(id)] = b;
        return id;
    }
    blocks_.push_back(b);
    return static_cast<int>(blocks_.size() - 1);
}

void CachingAllocatorModel::insertFree(int id)
{
    const Block& b = blocks_[static_cast<std::size_t>(id)];
    FreeSet& set = pool(b.small);
    const FreeKey key {b.size, b.address, id};
    set.insert(std::lower_bound(set.begin(), set.end(), key), key);
}

void CachingAllocatorModel::eraseFree(int id)
{
    const Block& b = blocks_[static_cast<std::size_t>(id)];
    FreeSet& set = pool(b.small);
    const FreeKey key {b.size, b.address, id};
    const auto it = std::lower_bound(set.begin(), set.end(), key);
    if (it != set.end() && it->block == id) // addresses are unique, so it always is
        set.erase(it);
}

int CachingAllocatorModel::mallocSegment(std::uint64_t size, bool small)
{
    if (size > capacity_ || reserved_ > capacity_ - size)
        return -1;
    Block b;
    b.address = nextAddress_;
    b.size = size;
    b.free = true;
    b.small = small;
    nextAddress_ += size;
    reserved_ += size;
    peakReserved_ = std::max(peakReserved_, reserved_);
    return newBlock(b);
}

void CachingAllocatorModel::releaseFreeSegments()
{
    if (expandable_) {
        for (bool small : {true, false}) {
            int& t = tail(small);
            if (t < 0 || !blocks_[static_cast<std::size_t>(t)].free)
                continue;
            const Block b = blocks_[static_cast<std::size_t>(t)];
            eraseFree(t);
            reserved_ -= b.size;
            (small ? smallEnd_ : largeEnd_) -= b.size;
            unused_.push_back(t);
            if (b.previous >= 0)
                blocks_[static_cast<std::size_t>(b.previous)].next = -1;
            t = b.previous;
        }
        return;
    }
    for (FreeSet* set : {&smallFree_, &largeFree_}) {
        for (auto it = set->begin(); it != set->end();) {
            const int id = it->block;
            const Block& b = blocks_[static_cast<std::size_t>(id)];
            if (b.previous < 0 && b.next < 0) {
                reserved_ -= b.size;
                unused_.push_back(id);
                it = set->erase(it);
            } else {
                ++it;
            }
        }
    }
}

int CachingAllocatorModel::growExpandable(std::uint64_t size, bool small)
{
    const std::uint64_t page = small ? kSmallBuffer : kLargeBuffer;
    int& t = tail(small);
    const bool extend = t >= 0 && blocks_[static_cast<std::size_t>(t)].free;
    const std::uint64_t have = extend ? blocks_[static_cast<std::size_t>(t)].size : 0;
    const std::uint64_t grow = (size - have + page - 1) / page * page;
    if (grow > capacity_ || reserved_ > capacity_ - grow)
        return -1;
    reserved_ += grow;
    peakReserved_ = std::max(peakReserved_, reserved_);
    // Each pool's segment has its own address range, which only ever grows at its end.
    std::uint64_t& end = small ? smallEnd_ : largeEnd_;
    const std::uint64_t address = end;
    end += grow;
    if (extend) {
        eraseFree(t);
        blocks_[static_cast<std::size_t>(t)].size += grow;
        return t;
    }
    Block b;
    b.address = address;
    b.size = grow;
    b.free = true;
    b.small = small;
    b.previous = t;
    const int id = newBlock(b);
    if (t >= 0)
        blocks_[static_cast<std::size_t>(t)].next = id;
    t = id;
    return id;
}

int CachingAllocatorModel::allocate(std::uint64_t bytes)
{
    if (outOfMemory_ || bytes == 0)
        return -1;
    const std::uint64_t size = roundSize(bytes);
    const bool small = size <= kSmallSize;
    FreeSet& set = pool(small);
    int id = -1;
    const auto it = std::lower_bound(set.begin(), set.end(), FreeKey {size, 0, -1});
    if (it != set.end()) {
        id = it->block;
        set.erase(it);
    } else {
        const std::uint64_t segment = segmentSize(size);
        id = expandable_ ? growExpandable(size, small) : mallocSegment(segment, small);
        if (id < 0) {
            // cudaMalloc failed: give every wholly cached segment back and try once more.
            releaseFreeSegments();
            id = expandable_ ? growExpandable(size, small) : mallocSegment(segment, small);
        }
        if (id < 0) {
            outOfMemory_ = true;
            return -1;
        }
    }
    Block& b = blocks_[static_cast<std::size_t>(id)];
    const std::uint64_t remaining = b.size - size;
    if (small ? remaining >= kMinBlockSize : remaining > kSmallSize) {
        Block rest;
        rest.address = b.address + size;
        rest.size = remaining;
        rest.previous = id;
        rest.next = b.next;
        rest.free = true;
        rest.small = small;
        b.size = size;
        const int restId = newBlock(rest); // may reallocate blocks_: no reference to b past here
        Block& split = blocks_[static_cast<std::size_t>(id)];
        if (split.next >= 0)
            blocks_[static_cast<std::size_t>(split.next)].previous = restId;
        else if (expandable_ && tail(small) == id)
            tail(small) = restId;
        split.next = restId;
        insertFree(restId);
    }
    Block& used = blocks_[static_cast<std::size_t>(id)];
    used.free = false;
    allocated_ += used.size;
    peakAllocated_ = std::max(peakAllocated_, allocated_);
    return id;
}

void CachingAllocatorModel::release(int id)
{
    if (id < 0)
        return;
    Block* b = &blocks_[static_cast<std::size_t>(id)];
    b->free = true;
    allocated_ -= b->size;
    // Merge with the free neighbours of the same segment.
    if (b->previous >= 0 && blocks_[static_cast<std::size_t>(b->previous)].free) {
        const int previous = b->previous;
        Block& p = blocks_[static_cast<std::size_t>(previous)];
        eraseFree(previous);
        p.size += b->size;
        p.next = b->next;
        if (p.next >= 0)
            blocks_[static_cast<std::size_t>(p.next)].previous = previous;
        if (expandable_ && tail(p.small) == id)
            tail(p.small) = previous;
        unused_.push_back(id);
        id = previous;
        b = &p;
    }
    if (b->next >= 0 && blocks_[static_cast<std::size_t>(b->next)].free) {
        const int next = b->next;
        Block& n = blocks_[static_cast<std::size_t>(next)];
        eraseFree(next);
        b->size += n.size;
        b->next = n.next;
        if (b->next >= 0)
            blocks_[static_cast<std::size_t>(b->next)].previous = id;
        if (expandable_ && tail(b->small) == next)
            tail(b->small) = id;
        unused_.push_back(next);
    }
    insertFree(id);
}

void CachingAllocatorModel::emptyCache()
{
    releaseFreeSegments();
}

void CachingAllocatorModel::resetPeaks()
{
    peakAllocated_ = allocated_;
    peakReserved_ = reserved_;
}

} // namespace quantlens::core
