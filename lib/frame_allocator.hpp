// Physical memory allocator built from the boot memory map: a sorted, coalesced array of free
// ranges with a fixed capacity, so it needs no heap and can be a constant-initialised global.
//
// Usage at boot: add_free() every usable memory-map entry (overlaps are merged), then reserve()
// every reserved entry and whatever the boot loader and the image occupy (reserve wins over
// add_free regardless of overlaps), then allocate()/free().
#pragma once
#include <cstddef>
#include <cstdint>

class FrameAllocator {
public:
    static constexpr uint64_t kPageSize = 4096;
    static constexpr uint64_t kNone = ~0ull;
    static constexpr size_t kCapacity = 512;
    // The top page of the 64-bit space is never tracked, so a range's exclusive end is always
    // representable and base + length never wraps. No physical address comes near it
    // (MAXPHYADDR is at most 52, SDM Vol. 3A 4.1.4).
    static constexpr uint64_t kLimit = 0ull - kPageSize;

    struct Range {
        uint64_t base = 0;
        uint64_t length = 0;
    };

    constexpr FrameAllocator() = default;

    // Rounds inward to whole pages; merges with overlapping or adjacent free ranges.
    void add_free(uint64_t base, uint64_t length);
    // Rounds outward to whole pages; removes the pages from the free set wherever they overlap.
    void reserve(uint64_t base, uint64_t length);
    // size is rounded up to pages; alignment must be a power of two (below 4 KiB counts as 4 KiB);
    // the allocation ends at or below `below`. Returns the base, or kNone.
    uint64_t allocate(uint64_t size, uint64_t alignment = kPageSize, uint64_t below = kNone);
    // Returns false, changing nothing, if base is not page aligned, size is 0, or any page of the
    // block is already free (double free, or a block that was never allocated from this set).
    // Also false if the block could not be recorded because capacity ran out (see overflowed()).
    bool free(uint64_t base, uint64_t size);

    uint64_t free_bytes() const;
    size_t range_count() const { return count_; }
    // Ranges in ascending address order; i < range_count().
    Range range(size_t i) const { return {ranges_[i].base, ranges_[i].end - ranges_[i].base}; }
    // True once some free memory had to be dropped because a range could not be recorded:
    // the dropped pages are never handed out, so this loses memory but never corrupts.
    bool overflowed() const { return overflowed_; }

private:
    struct Span {
        uint64_t base = 0;
        uint64_t end = 0; // exclusive, <= kLimit
    };

    // Merges [base, end) into the set; false (and overflowed_) if a new slot was needed but none left.
    bool insert(uint64_t base, uint64_t end);
    // Removes [base, end), which lies inside ranges_[i], from that range.
    void carve(size_t i, uint64_t base, uint64_t end);
    void erase_at(size_t i, size_t n);
    bool insert_at(size_t i, Span span);

    Span ranges_[kCapacity]{};
    size_t count_ = 0;
    bool overflowed_ = false;
};
