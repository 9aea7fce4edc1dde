#include "lib/frame_allocator.hpp"

namespace {

constexpr uint64_t page_mask = FrameAllocator::kPageSize - 1;

constexpr uint64_t align_down(uint64_t value, uint64_t alignment) { return value & ~(alignment - 1); }

constexpr uint64_t min(uint64_t a, uint64_t b) { return a < b ? a : b; }
constexpr uint64_t max(uint64_t a, uint64_t b) { return a > b ? a : b; }

} // namespace

void FrameAllocator::add_free(uint64_t base, uint64_t length)
{
    if (length == 0 || base >= kLimit) return;
    // A firmware entry running past the top is clipped rather than allowed to wrap to 0.
    uint64_t end = length > kLimit - base ? kLimit : base + length;
    uint64_t first = align_down(base + page_mask, kPageSize);
    end = align_down(end, kPageSize);
    if (first >= end) return;
    insert(first, end);
}

void FrameAllocator::reserve(uint64_t base, uint64_t length)
{
    if (length == 0) return;
    uint64_t first = align_down(base, kPageSize);
    if (first >= kLimit) return;
    uint64_t end = length > kLimit - base ? kLimit : align_down(base + length + page_mask, kPageSize);
    // Backwards, so erasing an entry does not move the ones still to visit.
    for (size_t i = count_; i-- > 0;) {
        Span r = ranges_[i];
        if (r.base < end && r.end > first) carve(i, max(r.base, first), min(r.end, end));
    }
}

// Highest address first: low memory is the scarce kind. Real-mode AP trampolines need pages
// below 1 MiB and some structures need 32-bit physical addresses (below 4 GiB); callers that need
// those ask with `below`, and an allocator that grew upwards would have used them up first.
uint64_t FrameAllocator::allocate(uint64_t size, uint64_t alignment, uint64_t below)
{
    if (size == 0 || size > kLimit) return kNone;
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) return kNone;
    if (alignment < kPageSize) alignment = kPageSize;
    uint64_t bytes = align_down(size + page_mask, kPageSize);
    uint64_t ceiling = min(align_down(below, kPageSize), kLimit);
    for (size_t i = count_; i-- > 0;) {
        Span r = ranges_[i];
        uint64_t top = min(r.end, ceiling);
        if (top <= r.base || top - r.base < bytes) continue;
        uint64_t base = align_down(top - bytes, alignment);
        if (base < r.base) continue;
        carve(i, base, base + bytes);
        return base;
    }
    return kNone;
}

bool FrameAllocator::free(uint64_t base, uint64_t size)
{
    if (size == 0 || (base & page_mask) != 0 || base >= kLimit || size > kLimit - base) return false;
    uint64_t end = base + align_down(size + page_mask, kPageSize);
    for (size_t i = 0; i < count_ && ranges_[i].base < end; ++i)
        if (ranges_[i].end > base) return false;
    return insert(base, end);
}

uint64_t FrameAllocator::free_bytes() const
{
    uint64_t total = 0;
    for (size_t i = 0; i < count_; ++i) total += ranges_[i].end - ranges_[i].base;
    return total;
}

bool FrameAllocator::insert(uint64_t base, uint64_t end)
{
    size_t i = 0;
    while (i < count_ && ranges_[i].end < base) ++i;
    size_t j = i;
    while (j < count_ && ranges_[j].base <= end) {
        base = min(base, ranges_[j].base);
        end = max(end, ranges_[j].end);
        ++j;
    }
    if (j == i) return insert_at(i, {base, end});
    ranges_[i] = {base, end};
    erase_at(i + 1, j - i - 1);
    return true;
}

void FrameAllocator::carve(size_t i, uint64_t base, uint64_t end)
{
    Span& r = ranges_[i];
    bool head = base > r.base;
    bool tail = end < r.end;
    if (!head && !tail) {
        erase_at(i, 1);
    } else if (!tail) {
        r.end = base;
    } else if (!head) {
        r.base = end;
    } else if (insert_at(i + 1, {end, ranges_[i].end})) {
        ranges_[i].end = base;
    } else {
        // No slot for the second piece: keep the larger one and drop the other.
        if (base - r.base >= r.end - end) r.end = base;
        else r.base = end;
    }
}

void FrameAllocator::erase_at(size_t i, size_t n)
{
    if (n == 0) return;
    for (size_t k = i; k + n < count_; ++k) ranges_[k] = ranges_[k + n];
    count_ -= n;
}

bool FrameAllocator::insert_at(size_t i, Span span)
{
    if (count_ == kCapacity) {
        overflowed_ = true;
        return false;
    }
    for (size_t k = count_; k > i; --k) ranges_[k] = ranges_[k - 1];
    ranges_[i] = span;
    ++count_;
    return true;
}
