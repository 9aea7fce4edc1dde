#include "lib/page_table.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "ept/ept_format.hpp"
#include "tests/unit/fake_table_memory.hpp"

namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;
constexpr uint64_t GiB = 1024 * MiB;
constexpr uint64_t kPage = 4096;

using X86Table = PageTable<X86Format, FakeMemory>;
using EptTable = PageTable<ept::EptFormat, FakeMemory>;

struct Census {
    std::array<size_t, 5> leaves{}; // by level
    size_t tables = 0;
};

// Walks the tree by hand (not through PageTable) to count leaves per level and reachable tables.
template <class Format>
void census_of(const Format& f, FakeMemory& m, uint64_t table, int level, Census& c)
{
    ++c.tables;
    uint64_t* e = m.table(table);
    for (int i = 0; i < 512; ++i) {
        if (!f.present(e[i])) continue;
        if (f.is_leaf(e[i], level)) ++c.leaves[size_t(level)];
        else census_of(f, m, f.address(e[i], level), level - 1, c);
    }
}

template <class Table>
Census census(const Table& pt, FakeMemory& m)
{
    Census c;
    census_of(pt.format(), m, pt.root(), 4, c);
    return c;
}

// The raw entry that maps `va` (at whichever level the walk ends), or 0.
template <class Table>
uint64_t raw_leaf(const Table& pt, FakeMemory& m, uint64_t va)
{
    uint64_t table = pt.root();
    for (int level = 4; level >= 1; --level) {
        uint64_t e = m.table(table)[Table::index(va, level)];
        if (!pt.format().present(e)) return 0;
        if (pt.format().is_leaf(e, level)) return e;
        table = pt.format().address(e, level);
    }
    return 0;
}

// The raw entry at `level` on the walk for `va`.
template <class Table>
uint64_t raw_entry(const Table& pt, FakeMemory& m, uint64_t va, int at_level)
{
    uint64_t table = pt.root();
    for (int level = 4; level >= 1; --level) {
        uint64_t e = m.table(table)[Table::index(va, level)];
        if (level == at_level) return e;
        table = pt.format().address(e, level);
    }
    return 0;
}

struct Translation {
    bool ok = false;
    uint64_t phys = 0;
    Access access;
    int level = 0;
    bool operator==(const Translation&) const = default;
};

template <class Table>
Translation walk(const Table& pt, uint64_t va)
{
    Translation t;
    t.ok = pt.translate(va, t.phys, t.access, t.level);
    return t;
}

constexpr Access kRw{.read = true, .write = true, .execute = false};
constexpr Access kRx{.read = true, .write = false, .execute = true};

TEST(PageTable, NeedsInit)
{
    FakeMemory m;
    X86Table pt(X86Format{}, m);
    EXPECT_EQ(pt.root(), X86Table::kNoTable);
    EXPECT_FALSE(pt.map(0, 0, kPage, kRw));
    m.set_budget(0);
    EXPECT_FALSE(pt.init());
    m.set_budget(1);
    ASSERT_TRUE(pt.init());
    EXPECT_TRUE(pt.init());
    EXPECT_EQ(m.live(), 1u);
    EXPECT_EQ(pt.root(), 0x000f'ff00'0000'0000u);
}

TEST(PageTable, ChoosesLargestLeaves)
{
    FakeMemory m;
    X86Table pt(X86Format{.allow_1g = true}, m);
    ASSERT_TRUE(pt.init());
    // 2M up to the 1G boundary, one 1G, then 2M, then 4K.
    ASSERT_TRUE(pt.map(0x3fe00000, 0x7fe00000, 2 * MiB + GiB + 2 * MiB + kPage, kRw));
    Census c = census(pt, m);
    EXPECT_EQ(c.leaves[3], 1u);
    EXPECT_EQ(c.leaves[2], 2u);
    EXPECT_EQ(c.leaves[1], 1u);
    EXPECT_EQ(c.tables, 1u + 1 + 2 + 1); // root, PDPT, two PDs, one PT
    EXPECT_EQ(m.live(), c.tables);

    EXPECT_EQ(walk(pt, 0x3fe00000 + 0x1234), (Translation{true, 0x7fe01234, kRw, 2}));
    EXPECT_EQ(walk(pt, 0x40000000 + 0x12345678), (Translation{true, 0x80000000 + 0x12345678, kRw, 3}));
    EXPECT_EQ(walk(pt, 0x80000000 + 0x1fffff), (Translation{true, 0xc01fffff, kRw, 2}));
    EXPECT_EQ(walk(pt, 0x80200000 + 0xfff), (Translation{true, 0xc0200fff, kRw, 1}));
    EXPECT_FALSE(walk(pt, 0x80201000).ok);
    EXPECT_FALSE(walk(pt, 0x3fdff000).ok);
}

TEST(PageTable, No1GWithoutPermission)
{
    FakeMemory m;
    X86Table pt(X86Format{.allow_1g = false}, m);
    ASSERT_TRUE(pt.init());
    ASSERT_TRUE(pt.map(0x40000000, 0x80000000, 2 * GiB, kRw));
    Census c = census(pt, m);
    EXPECT_EQ(c.leaves[3], 0u);
    EXPECT_EQ(c.leaves[2], 1024u);
    EXPECT_EQ(c.leaves[1], 0u);
    EXPECT_EQ(walk(pt, 0x7fffffff), (Translation{true, 0xbfffffff, kRw, 2}));
}

TEST(PageTable, MisalignedPhysForcesSmallerLeaves)
{
    FakeMemory m;
    X86Table pt(X86Format{.allow_1g = true}, m);
    ASSERT_TRUE(pt.init());
    // virt 1G aligned, phys only 4K aligned: all 4K.
    ASSERT_TRUE(pt.map(0x40000000, 0x80001000, 4 * MiB, kRw));
    Census c = census(pt, m);
    EXPECT_EQ(c.leaves[1], 1024u);
    EXPECT_EQ(c.leaves[2] + c.leaves[3], 0u);
    // phys 2M aligned but not 1G: 2M leaves for a whole gigabyte.
    ASSERT_TRUE(pt.map(0x100000000, 0x1000200000, GiB, kRw));
    c = census(pt, m);
    EXPECT_EQ(c.leaves[2], 512u);
    EXPECT_EQ(c.leaves[3], 0u);
    // virt misaligned relative to an aligned phys: also 4K.
    ASSERT_TRUE(pt.map(0x200001000, 0x40000000, 2 * MiB, kRw));
    c = census(pt, m);
    EXPECT_EQ(c.leaves[1], 1024u + 512u);
    EXPECT_EQ(walk(pt, 0x200001000 + 0x1ff123), (Translation{true, 0x401ff123, kRw, 1}));
}

TEST(PageTable, RemapInsideLargeLeafSplitsIt)
{
    FakeMemory m;
    X86Table pt(X86Format{}, m);
    ASSERT_TRUE(pt.init());
    Access global_rw = kRw;
    global_rw.global = true;
    ASSERT_TRUE(pt.map(0x200000, 0x40000000, 2 * MiB, global_rw));
    EXPECT_EQ(census(pt, m).leaves[2], 1u);
    size_t tables = m.live();

    Access uc_rx = kRx;
    uc_rx.type = MemoryType::uncacheable;
    ASSERT_TRUE(pt.map(0x205000, 0x90000000, kPage, uc_rx));
    EXPECT_EQ(m.live(), tables + 1);
    Census c = census(pt, m);
    EXPECT_EQ(c.leaves[2], 0u);
    EXPECT_EQ(c.leaves[1], 512u);
    for (uint64_t i = 0; i < 512; ++i) {
        Translation t = walk(pt, 0x200000 + i * kPage + 0x10);
        if (i == 5) EXPECT_EQ(t, (Translation{true, 0x90000010, uc_rx, 1}));
        else EXPECT_EQ(t, (Translation{true, 0x40000000 + i * kPage + 0x10, global_rw, 1})) << i;
    }

    // Mapping the whole 2M again collapses it back into one leaf and frees the page table.
    ASSERT_TRUE(pt.map(0x200000, 0x60000000, 2 * MiB, kRx));
    EXPECT_EQ(m.live(), tables);
    c = census(pt, m);
    EXPECT_EQ(c.leaves[2], 1u);
    EXPECT_EQ(c.leaves[1], 0u);
    EXPECT_EQ(walk(pt, 0x205010), (Translation{true, 0x60005010, kRx, 2}));
}

TEST(PageTable, Split1GKeepsTranslations)
{
    FakeMemory m;
    X86Table pt(X86Format{.allow_1g = true}, m);
    ASSERT_TRUE(pt.init());
    ASSERT_TRUE(pt.map(0, 0x40000000, GiB, kRw));
    ASSERT_TRUE(pt.map(0x12345000, 0x5000, kPage, kRx)); // splits 1G -> 2M -> 4K
    Census c = census(pt, m);
    EXPECT_EQ(c.leaves[3], 0u);
    EXPECT_EQ(c.leaves[2], 511u);
    EXPECT_EQ(c.leaves[1], 512u);
    EXPECT_EQ(walk(pt, 0x12345678), (Translation{true, 0x5678, kRx, 1}));
    EXPECT_EQ(walk(pt, 0x12346678), (Translation{true, 0x52346678, kRw, 1}));
    EXPECT_EQ(walk(pt, 0x3fffffff), (Translation{true, 0x7fffffff, kRw, 2}));
    EXPECT_EQ(walk(pt, 0x0), (Translation{true, 0x40000000, kRw, 2}));
}

TEST(PageTable, Unmap)
{
    FakeMemory m;
    X86Table pt(X86Format{}, m);
    ASSERT_TRUE(pt.init());
    ASSERT_TRUE(pt.map(0x400000, 0x800000, 4 * MiB, kRw));
    ASSERT_TRUE(pt.unmap(0x401000, kPage)); // inside the first 2M leaf
    Census c = census(pt, m);
    EXPECT_EQ(c.leaves[2], 1u);
    EXPECT_EQ(c.leaves[1], 511u);
    EXPECT_FALSE(walk(pt, 0x401000).ok);
    EXPECT_FALSE(walk(pt, 0x401fff).ok);
    EXPECT_EQ(walk(pt, 0x400fff), (Translation{true, 0x800fff, kRw, 1}));
    EXPECT_EQ(walk(pt, 0x402000), (Translation{true, 0x802000, kRw, 1}));
    EXPECT_EQ(walk(pt, 0x600000), (Translation{true, 0xa00000, kRw, 2}));

    ASSERT_TRUE(pt.unmap(0x500000, 0x200000)); // straddles the two leaves
    EXPECT_EQ(walk(pt, 0x4ff000), (Translation{true, 0x8ff000, kRw, 1}));
    EXPECT_FALSE(walk(pt, 0x500000).ok);
    EXPECT_FALSE(walk(pt, 0x6ff000).ok);
    EXPECT_EQ(walk(pt, 0x700000), (Translation{true, 0xb00000, kRw, 1}));

    ASSERT_TRUE(pt.unmap(0x0, 16 * MiB)); // everything, plus holes around it
    EXPECT_EQ(m.live(), 1u);             // emptied tables were freed; root stays
    EXPECT_EQ(census(pt, m).tables, 1u);
    EXPECT_TRUE(pt.unmap(0x0, 16 * MiB)); // nothing there: fine
    EXPECT_TRUE(pt.unmap(0x0, 0));
    EXPECT_FALSE(pt.unmap(0x800, kPage)); // misaligned
}

TEST(PageTable, TranslateHolesAndNonCanonical)
{
    FakeMemory m;
    X86Table pt(X86Format{}, m);
    ASSERT_TRUE(pt.init());
    EXPECT_FALSE(walk(pt, 0).ok);
    ASSERT_TRUE(pt.map(0x7fff'ffff'f000, 0x1000, kPage, kRw)); // last page of the lower half
    EXPECT_EQ(walk(pt, 0x7fff'ffff'ffff), (Translation{true, 0x1fff, kRw, 1}));
    EXPECT_FALSE(walk(pt, 0x7fff'ffff'e000).ok);
    // Same bits 47:0 but not canonical: not the same page.
    EXPECT_FALSE(walk(pt, 0x0001'7fff'ffff'f000).ok);
    EXPECT_FALSE(walk(pt, 0x0000'8000'0000'0000).ok);
    EXPECT_FALSE(walk(pt, 0xffff'7fff'ffff'f000).ok);
    EXPECT_FALSE(pt.map(0x0000'8000'0000'0000, 0, kPage, kRw));
    EXPECT_FALSE(pt.map(0x7fff'ffff'f000, 0, 2 * kPage, kRw)); // runs into the hole
    EXPECT_FALSE(pt.map(0xffff'ffff'ffff'f000, 0, 2 * kPage, kRw)); // wraps
    // Both ends canonical, but the range spans the non-canonical hole.
    EXPECT_FALSE(pt.unmap(0x1000, 0xffff'ffff'ffff'e000));
    EXPECT_EQ(walk(pt, 0x7fff'ffff'f000).ok, true);
    EXPECT_FALSE(pt.map(0x1000, 0x800, kPage, kRw));              // phys misaligned
    EXPECT_FALSE(pt.map(0x1800, 0x1000, kPage, kRw));             // virt misaligned
    EXPECT_FALSE(pt.map(0x1000, 0x000f'ffff'ffff'f000, 2 * kPage, kRw)); // phys past 52 bits
    EXPECT_TRUE(pt.map(0x1000, 0x000f'ffff'ffff'f000, kPage, kRw));
    EXPECT_EQ(walk(pt, 0x1000), (Translation{true, 0x000f'ffff'ffff'f000, kRw, 1}));
    EXPECT_TRUE(pt.map(0x2000, 0, 0, kRw)); // empty: nothing to do
    EXPECT_FALSE(walk(pt, 0x2000).ok);
    EXPECT_EQ(census(pt, m).leaves[1], 2u);
}

TEST(PageTable, HigherHalf)
{
    FakeMemory m;
    X86Table pt(X86Format{.allow_1g = true}, m);
    ASSERT_TRUE(pt.init());
    // The kernel's -2 GiB window, ending at the very top of the address space.
    ASSERT_TRUE(pt.map(0xffff'ffff'8000'0000, 0, 2 * GiB, kRx));
    // The direct map at the start of the higher half.
    ASSERT_TRUE(pt.map(0xffff'8000'0000'0000, 0, 4 * GiB, kRw));
    Census c = census(pt, m);
    EXPECT_EQ(c.leaves[3], 6u);
    EXPECT_EQ(c.tables, 3u);
    uint64_t* root = m.table(pt.root());
    for (int i = 0; i < 512; ++i) EXPECT_EQ(X86Format{}.present(root[i]), i == 256 || i == 511) << i;
    EXPECT_EQ(X86Table::index(0xffff'ffff'8000'0000, 3), 510u);
    EXPECT_EQ(walk(pt, 0xffff'ffff'ffff'ffff), (Translation{true, 0x7fff'ffff, kRx, 3}));
    EXPECT_EQ(walk(pt, 0xffff'ffff'8000'1234), (Translation{true, 0x1234, kRx, 3}));
    EXPECT_EQ(walk(pt, 0xffff'8000'fedc'ba98), (Translation{true, 0xfedc'ba98, kRw, 3}));
    EXPECT_FALSE(walk(pt, 0xffff'8001'0000'0000).ok);
    EXPECT_FALSE(walk(pt, 0xffff'ffff'7fff'ffff).ok);
    // The lower-half alias with the same bits 47:0 is not mapped.
    EXPECT_FALSE(walk(pt, 0x0000'7fff'8000'0000).ok);
    ASSERT_TRUE(pt.unmap(0xffff'ffff'ffff'f000, kPage)); // splits 1G and 2M at the top
    EXPECT_FALSE(walk(pt, 0xffff'ffff'ffff'f000).ok);
    EXPECT_EQ(walk(pt, 0xffff'ffff'ffff'efff), (Translation{true, 0x7fff'efff, kRx, 1}));
}

TEST(PageTable, ForEachLeafVisitsEveryLeafInOrder)
{
    FakeMemory m;
    X86Table pt(X86Format{.allow_1g = true}, m);
    ASSERT_TRUE(pt.init());
    ASSERT_TRUE(pt.map(0x20'0000, 0x20'0000, 2 * MiB + kPage, kRx));
    ASSERT_TRUE(pt.map(0xffff'8000'0000'0000, 0, 1 * GiB, kRw));
    struct Leaf {
        uint64_t va, bytes;
        Access access;
    };
    std::vector<Leaf> leaves;
    pt.for_each_leaf([&](uint64_t va, int level, Access a) { leaves.push_back({va, X86Table::span(level), a}); });
    ASSERT_EQ(leaves.size(), 3u);
    EXPECT_EQ(leaves[0].va, 0x20'0000u);
    EXPECT_EQ(leaves[0].bytes, 2 * MiB);
    EXPECT_EQ(leaves[1].va, 0x40'0000u);
    EXPECT_EQ(leaves[1].bytes, kPage);
    EXPECT_EQ(leaves[1].access, kRx);
    EXPECT_EQ(leaves[2].va, 0xffff'8000'0000'0000u); // canonical, though the walk sees bit 47 only
    EXPECT_EQ(leaves[2].bytes, GiB);
    EXPECT_EQ(leaves[2].access, kRw);
}

TEST(PageTable, X86EntryBitsExact)
{
    FakeMemory m;
    X86Table pt(X86Format{.allow_1g = true}, m);
    ASSERT_TRUE(pt.init());
    Access wb_rw_global{
        .read = true, .write = true, .execute = false, .type = MemoryType::write_back, .global = true};
    Access wt_ro_x{.read = true, .write = false, .execute = true, .type = MemoryType::write_through};
    Access uc_rw{.read = true, .write = true, .execute = false, .type = MemoryType::uncacheable};
    ASSERT_TRUE(pt.map(0x1000, 0x1234'5000, kPage, wb_rw_global));
    ASSERT_TRUE(pt.map(0x2000, 0x1234'6000, kPage, wt_ro_x));
    ASSERT_TRUE(pt.map(0x3000, 0xfee0'0000, kPage, uc_rw));
    ASSERT_TRUE(pt.map(0x20'0000, 0x4000'0000, 2 * MiB, wt_ro_x));
    ASSERT_TRUE(pt.map(0x4000'0000, 0x1'c000'0000, GiB, uc_rw));
    EXPECT_EQ(raw_leaf(pt, m, 0x1000), 0x8000'0000'1234'5103u);   // NX G RW P
    EXPECT_EQ(raw_leaf(pt, m, 0x2000), 0x0000'0000'1234'6009u);   // PWT P
    EXPECT_EQ(raw_leaf(pt, m, 0x3000), 0x8000'0000'fee0'001bu);   // NX PCD PWT RW P
    EXPECT_EQ(raw_leaf(pt, m, 0x20'0000), 0x0000'0000'4000'0089u); // PS PWT P
    EXPECT_EQ(raw_leaf(pt, m, 0x4000'0000), 0x8000'0001'c000'009bu); // NX PS PCD PWT RW P
    // Intermediate entries: P|RW|U/S only (the leaf decides), exact table address.
    uint64_t pml4e = raw_entry(pt, m, 0x1000, 4);
    uint64_t pdpte = raw_entry(pt, m, 0x1000, 3);
    EXPECT_EQ(pml4e & 0xfff0'0000'0000'0fffu, 0x7u);
    EXPECT_EQ(pdpte & 0xfff0'0000'0000'0fffu, 0x7u);
    EXPECT_TRUE(m.owns(pml4e & X86Format::kAddress));
    EXPECT_TRUE(m.owns(pdpte & X86Format::kAddress));
    EXPECT_NE(pml4e & X86Format::kAddress, pt.root());
    // Decoding gives back exactly what was asked for.
    EXPECT_EQ(walk(pt, 0x1fff), (Translation{true, 0x1234'5fff, wb_rw_global, 1}));
    EXPECT_EQ(walk(pt, 0x2000), (Translation{true, 0x1234'6000, wt_ro_x, 1}));
    EXPECT_EQ(walk(pt, 0x3004), (Translation{true, 0xfee0'0004, uc_rw, 1}));
    EXPECT_EQ(walk(pt, 0x3f'ffff), (Translation{true, 0x401f'ffff, wt_ro_x, 2}));
    EXPECT_EQ(walk(pt, 0x4000'0000), (Translation{true, 0x1'c000'0000, uc_rw, 3}));
}

TEST(PageTable, X86PatSelection)
{
    // Under the power-on PAT only WB, WT, UC have entries (0, 1, 3); WC and WP are refused.
    X86Format def{};
    EXPECT_EQ(def.pat_index(MemoryType::write_back), 0);
    EXPECT_EQ(def.pat_index(MemoryType::write_through), 1);
    EXPECT_EQ(def.pat_index(MemoryType::uncacheable), 3);
    EXPECT_EQ(def.pat_index(MemoryType::write_combining), -1);
    EXPECT_EQ(def.pat_index(MemoryType::write_protected), -1);
    Access wc{.read = true, .write = true, .type = MemoryType::write_combining};
    Access wp{.read = true, .type = MemoryType::write_protected};
    EXPECT_FALSE(def.encodable(wc));
    EXPECT_FALSE(def.encodable(wp));
    EXPECT_FALSE(def.encodable(Access{.read = false, .write = true})); // x86 pages are always readable
    EXPECT_FALSE(def.encodable(Access{.type = MemoryType(2)}));

    FakeMemory m;
    X86Table pt(X86Format{.pat = X86Format::kPat}, m);
    ASSERT_TRUE(pt.init());
    {
        FakeMemory m2;
        X86Table plain(def, m2);
        ASSERT_TRUE(plain.init());
        EXPECT_FALSE(plain.map(0x1000, 0x1000, kPage, wc));
        EXPECT_EQ(m2.live(), 1u);
    }
    ASSERT_TRUE(pt.map(0x1000, 0xc000'0000, kPage, wc));
    ASSERT_TRUE(pt.map(0x2000, 0xc000'1000, kPage, wp));
    ASSERT_TRUE(pt.map(0x20'0000, 0xc020'0000, 2 * MiB, wc));
    ASSERT_TRUE(pt.map(0x40'0000, 0xc040'0000, 2 * MiB, Access{}));
    EXPECT_EQ(raw_leaf(pt, m, 0x1000), 0x8000'0000'c000'0083u);   // NX PAT(bit 7) RW P
    EXPECT_EQ(raw_leaf(pt, m, 0x2000), 0x8000'0000'c000'1089u);   // NX PAT(bit 7) PWT P
    EXPECT_EQ(raw_leaf(pt, m, 0x20'0000), 0x8000'0000'c020'1083u); // NX PAT(bit 12) PS RW P
    EXPECT_EQ(raw_leaf(pt, m, 0x40'0000), 0x8000'0000'c040'0081u); // NX PS P (WB, read-only)
    EXPECT_EQ(walk(pt, 0x1000).access, wc);
    EXPECT_EQ(walk(pt, 0x2000).access, wp);
    EXPECT_EQ(walk(pt, 0x20'0000).access, wc);
    EXPECT_EQ(walk(pt, 0x20'0000).phys, 0xc020'0000u); // PAT bit 12 is not an address bit
    // Splitting a large WC leaf moves its PAT bit from 12 to 7.
    ASSERT_TRUE(pt.unmap(0x20'0000, kPage));
    EXPECT_EQ(raw_leaf(pt, m, 0x20'1000), 0x8000'0000'c020'1083u);
    EXPECT_EQ(raw_leaf(pt, m, 0x3f'f000), 0x8000'0000'c03f'f083u);
    EXPECT_EQ(walk(pt, 0x3f'f000).access, wc);
}

TEST(PageTable, EptEntryBitsExact)
{
    FakeMemory m;
    EptTable pt(ept::EptFormat{.allow_1g = true, .allow_2m = true}, m);
    ASSERT_TRUE(pt.init());
    Access rwx{.read = true, .write = true, .execute = true};
    Access ro_uc{.read = true, .type = MemoryType::uncacheable};
    Access rw_wc{.read = true, .write = true, .type = MemoryType::write_combining};
    ASSERT_TRUE(pt.map(0x1000, 0x1234'5000, kPage, rwx));
    ASSERT_TRUE(pt.map(0x20'0000, 0xfee0'0000, 2 * MiB, ro_uc));
    ASSERT_TRUE(pt.map(0x4000'0000, 0x8'0000'0000, GiB, rw_wc));
    EXPECT_EQ(raw_leaf(pt, m, 0x1000), 0x1234'5037u);     // WB(6)<<3 | XWR
    EXPECT_EQ(raw_leaf(pt, m, 0x20'0000), 0xfee0'0081u);  // large | UC(0)<<3 | R
    EXPECT_EQ(raw_leaf(pt, m, 0x4000'0000), 0x8'0000'008bu); // large | WC(1)<<3 | WR
    uint64_t pml4e = raw_entry(pt, m, 0x1000, 4);
    EXPECT_EQ(pml4e & 0xfff0'0000'0000'0fffu, 0x7u); // non-leaf: RWX only
    EXPECT_TRUE(m.owns(pml4e & ept::EptFormat::kAddress));
    EXPECT_EQ(raw_entry(pt, m, 0x1000, 3) & 0xfffu, 0x7u);
    EXPECT_EQ(raw_entry(pt, m, 0x1000, 2) & 0xfffu, 0x7u);
    EXPECT_EQ(walk(pt, 0x1abc), (Translation{true, 0x1234'5abc, rwx, 1}));
    EXPECT_EQ(walk(pt, 0x3f'ffff), (Translation{true, 0xfeff'ffff, ro_uc, 2}));
    EXPECT_EQ(walk(pt, 0x7fff'ffff), (Translation{true, 0x8'3fff'ffff, rw_wc, 3}));

    // Global means nothing to EPT: ignored, reads back false.
    Access global = rwx;
    global.global = true;
    ASSERT_TRUE(pt.map(0x2000, 0x5000, kPage, global));
    EXPECT_EQ(raw_leaf(pt, m, 0x2000), 0x5037u);
    EXPECT_EQ(walk(pt, 0x2000).access, rwx);

    // Guest-physical addresses are 48 bits; there is no canonical sign extension.
    EXPECT_TRUE(pt.map(0xffff'ffff'f000, 0x1000, kPage, rwx));
    EXPECT_EQ(walk(pt, 0xffff'ffff'f123).phys, 0x1123u);
    EXPECT_FALSE(pt.map(0x1'0000'0000'0000, 0x1000, kPage, rwx));
    EXPECT_FALSE(walk(pt, 0xffff'ffff'ffff'f123).ok);
}

TEST(PageTable, EptIgnorePat)
{
    FakeMemory m;
    EptTable pt(ept::EptFormat{.allow_1g = true, .allow_2m = true, .ignore_pat = true}, m);
    ASSERT_TRUE(pt.init());
    ASSERT_TRUE(pt.map(0x0, 0x0, GiB, Access{.read = true, .write = true}));
    EXPECT_EQ(raw_leaf(pt, m, 0x0), 0xf3u); // large | IPAT | WB(6)<<3 | WR
    ASSERT_TRUE(pt.unmap(0x0, kPage)); // split keeps IPAT and type on every piece
    EXPECT_EQ(raw_leaf(pt, m, 0x1000), 0x1073u);
    EXPECT_EQ(raw_leaf(pt, m, 0x20'0000), 0x20'00f3u);
}

TEST(PageTable, EptRejectsMisconfigurations)
{
    FakeMemory m;
    EptTable pt(ept::EptFormat{.allow_2m = true}, m);
    ASSERT_TRUE(pt.init());
    EXPECT_FALSE(pt.map(0x1000, 0x1000, kPage, Access{.read = false, .write = true}));
    EXPECT_FALSE(pt.map(0x1000, 0x1000, kPage, Access{.read = false, .write = true, .execute = true}));
    EXPECT_FALSE(pt.map(0x1000, 0x1000, kPage, Access{.read = false, .execute = true})); // no exec-only cap
    EXPECT_FALSE(pt.map(0x1000, 0x1000, kPage, Access{.read = false}));                   // not present
    EXPECT_FALSE(pt.map(0x1000, 0x1000, kPage, Access{.type = MemoryType(2)}));
    EXPECT_FALSE(pt.map(0x1000, 0x1000, kPage, Access{.type = MemoryType(7)}));
    EXPECT_EQ(m.live(), 1u);
    EXPECT_FALSE(walk(pt, 0x1000).ok);

    FakeMemory m2;
    EptTable xo(ept::EptFormat{.allow_execute_only = true}, m2);
    ASSERT_TRUE(xo.init());
    Access exec_only{.read = false, .execute = true};
    ASSERT_TRUE(xo.map(0x1000, 0x7000, kPage, exec_only));
    EXPECT_EQ(raw_leaf(xo, m2, 0x1000), 0x7034u);
    EXPECT_EQ(walk(xo, 0x1000), (Translation{true, 0x7000, exec_only, 1}));
}

TEST(PageTable, EptLeafSizesFollowCapabilities)
{
    Access rw{.read = true, .write = true};
    {
        FakeMemory m;
        EptTable pt(ept::EptFormat{}, m); // 4K only
        ASSERT_TRUE(pt.init());
        ASSERT_TRUE(pt.map(0x0, 0x0, 4 * MiB, rw));
        EXPECT_EQ(census(pt, m).leaves[1], 1024u);
    }
    {
        // 1G without 2M is not used: splitting it would need 2M leaves.
        FakeMemory m;
        EptTable pt(ept::EptFormat{.allow_1g = true, .allow_2m = false}, m);
        ASSERT_TRUE(pt.init());
        ASSERT_TRUE(pt.map(0x0, 0x0, GiB, rw));
        Census c = census(pt, m);
        EXPECT_EQ(c.leaves[3] + c.leaves[2], 0u);
        EXPECT_EQ(c.leaves[1], 512u * 512u);
    }
    {
        FakeMemory m;
        EptTable pt(ept::EptFormat{.allow_1g = false, .allow_2m = true}, m);
        ASSERT_TRUE(pt.init());
        ASSERT_TRUE(pt.map(0x0, 0x0, GiB, rw));
        EXPECT_EQ(census(pt, m).leaves[2], 512u);
    }
}

TEST(PageTable, OutOfMemoryChangesNothing)
{
    FakeMemory m;
    X86Table pt(X86Format{}, m);
    ASSERT_TRUE(pt.init());
    // A fresh 4K mapping needs PDPT, PD and PT.
    m.set_budget(2);
    EXPECT_FALSE(pt.map(0x1000, 0x5000, kPage, kRw));
    EXPECT_EQ(m.live(), 1u);
    EXPECT_FALSE(walk(pt, 0x1000).ok);
    m.set_budget(3);
    ASSERT_TRUE(pt.map(0x1000, 0x5000, kPage, kRw));
    EXPECT_EQ(m.live(), 4u);

    // Splitting a 2M leaf needs exactly one table; with none, both map and unmap refuse and leave
    // the leaf as it was.
    ASSERT_TRUE(pt.map(0x20'0000, 0x4000'0000, 2 * MiB, kRw));
    m.set_budget(0);
    EXPECT_FALSE(pt.map(0x20'3000, 0x9000, kPage, kRx));
    EXPECT_FALSE(pt.unmap(0x20'3000, kPage));
    EXPECT_EQ(m.live(), 4u);
    EXPECT_EQ(walk(pt, 0x20'3000), (Translation{true, 0x4000'3000, kRw, 2}));
    // Work that needs no new table still succeeds with no memory.
    EXPECT_TRUE(pt.map(0x2000, 0x6000, kPage, kRx));
    EXPECT_TRUE(pt.map(0x20'0000, 0x6000'0000, 2 * MiB, kRx));
    EXPECT_TRUE(pt.unmap(0x1000, kPage));
    EXPECT_EQ(walk(pt, 0x2000), (Translation{true, 0x6000, kRx, 1}));

    // A big scattered mapping: every budget short of the need fails without a trace.
    FakeMemory big;
    X86Table pt2(X86Format{.allow_1g = true}, big);
    ASSERT_TRUE(pt2.init());
    ASSERT_TRUE(pt2.map(0x40'0000, 0x40'0000, 2 * MiB, kRw));
    size_t base_live = big.live();
    // 4K-aligned phys over [1 GiB - 8 KiB, 1 GiB + 4 MiB): a PT at the end of the first GiB,
    // a PD for the second GiB and two PTs in it.
    uint64_t va = GiB - 2 * kPage, pa = 0x7'0000'1000, size = 4 * MiB + 2 * kPage;
    size_t needed = 0;
    {
        FakeMemory probe;
        X86Table p(X86Format{.allow_1g = true}, probe);
        ASSERT_TRUE(p.init());
        ASSERT_TRUE(p.map(0x40'0000, 0x40'0000, 2 * MiB, kRw));
        size_t before = probe.live();
        ASSERT_TRUE(p.map(va, pa, size, kRw));
        needed = probe.live() - before;
    }
    EXPECT_EQ(needed, 4u);
    for (size_t budget = 0; budget < needed; ++budget) {
        big.set_budget(budget);
        EXPECT_FALSE(pt2.map(va, pa, size, kRw)) << budget;
        EXPECT_EQ(big.live(), base_live) << budget;
        EXPECT_FALSE(walk(pt2, va).ok);
        EXPECT_EQ(walk(pt2, 0x40'0000), (Translation{true, 0x40'0000, kRw, 2}));
    }
    big.set_budget(needed);
    ASSERT_TRUE(pt2.map(va, pa, size, kRw));
    EXPECT_EQ(big.live(), base_live + needed);
    EXPECT_EQ(walk(pt2, va + size - 1), (Translation{true, pa + size - 1, kRw, 1}));
}

TEST(PageTable, DestroyFreesEverything)
{
    FakeMemory m;
    X86Table pt(X86Format{.allow_1g = true}, m);
    ASSERT_TRUE(pt.init());
    ASSERT_TRUE(pt.map(0x1000, 0x1000, 3 * GiB, kRw));
    ASSERT_TRUE(pt.map(0xffff'8000'0000'0000, 0, GiB, kRw));
    EXPECT_EQ(m.live(), census(pt, m).tables);
    pt.destroy();
    EXPECT_EQ(m.live(), 0u);
    EXPECT_EQ(pt.root(), X86Table::kNoTable);
    EXPECT_FALSE(walk(pt, 0x1000).ok);
}

// Random maps and unmaps over a 3 GiB window against a page-granular model, checking every page
// that might have changed, and that no table is leaked or left dangling.
TEST(PageTable, MatchesReferenceModel)
{
    constexpr uint64_t kWindow = 3 * GiB, kPages = kWindow / kPage;
    struct Page {
        bool mapped = false;
        uint64_t phys = 0;
        Access access;
    };
    std::vector<Page> model(kPages);
    FakeMemory m;
    X86Table pt(X86Format{.allow_1g = true, .pat = X86Format::kPat}, m);
    ASSERT_TRUE(pt.init());
    std::mt19937_64 rng(2024);
    const MemoryType types[] = {MemoryType::write_back, MemoryType::write_through, MemoryType::uncacheable,
                                MemoryType::write_combining, MemoryType::write_protected};
    for (int step = 0; step < 300; ++step) {
        // Sizes and alignments chosen to hit all leaf sizes and partial overlaps.
        uint64_t granule = (rng() % 3 == 0) ? GiB : (rng() % 2 ? 2 * MiB : kPage);
        uint64_t va = (rng() % (kWindow / granule)) * granule + (rng() % 4 == 0 ? (rng() % 512) * kPage : 0);
        uint64_t size = (1 + rng() % 3) * granule + (rng() % 3 == 0 ? (rng() % 512) * kPage : 0);
        if (va >= kWindow) continue;
        size = std::min(size, kWindow - va);
        uint64_t lo = va / kPage, hi = (va + size) / kPage;
        if (rng() % 3 == 0) {
            ASSERT_TRUE(pt.unmap(va, size));
            for (uint64_t p = lo; p < hi; ++p) model[p].mapped = false;
        } else {
            uint64_t pa = (rng() % 64) * granule + (rng() % 2 ? 0 : (rng() % 512) * kPage);
            Access a{.read = true, .write = bool(rng() % 2), .execute = bool(rng() % 2),
                     .type = types[rng() % 5], .global = bool(rng() % 2)};
            ASSERT_TRUE(pt.map(va, pa, size, a));
            for (uint64_t p = lo; p < hi; ++p) model[p] = {true, pa + (p - lo) * kPage, a};
        }
        // Check a sample everywhere plus every page near the edges of this operation.
        auto check = [&](uint64_t p) {
            Translation t = walk(pt, p * kPage + 0x123);
            ASSERT_EQ(t.ok, model[p].mapped) << "step " << step << " page " << p;
            if (t.ok) {
                ASSERT_EQ(t.phys, model[p].phys + 0x123) << "step " << step << " page " << p;
                ASSERT_EQ(t.access, model[p].access) << "step " << step << " page " << p;
            }
        };
        for (uint64_t p = lo; p < hi && p < lo + 600; ++p) check(p);
        for (uint64_t p = hi > 600 ? hi - 600 : 0; p < hi + 600 && p < kPages; ++p) check(p);
        for (uint64_t p = lo > 600 ? lo - 600 : 0; p < lo; ++p) check(p);
        for (int i = 0; i < 2000; ++i) check(rng() % kPages);
        if (HasFatalFailure()) return;
        ASSERT_EQ(census(pt, m).tables, m.live()) << "step " << step;
    }
    // Finally every page of the window.
    for (uint64_t p = 0; p < kPages; p += 1) {
        Translation t = walk(pt, p * kPage);
        ASSERT_EQ(t.ok, model[p].mapped) << p;
        if (t.ok) {
            ASSERT_EQ(t.phys, model[p].phys) << p;
        }
    }
    ASSERT_TRUE(pt.unmap(0, kWindow));
    EXPECT_EQ(m.live(), 1u);
}

} // namespace

// U/S: every intermediate entry allows CPL 3 (the walk ANDs them, SDM Vol. 3A 4.6), so only a
// leaf mapped with Access::user is user-accessible; EPT has no such bit and refuses it.
TEST(PageTable, UserAccessibleOnlyWhereTheLeafSaysSo)
{
    FakeMemory m;
    X86Table pt(X86Format{}, m);
    ASSERT_TRUE(pt.init());
    constexpr Access kUserRw{.read = true, .write = true, .user = true};
    ASSERT_TRUE(pt.map(0x1000, 0x5000, kPage, kUserRw));
    ASSERT_TRUE(pt.map(0x2000, 0x6000, kPage, kRw));
    EXPECT_EQ(walk(pt, 0x1234), (Translation{true, 0x5234, kUserRw, 1}));
    EXPECT_EQ(walk(pt, 0x2234), (Translation{true, 0x6234, kRw, 1}));
    EXPECT_TRUE(raw_leaf(pt, m, 0x1000) & X86Format::kUser);
    EXPECT_FALSE(raw_leaf(pt, m, 0x2000) & X86Format::kUser);
    EXPECT_TRUE(X86Format{}.table_entry(0x3000) & X86Format::kUser);
    EXPECT_FALSE(ept::EptFormat{}.encodable(kUserRw));
}
