#include "lib/frame_allocator.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <utility>
#include <vector>

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t GiB = 1024 * MiB;
constexpr uint64_t kPage = FrameAllocator::kPageSize;
constexpr uint64_t kNone = FrameAllocator::kNone;

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>; // base, length

Ranges ranges_of(const FrameAllocator& a)
{
    Ranges out;
    for (size_t i = 0; i < a.range_count(); ++i) out.emplace_back(a.range(i).base, a.range(i).length);
    return out;
}

bool is_free(const FrameAllocator& a, uint64_t address)
{
    for (size_t i = 0; i < a.range_count(); ++i)
        if (address >= a.range(i).base && address - a.range(i).base < a.range(i).length) return true;
    return false;
}

// 8 KiB of ranges: keep it off the stack.
std::unique_ptr<FrameAllocator> make() { return std::make_unique<FrameAllocator>(); }

// A QEMU/PC-like E820 map, including firmware quirks: a usable entry not page aligned, two usable
// entries overlapping each other, a usable entry overlapping a reserved one, and a reserved entry
// smaller than a page.
void load_pc_map(FrameAllocator& a)
{
    a.add_free(0x0, 0x9fc00);                   // base memory, ends mid-page
    a.add_free(0x100000, 0x7fee0000 - 0x100000); // up to ACPI tables
    a.add_free(0x100000000, 0x100000000);        // 4 GiB .. 8 GiB
    a.add_free(0x180000000, 0x100000000);        // overlaps the previous: 6 GiB .. 10 GiB
    a.add_free(0x7fee0000, 0x20000);             // listed usable, but also listed as ACPI below
    a.reserve(0x0, 0x1000);                      // real-mode IVT / BDA
    a.reserve(0x9fc00, 0x400);                   // EBDA
    a.reserve(0xf0000, 0x10000);                 // BIOS ROM
    a.reserve(0x7fee0000, 0x20000);              // ACPI reclaimable
    a.reserve(0xfec00000, 0x1400000);            // IOAPIC .. end of 4 GiB
    a.reserve(0x10000800, 0x10);                 // 16 bytes: takes the whole page
    a.reserve(0x100000, 0x345678 - 0x100000);    // hypervisor image, ends mid-page
}

TEST(FrameAllocator, StartsEmpty)
{
    auto a = make();
    EXPECT_EQ(a->range_count(), 0u);
    EXPECT_EQ(a->free_bytes(), 0u);
    EXPECT_EQ(a->allocate(kPage), kNone);
    EXPECT_FALSE(a->overflowed());
}

TEST(FrameAllocator, RealisticMemoryMap)
{
    auto a = make();
    load_pc_map(*a);
    Ranges expected = {
        {0x1000, 0x9f000 - 0x1000},
        {0x346000, 0x10000000 - 0x346000},
        {0x10001000, 0x7fee0000 - 0x10001000},
        {0x100000000, 0x180000000},
    };
    EXPECT_EQ(ranges_of(*a), expected);
    uint64_t total = 0;
    for (auto& [base, length] : expected) total += length;
    EXPECT_EQ(a->free_bytes(), total);
    EXPECT_FALSE(a->overflowed());
    EXPECT_FALSE(is_free(*a, 0x10000000));
    EXPECT_FALSE(is_free(*a, 0x345000));
    EXPECT_TRUE(is_free(*a, 0x346000));
}

TEST(FrameAllocator, AddFreeRoundsInwardAndMerges)
{
    auto a = make();
    a->add_free(0x1001, 0x1000); // no whole page inside
    EXPECT_EQ(a->range_count(), 0u);
    a->add_free(0x1001, 0x2fff); // [0x1001, 0x4000) -> [0x2000, 0x4000)
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x2000, 0x2000}}));
    a->add_free(0x6000, 0x1000);
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x2000, 0x2000}, {0x6000, 0x1000}}));
    a->add_free(0x4000, 0x2000); // fills the gap exactly: one range
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x2000, 0x5000}}));
    a->add_free(0x1000, 0x10000); // covers everything
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x1000, 0x10000}}));
    a->add_free(0x3000, 0x1000); // inside: no change
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x1000, 0x10000}}));
}

TEST(FrameAllocator, ReserveRoundsOutwardAndSplits)
{
    auto a = make();
    a->add_free(0x0, 0x10000);
    a->add_free(0x20000, 0x10000);
    a->reserve(0x3fff, 2); // straddles a page boundary: two pages
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x0, 0x3000}, {0x5000, 0xb000}, {0x20000, 0x10000}}));
    a->reserve(0x8000, 0x1a000); // spans the gap between ranges
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x0, 0x3000}, {0x5000, 0x3000}, {0x22000, 0xe000}}));
    a->reserve(0x0, 0x100000);
    EXPECT_EQ(a->range_count(), 0u);
    a->reserve(0x0, 0); // nothing
    EXPECT_EQ(a->range_count(), 0u);
}

TEST(FrameAllocator, AllocatesHighestFirst)
{
    auto a = make();
    load_pc_map(*a);
    EXPECT_EQ(a->allocate(1), 0x280000000 - kPage);
    EXPECT_EQ(a->allocate(kPage + 1), 0x280000000 - 3 * kPage);
    EXPECT_EQ(ranges_of(*a).back(), (std::pair<uint64_t, uint64_t>{0x100000000, 0x180000000 - 3 * kPage}));
}

TEST(FrameAllocator, Alignment2MAnd1G)
{
    auto a = make();
    a->add_free(0x100000, 0x7fee0000 - 0x100000);
    // Highest 2 MiB-aligned block that fits below 0x7fee0000.
    EXPECT_EQ(a->allocate(2 * MiB, 2 * MiB), 0x7fc00000u);
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x100000, 0x7fc00000 - 0x100000}, {0x7fe00000, 0xe0000}}));
    // 1 GiB aligned: only 0x40000000 works, and it splits the range into head and tail.
    EXPECT_EQ(a->allocate(4 * kPage, GiB), 0x40000000u);
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x100000, 0x40000000 - 0x100000},
                                     {0x40004000, 0x7fc00000 - 0x40004000},
                                     {0x7fe00000, 0xe0000}}));
    EXPECT_EQ(a->allocate(GiB, GiB), kNone); // no whole aligned gigabyte left
    EXPECT_EQ(a->allocate(kPage, 3 * kPage), kNone); // not a power of two
    EXPECT_EQ(a->allocate(kPage, 0), kNone);
    // Below 4 KiB alignment is page alignment.
    EXPECT_EQ(a->allocate(kPage, 16), 0x7fee0000u - kPage);
}

TEST(FrameAllocator, OneGigabyteAlignedGigabyte)
{
    auto a = make();
    a->add_free(0x100000000 + kPage, 3 * GiB); // [0x1'0000'1000, 0x1'c000'1000)
    EXPECT_EQ(a->allocate(GiB, GiB), 0x180000000u);
    EXPECT_EQ(a->allocate(GiB, GiB), 0x140000000u);
    EXPECT_EQ(a->allocate(GiB, GiB), kNone);
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x100001000, GiB - kPage}, {0x1c0000000, kPage}}));
}

TEST(FrameAllocator, BelowLimit)
{
    auto a = make();
    load_pc_map(*a);
    EXPECT_EQ(a->allocate(kPage, kPage, MiB), 0x9e000u);           // AP trampoline
    EXPECT_EQ(a->allocate(kPage, kPage, 0x9e800), 0x9d000u);       // partial page below: ignored
    EXPECT_EQ(a->allocate(16 * kPage, kPage, 4 * GiB), 0x7fee0000u - 16 * kPage);
    EXPECT_EQ(a->allocate(2 * MiB, 2 * MiB, 4 * GiB), 0x7fc00000u);
    EXPECT_EQ(a->allocate(kPage, kPage, 0x1000), kNone); // page 0 is reserved
    EXPECT_EQ(a->allocate(kPage, kPage, 0), kNone);
    EXPECT_EQ(a->allocate(MiB, kPage, MiB), kNone);      // base memory is smaller than that
    EXPECT_EQ(a->allocate(kPage, kPage, 0x2000), 0x1000u);
    EXPECT_EQ(a->allocate(kPage, kPage, 0x2000), kNone);
}

TEST(FrameAllocator, Exhaustion)
{
    auto a = make();
    a->add_free(0x10000, 16 * kPage);
    a->add_free(0x40000, 4 * kPage);
    EXPECT_EQ(a->allocate(17 * kPage), kNone); // more than the largest range, less than the total
    std::vector<uint64_t> got;
    for (int i = 0; i < 20; ++i) {
        uint64_t p = a->allocate(kPage);
        ASSERT_NE(p, kNone) << i;
        got.push_back(p);
    }
    EXPECT_EQ(got.front(), 0x43000u);
    EXPECT_EQ(got[4], 0x1f000u);
    EXPECT_EQ(got.back(), 0x10000u);
    EXPECT_EQ(a->allocate(kPage), kNone);
    EXPECT_EQ(a->free_bytes(), 0u);
    EXPECT_EQ(a->range_count(), 0u);
    EXPECT_EQ(a->allocate(0), kNone);
    EXPECT_EQ(a->allocate(~0ull), kNone);
}

TEST(FrameAllocator, FreeCoalesces)
{
    auto a = make();
    a->add_free(0x100000, 64 * kPage);
    std::vector<uint64_t> blocks;
    for (int i = 0; i < 16; ++i) blocks.push_back(a->allocate(4 * kPage));
    EXPECT_EQ(a->allocate(kPage), kNone);
    std::mt19937 rng(7);
    std::shuffle(blocks.begin(), blocks.end(), rng);
    for (uint64_t b : blocks) EXPECT_TRUE(a->free(b, 4 * kPage)) << std::hex << b;
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x100000, 64 * kPage}}));
    EXPECT_EQ(a->allocate(64 * kPage), 0x100000u);
}

TEST(FrameAllocator, FreeMergesOnBothSides)
{
    auto a = make();
    a->add_free(0x10000, 3 * kPage);
    EXPECT_EQ(a->allocate(kPage), 0x12000u);
    EXPECT_EQ(a->allocate(kPage), 0x11000u);
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x10000, kPage}}));
    EXPECT_TRUE(a->free(0x12000, kPage));
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x10000, kPage}, {0x12000, kPage}}));
    EXPECT_TRUE(a->free(0x11000, 1)); // size rounds up to the page
    EXPECT_EQ(ranges_of(*a), (Ranges{{0x10000, 3 * kPage}}));
}

TEST(FrameAllocator, RefusesDoubleAndBadFrees)
{
    auto a = make();
    a->add_free(0x100000, 16 * kPage);
    uint64_t p = a->allocate(4 * kPage);
    ASSERT_EQ(p, 0x10c000u);
    EXPECT_TRUE(a->free(p, 4 * kPage));
    auto after = ranges_of(*a);
    EXPECT_FALSE(a->free(p, 4 * kPage));          // double free
    EXPECT_FALSE(a->free(p + kPage, kPage));      // inside a free range
    EXPECT_EQ(a->allocate(2 * kPage), 0x10e000u);
    EXPECT_FALSE(a->free(0x10c000, 4 * kPage));   // half of it is still free
    EXPECT_FALSE(a->free(0x0ff000, 2 * kPage));   // overlaps the range's start
    EXPECT_FALSE(a->free(0x10e800, kPage));       // not page aligned
    EXPECT_FALSE(a->free(0x10e000, 0));           // empty
    EXPECT_FALSE(a->free(FrameAllocator::kLimit - kPage, 2 * kPage)); // past the top
    EXPECT_FALSE(a->free(0x10e000, ~0ull));        // wraps
    EXPECT_TRUE(a->free(0x10e000, 2 * kPage));
    EXPECT_EQ(ranges_of(*a), after);
}

TEST(FrameAllocator, TopOfAddressSpace)
{
    auto a = make();
    a->add_free(0xffff'ffff'ffff'0000, 0x20000); // would wrap: clipped below the top page
    EXPECT_EQ(ranges_of(*a), (Ranges{{0xffff'ffff'ffff'0000, 0xf000}}));
    EXPECT_EQ(a->allocate(kPage), 0xffff'ffff'ffff'e000u);
    a->add_free(0xffff'ffff'ffff'f800, 0x800); // only part of the untracked top page
    EXPECT_EQ(a->free_bytes(), 0xe000u);
    a->reserve(0xffff'ffff'ffff'c123, ~0ull); // would wrap: reserves to the top
    EXPECT_EQ(ranges_of(*a), (Ranges{{0xffff'ffff'ffff'0000, 0xc000}}));
    EXPECT_TRUE(a->free(0xffff'ffff'ffff'd000, kPage));
    EXPECT_FALSE(a->free(0xffff'ffff'ffff'f000, kPage));

    auto b = make();
    b->add_free(0, ~0ull); // everything
    EXPECT_EQ(ranges_of(*b), (Ranges{{0, FrameAllocator::kLimit}}));
    EXPECT_EQ(b->free_bytes(), FrameAllocator::kLimit);
    EXPECT_EQ(b->allocate(GiB, GiB), 0xffff'ffff'8000'0000u);
}

TEST(FrameAllocator, CapacityOverflowIsReportedNotCorrupting)
{
    auto a = make();
    // Every other page: kCapacity separate ranges.
    for (uint64_t i = 0; i < FrameAllocator::kCapacity; ++i) a->add_free(0x100000 + 2 * i * kPage, kPage);
    ASSERT_EQ(a->range_count(), FrameAllocator::kCapacity);
    EXPECT_FALSE(a->overflowed());
    uint64_t total = a->free_bytes();

    // Merging needs no slot.
    a->add_free(0x100000 + kPage, kPage);
    EXPECT_EQ(a->range_count(), FrameAllocator::kCapacity - 1);
    EXPECT_EQ(a->free_bytes(), total + kPage);
    EXPECT_FALSE(a->overflowed());
    a->add_free(0x10000, kPage); // a new range fills the last slot
    EXPECT_EQ(a->range_count(), FrameAllocator::kCapacity);
    EXPECT_FALSE(a->overflowed());

    // A new separate range does not fit: dropped, reported.
    a->add_free(0x50000, kPage);
    EXPECT_TRUE(a->overflowed());
    EXPECT_EQ(a->range_count(), FrameAllocator::kCapacity);
    EXPECT_FALSE(is_free(*a, 0x50000));

    // A reservation in the middle of a range cannot be split into two: the smaller side is
    // dropped, and the reserved page is never handed out.
    auto b = make();
    for (uint64_t i = 0; i < FrameAllocator::kCapacity - 1; ++i) b->add_free(0x100000 + 2 * i * kPage, kPage);
    b->add_free(0x10000000, 8 * kPage);
    ASSERT_EQ(b->range_count(), FrameAllocator::kCapacity);
    b->reserve(0x10002000, kPage);
    EXPECT_TRUE(b->overflowed());
    EXPECT_EQ(b->range(FrameAllocator::kCapacity - 1).base, 0x10003000u);
    EXPECT_EQ(b->range(FrameAllocator::kCapacity - 1).length, 5 * kPage);
    EXPECT_FALSE(is_free(*b, 0x10002000));
    EXPECT_FALSE(is_free(*b, 0x10000000)); // dropped, not corrupted

    // An aligned allocation that would leave head and tail keeps the larger and still succeeds.
    auto c = make();
    for (uint64_t i = 0; i < FrameAllocator::kCapacity - 1; ++i) c->add_free(0x100000 + 2 * i * kPage, kPage);
    c->add_free(0x40000000 - 0x3000, 0x9000); // head 3 pages, tail 5 pages around 0x40000000
    ASSERT_EQ(c->range_count(), FrameAllocator::kCapacity);
    EXPECT_EQ(c->allocate(kPage, 2 * MiB), 0x40000000u);
    EXPECT_TRUE(c->overflowed());
    EXPECT_EQ(c->range(FrameAllocator::kCapacity - 1).base, 0x40001000u);
    EXPECT_EQ(c->range(FrameAllocator::kCapacity - 1).length, 5 * kPage);
    // Freeing something that needs a new slot is refused, not half-done.
    EXPECT_FALSE(c->free(0x40000000 - 0x3000, kPage));
    EXPECT_FALSE(is_free(*c, 0x40000000 - 0x3000));
}

// Model check: random allocations, frees, double frees and reservations against a page map.
TEST(FrameAllocator, MatchesReferenceModel)
{
    constexpr uint64_t kBase = 0x200000, kPages = 1024;
    auto a = make();
    std::vector<bool> model(kPages, true);
    std::vector<std::pair<uint64_t, uint64_t>> held; // base, pages
    std::mt19937_64 rng(12345);
    a->add_free(kBase, kPages * kPage);
    auto model_free = [&](uint64_t b, uint64_t pages) {
        for (uint64_t p = 0; p < pages; ++p)
            if (!model[(b - kBase) / kPage + p]) return false;
        return true;
    };
    for (int step = 0; step < 3000; ++step) {
        int op = int(rng() % 8);
        if (op < 4 || held.empty()) {
            uint64_t pages = 1 + rng() % 24;
            uint64_t align = kPage << (rng() % 6);
            uint64_t below = rng() % 2 ? kNone : kBase + (rng() % (kPages + 1)) * kPage;
            uint64_t got = a->allocate(pages * kPage, align, below);
            // Highest aligned block that is free and ends at or below `below`.
            uint64_t want = kNone;
            uint64_t ceiling = std::min<uint64_t>(below, kBase + kPages * kPage);
            if (ceiling >= kBase + pages * kPage) {
                for (uint64_t b = (ceiling - pages * kPage) & ~(align - 1); b >= kBase; b -= align) {
                    if (model_free(b, pages)) {
                        want = b;
                        break;
                    }
                }
            }
            ASSERT_EQ(got, want) << "step " << step;
            if (got != kNone) {
                for (uint64_t p = 0; p < pages; ++p) model[(got - kBase) / kPage + p] = false;
                held.emplace_back(got, pages);
            }
        } else if (op < 7) {
            size_t i = rng() % held.size();
            auto [b, pages] = held[i];
            held.erase(held.begin() + long(i));
            ASSERT_TRUE(a->free(b, pages * kPage)) << "step " << step;
            for (uint64_t p = 0; p < pages; ++p) model[(b - kBase) / kPage + p] = true;
            ASSERT_FALSE(a->free(b, pages * kPage)) << "step " << step;
            ASSERT_FALSE(a->free(b + (pages - 1) * kPage, 2 * kPage)) << "step " << step;
        } else {
            uint64_t first = kBase + (rng() % kPages) * kPage;
            uint64_t pages = std::min<uint64_t>(1 + rng() % 8, (kBase + kPages * kPage - first) / kPage);
            a->reserve(first + 1, pages * kPage - 2); // rounds outward to the same pages
            for (uint64_t p = 0; p < pages; ++p) model[(first - kBase) / kPage + p] = false;
            // Held blocks inside are now both held and reserved: forget them (never freed).
            std::erase_if(held, [&](auto& h) {
                return h.first < first + pages * kPage && first < h.first + h.second * kPage;
            });
        }
        uint64_t free_pages = 0;
        for (uint64_t p = 0; p < kPages; ++p) {
            ASSERT_EQ(is_free(*a, kBase + p * kPage), bool(model[p])) << "step " << step << " page " << p;
            free_pages += model[p];
        }
        ASSERT_EQ(a->free_bytes(), free_pages * kPage);
        for (size_t r = 1; r < a->range_count(); ++r) // sorted and coalesced
            ASSERT_LT(a->range(r - 1).base + a->range(r - 1).length, a->range(r).base);
    }
    EXPECT_FALSE(a->overflowed());
}

} // namespace
