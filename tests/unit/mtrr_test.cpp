#include "lib/mtrr.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <utility>

#include "ept/ept_format.hpp"
#include "ept/host_memory_types.hpp"
#include "tests/unit/fake_table_memory.hpp"

namespace {

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
constexpr auto UC = MemoryType::uncacheable, WC = MemoryType::write_combining, WT = MemoryType::write_through,
               WP = MemoryType::write_protected, WB = MemoryType::write_back;
constexpr uint64_t kEnabled = 1u << 11, kFixedEnabled = 1u << 10, kValid = 1u << 11;

uint64_t fixed_bytes(MemoryType type) { return 0x0101010101010101ull * uint8_t(type); }

// Default `def`, fixed ranges off, no variable range yet; 36-bit physical addresses.
mtrr::Registers registers(MemoryType def, bool fixed = false)
{
    mtrr::Registers r;
    r.present = true;
    r.cap = 8 | (1u << 8) | (1u << 10);
    r.def_type = uint8_t(def) | kEnabled | (fixed ? kFixedEnabled : 0);
    r.physical_address_bits = 36;
    return r;
}

// A variable range of `size` (a power of two) at `base`, aligned to it.
void add(mtrr::Registers& r, uint64_t base, uint64_t size, MemoryType type)
{
    uint64_t width_mask = (1ull << r.physical_address_bits) - 1;
    r.variable[r.variable_count++] = {base | uint8_t(type), (~(size - 1) & width_mask) | kValid};
}

// What Bochs 2.7's BIOS programs (its boot log, tests/integration/bochs_1cpu.sh): WB by default,
// the first 640 KiB WB and the rest of the first MiB UC in the fixed ranges, [3 GiB, 4 GiB) UC;
// 40-bit physical addresses.
mtrr::Registers bochs()
{
    mtrr::Registers r = registers(WB, true);
    r.physical_address_bits = 40;
    r.fixed[0] = r.fixed[1] = fixed_bytes(WB);
    r.fixed[2] = fixed_bytes(UC);
    for (int i = 3; i < 11; ++i) r.fixed[i] = fixed_bytes(UC);
    add(r, 3 * GiB, 1 * GiB, UC);
    return r;
}

using TypedRun = std::pair<uint64_t, MemoryType>;  // length, type

TypedRun run(const mtrr::Registers& r, uint64_t address, uint64_t limit)
{
    MemoryType type;
    uint64_t length = mtrr::uniform_run(r, address, limit, type);
    return {length, type};
}

TEST(Mtrr, BochsMap)
{
    mtrr::Registers r = bochs();
    EXPECT_EQ(mtrr::type_at(r, 0), WB);
    EXPECT_EQ(mtrr::type_at(r, 0x9f000), WB);
    EXPECT_EQ(mtrr::type_at(r, 0xa0000), UC);
    EXPECT_EQ(mtrr::type_at(r, 0xfffff), UC);
    EXPECT_EQ(mtrr::type_at(r, 1 * MiB), WB);
    EXPECT_EQ(mtrr::type_at(r, 3 * GiB - 1), WB);
    EXPECT_EQ(mtrr::type_at(r, 3 * GiB), UC);
    EXPECT_EQ(mtrr::type_at(r, 4 * GiB - 4096), UC);
    EXPECT_EQ(mtrr::type_at(r, 4 * GiB), WB);
    EXPECT_EQ(run(r, 0, 1 * MiB), TypedRun(0xa0000ull, WB));
    EXPECT_EQ(run(r, 0xa0000, 1 * MiB), TypedRun(0x60000ull, UC));
    EXPECT_EQ(run(r, 1 * MiB, 8 * GiB), TypedRun(3 * GiB - 1 * MiB, WB));
    EXPECT_EQ(run(r, 3 * GiB, 8 * GiB), TypedRun(1 * GiB, UC));
    EXPECT_EQ(run(r, 4 * GiB, 8 * GiB), TypedRun(8 * GiB, WB));
}

TEST(Mtrr, WithoutMtrrsAllIsWriteBackAndDisabledAllIsUncacheable)
{
    mtrr::Registers none;
    EXPECT_EQ(mtrr::type_at(none, 0), WB);
    EXPECT_EQ(run(none, 0x1000, 5 * GiB), TypedRun(5 * GiB, WB));
    mtrr::Registers off = bochs();
    off.def_type &= ~kEnabled;  // E=0: everything UC, fixed and variable ranges ignored
    EXPECT_EQ(mtrr::type_at(off, 0), UC);
    EXPECT_EQ(mtrr::type_at(off, 1 * MiB), UC);
    EXPECT_EQ(run(off, 0, 5 * GiB), TypedRun(5 * GiB, UC));
}

TEST(Mtrr, FixedRangesOnlyWhenFixedEnabledAndSupported)
{
    mtrr::Registers r = bochs();
    r.def_type &= ~kFixedEnabled;  // the first MiB falls to the variable ranges and the default
    EXPECT_EQ(mtrr::type_at(r, 0xa0000), WB);
    EXPECT_EQ(run(r, 0, 8 * MiB), TypedRun(8 * MiB, WB));
    r = bochs();
    r.cap &= ~(1u << 8);  // FE without FIX support means nothing
    EXPECT_EQ(mtrr::type_at(r, 0xa0000), WB);
}

TEST(Mtrr, FixedRangeGranules)
{
    mtrr::Registers r = registers(WB, true);
    for (int i = 0; i < 11; ++i) r.fixed[i] = fixed_bytes(WB);
    r.fixed[0] = (fixed_bytes(WB) & ~(0xffull << 56)) | (uint64_t(uint8_t(WT)) << 56);  // 0x70000-0x7ffff
    r.fixed[2] = (fixed_bytes(WB) & ~0xffffull) | 0x0101;  // 0xa0000-0xa7fff WC
    r.fixed[10] = (fixed_bytes(WB) & ~(0xffull << 56)) | (uint64_t(uint8_t(WP)) << 56);  // 0xff000 WP
    EXPECT_EQ(mtrr::type_at(r, 0x6ffff), WB);
    EXPECT_EQ(mtrr::type_at(r, 0x70000), WT);
    EXPECT_EQ(mtrr::type_at(r, 0xa7fff), WC);
    EXPECT_EQ(mtrr::type_at(r, 0xa8000), WB);
    EXPECT_EQ(mtrr::type_at(r, 0xfefff), WB);
    EXPECT_EQ(mtrr::type_at(r, 0xff000), WP);
    EXPECT_EQ(run(r, 0, 1 * MiB), TypedRun(0x70000ull, WB));
    EXPECT_EQ(run(r, 0x70000, 1 * MiB), TypedRun(0x10000ull, WT));
    EXPECT_EQ(run(r, 0x80000, 1 * MiB), TypedRun(0x20000ull, WB));
    EXPECT_EQ(run(r, 0xa0000, 1 * MiB), TypedRun(0x8000ull, WC));
    EXPECT_EQ(run(r, 0xa8000, 8 * MiB), TypedRun(0xff000ull - 0xa8000, WB));
    EXPECT_EQ(run(r, 0xff000, 8 * MiB), TypedRun(0x1000ull, WP));
    EXPECT_EQ(run(r, 0x100000, 8 * MiB), TypedRun(8 * MiB, WB));
}

TEST(Mtrr, OverlapRules)
{
    mtrr::Registers r = registers(WB);
    add(r, 0, 1 * GiB, WB);
    add(r, 256 * MiB, 256 * MiB, UC);  // UC wins over WB
    add(r, 0, 64 * MiB, WT);           // WT and WB give WT
    add(r, 32 * MiB, 32 * MiB, WT);    // WT twice (and WB) is still WT
    add(r, 128 * MiB, 64 * MiB, WC);   // WC with WB is undefined: UC
    add(r, 2 * GiB, 2 * MiB, WP);
    add(r, 2 * GiB, 2 * MiB, WP);  // the same type twice is that type
    EXPECT_EQ(mtrr::type_at(r, 0), WT);
    EXPECT_EQ(mtrr::type_at(r, 48 * MiB), WT);
    EXPECT_EQ(mtrr::type_at(r, 64 * MiB), WB);
    EXPECT_EQ(mtrr::type_at(r, 128 * MiB), UC);
    EXPECT_EQ(mtrr::type_at(r, 192 * MiB), WB);
    EXPECT_EQ(mtrr::type_at(r, 256 * MiB), UC);
    EXPECT_EQ(mtrr::type_at(r, 2 * GiB), WP);
    EXPECT_EQ(mtrr::type_at(r, 2 * GiB + 2 * MiB), WB);  // no match: the default
    EXPECT_EQ(run(r, 0, 4 * GiB), TypedRun(64 * MiB, WT));
    EXPECT_EQ(run(r, 64 * MiB, 4 * GiB), TypedRun(64 * MiB, WB));
    EXPECT_EQ(run(r, 128 * MiB, 4 * GiB), TypedRun(64 * MiB, UC));
    EXPECT_EQ(run(r, 256 * MiB, 4 * GiB), TypedRun(256 * MiB, UC));
    EXPECT_EQ(run(r, 512 * MiB, 4 * GiB), TypedRun(1536 * MiB, WB));  // 1 GiB range, then default
}

TEST(Mtrr, ReservedTypesAreUncacheable)
{
    mtrr::Registers r = registers(MemoryType(2));
    EXPECT_EQ(mtrr::type_at(r, 0), UC);
    add(r, 1 * GiB, 1 * GiB, MemoryType(7));
    EXPECT_EQ(mtrr::type_at(r, 1 * GiB), UC);
    r = registers(WB, true);
    r.fixed[0] = 0x0303030303030303;
    EXPECT_EQ(mtrr::type_at(r, 0), UC);
}

TEST(Mtrr, InvalidRangesAndMaskBitsAboveThePhysicalWidthAreIgnored)
{
    mtrr::Registers r = registers(WB);
    add(r, 1 * GiB, 1 * GiB, UC);
    r.variable[0].mask &= ~kValid;
    EXPECT_EQ(mtrr::type_at(r, 1 * GiB), WB);
    r = registers(WB);
    add(r, 1 * GiB, 1 * GiB, UC);
    r.variable[0].mask |= 0xfff0'0000'0000'0000;  // beyond 36 bits: not part of the match
    EXPECT_EQ(mtrr::type_at(r, 1 * GiB), UC);
    EXPECT_EQ(run(r, 1 * GiB, 4 * GiB), TypedRun(1 * GiB, UC));
}

// A mask with a hole (legal, discouraged): bits 35:30 and 21 set matches every other 2 MiB block of
// [1 GiB, 2 GiB). Runs must still end exactly where the type changes.
TEST(Mtrr, NonContiguousMask)
{
    mtrr::Registers r = registers(WB);
    r.variable[r.variable_count++] = {(1 * GiB + 2 * MiB) | uint8_t(UC), 0xfc000'0000ull | (1ull << 21) | kValid};
    EXPECT_EQ(mtrr::type_at(r, 1 * GiB), WB);
    EXPECT_EQ(mtrr::type_at(r, 1 * GiB + 2 * MiB), UC);
    EXPECT_EQ(mtrr::type_at(r, 1 * GiB + 4 * MiB), WB);
    EXPECT_EQ(mtrr::type_at(r, 1 * GiB + 6 * MiB), UC);
    EXPECT_EQ(mtrr::type_at(r, 2 * GiB + 2 * MiB), WB);
    EXPECT_EQ(run(r, 0, 4 * GiB), TypedRun(1 * GiB + 2 * MiB, WB));
    EXPECT_EQ(run(r, 1 * GiB + 2 * MiB, 4 * GiB), TypedRun(2 * MiB, UC));
    EXPECT_EQ(run(r, 2 * GiB - 2 * MiB, 4 * GiB), TypedRun(2 * MiB, UC));
    EXPECT_EQ(run(r, 2 * GiB, 4 * GiB), TypedRun(4 * GiB, WB));
}

// Every run is uniform by type_at and maximal (the next page has another type), whatever the
// registers: random ranges over the first 64 MiB, checked page by page.
TEST(Mtrr, RunsAgreeWithTypeAtPageByPage)
{
    std::mt19937_64 random(6);
    const MemoryType types[] = {UC, WC, WT, WP, WB};
    constexpr uint64_t kSpace = 64 * MiB, kPage = 4 * KiB;
    for (int round = 0; round < 40; ++round) {
        mtrr::Registers r = registers(types[random() % 5], random() % 2);
        for (int i = 0; i < 11; ++i)
            for (int b = 0; b < 8; ++b) r.fixed[i] |= uint64_t(uint8_t(types[random() % 5])) << (8 * b);
        int ranges = int(random() % 6);
        for (int i = 0; i < ranges; ++i) {
            uint64_t size = 4 * KiB << (random() % 14);
            add(r, (random() % kSpace) & ~(size - 1), size, types[random() % 5]);
        }
        for (uint64_t at = 0; at < kSpace;) {
            auto [length, type] = run(r, at, kSpace - at);
            ASSERT_GT(length, 0u);
            ASSERT_EQ(length % kPage, 0u);
            for (uint64_t page = at; page < at + length; page += kPage)
                ASSERT_EQ(mtrr::type_at(r, page), type) << "round " << round << " page 0x" << std::hex << page;
            at += length;
            if (at < kSpace) {
                ASSERT_NE(mtrr::type_at(r, at), type) << "round " << round << " run not maximal";
            }
        }
    }
}

using EptTable = PageTable<ept::EptFormat, FakeMemory>;

// Leaves of `table` by (level, type).
std::map<std::pair<int, MemoryType>, size_t> census(const EptTable& table)
{
    std::map<std::pair<int, MemoryType>, size_t> leaves;
    table.for_each_leaf([&](uint64_t, int level, Access access) { ++leaves[{level, access.type}]; });
    return leaves;
}

// Guest [0, 4 GiB) backed by host [4 GiB, 8 GiB): one UC 4 KiB page, one WT 2 MiB block and a UC
// GiB in the host range. Large pages stay only where their whole range has one type.
TEST(MapWithHostTypes, SplitsLargePagesAtTypeChanges)
{
    mtrr::Registers r = registers(WB);
    add(r, 4 * GiB + 0x201000, 4 * KiB, UC);
    add(r, 4 * GiB + 1 * GiB + 6 * MiB, 2 * MiB, WT);
    add(r, 4 * GiB + 3 * GiB, 1 * GiB, UC);
    FakeMemory memory;
    ept::EptFormat format{};
    format.allow_2m = format.allow_1g = true;
    EptTable table(format, memory);
    ASSERT_TRUE(table.init());
    const Access ram{.read = true, .write = true, .execute = true};
    ASSERT_TRUE(ept::map_with_host_types(table, r, 0, 4 * GiB, 4 * GiB, ram));

    auto leaves = census(table);
    using Key = std::pair<int, MemoryType>;
    std::map<Key, size_t> expected = {
        {{1, WB}, 511}, {{1, UC}, 1},  // the 2 MiB page holding the UC page, split
        {{2, WB}, 511 + 511},          // the rest of the first and second GiB in 2 MiB pages
        {{2, WT}, 1},
        {{3, WB}, 1},  // the third GiB whole
        {{3, UC}, 1},  // the fourth GiB whole, UC
    };
    EXPECT_EQ(leaves, expected);

    uint64_t phys;
    Access access;
    int level;
    ASSERT_TRUE(table.translate(0x201000, phys, access, level));
    EXPECT_EQ(phys, 4 * GiB + 0x201000);
    EXPECT_EQ(access.type, UC);
    EXPECT_EQ(level, 1);
    ASSERT_TRUE(table.translate(0x202000, phys, access, level));
    EXPECT_EQ(access.type, WB);
    ASSERT_TRUE(table.translate(1 * GiB + 7 * MiB, phys, access, level));
    EXPECT_EQ(phys, 5 * GiB + 7 * MiB);
    EXPECT_EQ(access.type, WT);
    EXPECT_EQ(level, 2);
    ASSERT_TRUE(table.translate(3 * GiB + 12345, phys, access, level));
    EXPECT_EQ(access.type, UC);
    EXPECT_EQ(level, 3);
    EXPECT_TRUE(access.read && access.write && access.execute);
}

// The Bochs map with guest RAM whose host frames straddle the UC hole at 3 GiB: the pages below
// are WB, those in the hole UC, and the guest-to-host offset is kept. Guest and host addresses
// differ by 1 MiB modulo 2 MiB, so no 2 MiB page is possible at all.
TEST(MapWithHostTypes, BochsHoleAtAnUnalignedOffset)
{
    mtrr::Registers r = bochs();
    FakeMemory memory;
    ept::EptFormat format{};
    format.allow_2m = true;
    EptTable table(format, memory);
    ASSERT_TRUE(table.init());
    const Access ram{.read = true, .write = true, .execute = true};
    ASSERT_TRUE(ept::map_with_host_types(table, r, 1 * MiB, 3 * GiB - 4 * MiB, 8 * MiB, ram));
    std::map<std::pair<int, MemoryType>, size_t> expected = {{{1, WB}, 1024}, {{1, UC}, 1024}};
    EXPECT_EQ(census(table), expected);
    uint64_t phys;
    Access access;
    int level;
    ASSERT_TRUE(table.translate(5 * MiB - 1, phys, access, level));
    EXPECT_EQ(phys, 3 * GiB - 1);
    EXPECT_EQ(access.type, WB);
    ASSERT_TRUE(table.translate(5 * MiB, phys, access, level));
    EXPECT_EQ(phys, 3 * GiB);
    EXPECT_EQ(access.type, UC);
}

TEST(MapWithHostTypes, OutOfMemoryFails)
{
    mtrr::Registers r = registers(WB);
    add(r, 0x201000, 4 * KiB, UC);
    FakeMemory memory;
    ept::EptFormat format{};
    format.allow_2m = true;
    EptTable table(format, memory);
    ASSERT_TRUE(table.init());
    memory.set_budget(2);  // a PDPT and a PD, but no page table for the split 2 MiB page
    EXPECT_FALSE(ept::map_with_host_types(table, r, 0, 0, 4 * MiB, Access{.read = true, .write = true}));
}

}  // namespace
