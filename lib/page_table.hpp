// A 4-level page-table builder that knows nothing about the entry encoding: a Format supplies that
// (X86Format below for the hypervisor's own tables, ept::EptFormat for EPT), a Memory supplies
// zeroed 4 KiB tables. Levels: 4 = root (PML4 / EPT PML4), 3 = 1 GiB entries, 2 = 2 MiB, 1 = 4 KiB.
//
// map() and unmap() are all-or-nothing: they first count the tables they will need, take them all
// from Memory, and only then touch the tree, so running out of memory leaves it unchanged.
// Neither flushes TLBs. Tables that drop out of the tree go straight to Memory::free_table; on live
// tables a Memory must not reuse them before the caller's INVLPG / CR3 reload / INVEPT.
#pragma once
#include <concepts>
#include <cstddef>
#include <cstdint>

// Values are the x86 memory-type encodings, shared by PAT entries, MTRRs and EPT leaves
// (SDM Vol. 3A 12.12.2).
enum class MemoryType : uint8_t {
    uncacheable = 0,
    write_combining = 1,
    write_through = 4,
    write_protected = 5,
    write_back = 6,
};

constexpr bool is_memory_type(MemoryType type)
{
    switch (type) {
    case MemoryType::uncacheable:
    case MemoryType::write_combining:
    case MemoryType::write_through:
    case MemoryType::write_protected:
    case MemoryType::write_back: return true;
    }
    return false;
}

struct Access {
    bool read = true;
    bool write = false;
    bool execute = false;
    MemoryType type = MemoryType::write_back;
    bool global = false;
    bool user = false;  // x86 only: reachable at CPL 3 (the hypervisor has no such page but selftest=smap's)

    constexpr bool operator==(const Access&) const = default;
};

template <class M>
concept PageTableMemory = requires(M& memory, uint64_t phys) {
    { memory.allocate_table() } -> std::same_as<uint64_t>; // zeroed 4 KiB page, or ~0ull
    { memory.table(phys) } -> std::same_as<uint64_t*>;
    memory.free_table(phys);
};

template <class F>
concept PageTableFormat = requires(const F& format, uint64_t value, int level, Access access) {
    { format.table_entry(value) } -> std::same_as<uint64_t>;
    { format.leaf(value, level, access) } -> std::same_as<uint64_t>;
    { format.present(value) } -> std::same_as<bool>;
    { format.is_leaf(value, level) } -> std::same_as<bool>;
    { format.address(value, level) } -> std::same_as<uint64_t>;
    { format.access(value, level) } -> std::same_as<Access>;
    { format.leaf_allowed(level) } -> std::same_as<bool>;
    // Whether leaf() can express this access at all; map() refuses it otherwise.
    { format.encodable(access) } -> std::same_as<bool>;
    // Whether every input address in [first, last] is translatable by this format.
    { format.valid_range(value, value) } -> std::same_as<bool>;
};

// The hypervisor's own 4-level paging entries (SDM Vol. 3A 4.5).
// Supervisor-only; NX requires IA32_EFER.NXE = 1, G requires CR4.PGE = 1 to have effect.
struct X86Format {
    static constexpr uint64_t kPresent = 1ull << 0;
    static constexpr uint64_t kWritable = 1ull << 1;
    static constexpr uint64_t kUser = 1ull << 2;          // U/S
    static constexpr uint64_t kWriteThrough = 1ull << 3; // PWT
    static constexpr uint64_t kCacheDisable = 1ull << 4; // PCD
    static constexpr uint64_t kLarge = 1ull << 7;        // PS, in PDPTEs and PDEs
    static constexpr uint64_t kPat4K = 1ull << 7;        // PAT bit of a PTE
    static constexpr uint64_t kGlobal = 1ull << 8;
    static constexpr uint64_t kPatLarge = 1ull << 12;    // PAT bit of a 2 MiB / 1 GiB leaf
    static constexpr uint64_t kNoExecute = 1ull << 63;
    static constexpr uint64_t kAddress = 0x000f'ffff'ffff'f000; // bits 51:12

    // IA32_PAT, one byte per entry PA0..PA7, selected by PAT:PCD:PWT (SDM Vol. 3A 12.12.3).
    // Power-on default: WB, WT, UC-, UC, WB, WT, UC-, UC (SDM Vol. 3A 12.12.4).
    static constexpr uint64_t kDefaultPat = 0x0007'0406'0007'0406;
    // The layout the hypervisor may program to also get WC (PA4) and WP (PA5); PA0..PA3 match the
    // default, so WB, WT and UC encode the same way under either.
    static constexpr uint64_t kPat = 0x0007'0501'0007'0406;

    bool allow_1g = false;     // CPUID.80000001H:EDX.Page1GB[bit 26]
    uint64_t pat = kDefaultPat; // what IA32_PAT holds; a type with no entry in it is not encodable

    // Lowest PAT entry holding exactly `type`, or -1. With either layout above: WB -> 0,
    // WT -> 1 (PWT), UC -> 3 (PCD|PWT); with kPat also WC -> 4 (PAT), WP -> 5 (PAT|PWT).
    constexpr int pat_index(MemoryType type) const
    {
        for (int i = 0; i < 8; ++i)
            if (((pat >> (8 * i)) & 0xff) == uint8_t(type)) return i;
        return -1;
    }

    static constexpr uint64_t leaf_mask(int level)
    {
        return level == 3 ? 0x000f'ffff'c000'0000 : level == 2 ? 0x000f'ffff'ffe0'0000 : kAddress;
    }

    // Intermediate entries are fully permissive: the walk ANDs R/W and U/S and ORs NX (SDM Vol. 3A
    // 4.6), so the leaf alone decides.
    constexpr uint64_t table_entry(uint64_t phys) const { return (phys & kAddress) | kPresent | kWritable | kUser; }

    constexpr uint64_t leaf(uint64_t phys, int level, Access access) const
    {
        uint64_t e = (phys & leaf_mask(level)) | kPresent;
        if (level > 1) e |= kLarge;
        if (access.write) e |= kWritable;
        if (!access.execute) e |= kNoExecute;
        if (access.global) e |= kGlobal;
        if (access.user) e |= kUser;
        int index = pat_index(access.type);
        if (index & 1) e |= kWriteThrough;
        if (index & 2) e |= kCacheDisable;
        if (index & 4) e |= level == 1 ? kPat4K : kPatLarge;
        return e;
    }

    constexpr bool present(uint64_t e) const { return e & kPresent; }
    constexpr bool is_leaf(uint64_t e, int level) const
    {
        return level == 1 || ((level == 2 || level == 3) && (e & kLarge));
    }
    constexpr uint64_t address(uint64_t e, int level) const
    {
        return e & (is_leaf(e, level) ? leaf_mask(level) : kAddress);
    }

    constexpr Access access(uint64_t e, int level) const
    {
        int index = ((e & (level == 1 ? kPat4K : kPatLarge)) ? 4 : 0) | ((e & kCacheDisable) ? 2 : 0) |
                    ((e & kWriteThrough) ? 1 : 0);
        uint8_t type = uint8_t(pat >> (8 * index));
        Access a;
        a.read = true;
        a.write = e & kWritable;
        a.execute = !(e & kNoExecute);
        // UC- (7) is never written by leaf(); it reads back as uncacheable (it differs from UC
        // only where an MTRR says WC).
        a.type = type == 7 ? MemoryType::uncacheable : MemoryType(type);
        a.global = e & kGlobal;
        a.user = e & kUser;
        return a;
    }

    constexpr bool leaf_allowed(int level) const
    {
        return level == 1 || level == 2 || (level == 3 && allow_1g);
    }

    // A present x86 page is always readable.
    constexpr bool encodable(Access access) const
    {
        return access.read && is_memory_type(access.type) && pat_index(access.type) >= 0;
    }

    // 4-level paging translates 48-bit canonical addresses: bits 63:47 all equal (SDM Vol. 3A 3.3.7.1).
    static constexpr bool canonical(uint64_t va) { return uint64_t(int64_t(va << 16) >> 16) == va; }
    constexpr bool valid_range(uint64_t first, uint64_t last) const
    {
        return canonical(first) && canonical(last) && (first >> 63) == (last >> 63);
    }
};

template <PageTableFormat Format, PageTableMemory Memory>
class PageTable {
public:
    static constexpr uint64_t kNoTable = ~0ull;
    static constexpr int kLevels = 4;
    static constexpr size_t kEntries = 512;
    static constexpr uint64_t kPageSize = 4096;
    // Neither format can encode a physical address of 52 bits or more (SDM Vol. 3A 4.1.4).
    static constexpr uint64_t kPhysicalLimit = 1ull << 52;

    static constexpr uint64_t span(int level) { return 1ull << (12 + 9 * (level - 1)); }
    static constexpr size_t index(uint64_t va, int level) { return (va >> (12 + 9 * (level - 1))) & 511; }

    PageTable(Format format, Memory& memory) : format_(format), memory_(memory) {}

    // Allocates the root table; false if out of memory. Harmless to call again.
    bool init()
    {
        if (root_ == kNoTable) root_ = memory_.allocate_table();
        return root_ != kNoTable;
    }
    uint64_t root() const { return root_; }
    // Works on a tree built earlier (by another PageTable of the same format) from its root.
    void adopt(uint64_t root) { root_ = root; }
    const Format& format() const { return format_; }

    // virt and phys must be 4 KiB aligned; size is rounded up to pages. Uses the largest leaves
    // the alignment of virt and phys and the remaining size allow. False, with nothing changed,
    // on bad arguments, an access the format cannot encode, or out of memory.
    bool map(uint64_t virt, uint64_t phys, uint64_t size, Access access)
    {
        uint64_t bytes = 0;
        if (!check_range(virt, size, bytes) || (phys & (kPageSize - 1)) != 0 || !format_.encodable(access))
            return false;
        if (bytes == 0) return true;
        if (phys >= kPhysicalLimit || bytes > kPhysicalLimit - phys) return false;
        uint64_t pool = kNoTable;
        if (!fill(pool, count(Op::map, root_, kLevels, virt, phys, bytes))) return false;
        map_in(root_, kLevels, virt, phys, bytes, access, pool);
        drain(pool);
        return true;
    }

    // Removing a piece of a large leaf splits it (which needs tables, so this can run out of
    // memory: false, nothing changed). Tables left empty are freed.
    bool unmap(uint64_t virt, uint64_t size)
    {
        uint64_t bytes = 0;
        if (!check_range(virt, size, bytes)) return false;
        if (bytes == 0) return true;
        uint64_t pool = kNoTable;
        if (!fill(pool, count(Op::unmap, root_, kLevels, virt, 0, bytes))) return false;
        unmap_in(root_, kLevels, virt, bytes, pool);
        drain(pool);
        return true;
    }

    bool translate(uint64_t virt, uint64_t& phys, Access& access, int& level) const
    {
        if (root_ == kNoTable || !format_.valid_range(virt, virt)) return false;
        uint64_t table = root_;
        for (int l = kLevels; l >= 1; --l) {
            uint64_t e = memory_.table(table)[index(virt, l)];
            if (!format_.present(e)) return false;
            if (format_.is_leaf(e, l)) {
                phys = format_.address(e, l) + (virt & (span(l) - 1));
                access = format_.access(e, l);
                level = l;
                return true;
            }
            table = format_.address(e, l);
        }
        return false;
    }

    // Calls visit(virt, level, access) for every leaf, lowest address first; an address whose bit
    // 47 is set is given in its canonical (sign-extended) form when the format requires one.
    template <class Visit>
    void for_each_leaf(Visit&& visit) const
    {
        if (root_ != kNoTable) visit_leaves(root_, kLevels, 0, visit);
    }

    // Frees every table including the root; init() starts over.
    void destroy()
    {
        if (root_ != kNoTable) free_tree(root_, kLevels);
        root_ = kNoTable;
    }

private:
    enum class Op { map, unmap };

    // A leaf at `level` is used only if every lower level allows leaves too, so that splitting
    // it always takes exactly one table of next-level leaves.
    bool leaf_ok(int level) const
    {
        return level == 1 || (format_.leaf_allowed(level) && leaf_ok(level - 1));
    }

    static uint64_t chunk_at(uint64_t va, uint64_t bytes, int level)
    {
        uint64_t room = span(level) - (va & (span(level) - 1));
        return bytes < room ? bytes : room;
    }

    bool check_range(uint64_t virt, uint64_t size, uint64_t& bytes) const
    {
        if (root_ == kNoTable || (virt & (kPageSize - 1)) != 0) return false;
        if (size == 0) return true;
        if (size > ~0ull - (kPageSize - 1)) return false;
        bytes = (size + kPageSize - 1) & ~(kPageSize - 1);
        if (bytes - 1 > ~0ull - virt) return false;
        return format_.valid_range(virt, virt + (bytes - 1));
    }

    bool leaf_fits(int level, uint64_t chunk, uint64_t phys) const
    {
        return chunk == span(level) && (phys & (span(level) - 1)) == 0 && leaf_ok(level);
    }

    bool is_table(uint64_t e, int level) const { return format_.present(e) && !format_.is_leaf(e, level); }

    // Tables map_in / unmap_in will take for the same arguments. `table` == kNoTable stands for a
    // table they will create: empty or full of leaves, and either way every entry that needs a
    // child then needs a new one.
    size_t count(Op op, uint64_t table, int level, uint64_t va, uint64_t pa, uint64_t bytes) const
    {
        if (level == 1) return 0;
        size_t needed = 0;
        while (bytes != 0) {
            uint64_t chunk = chunk_at(va, bytes, level);
            bool whole = op == Op::map ? leaf_fits(level, chunk, pa) : chunk == span(level);
            if (!whole) {
                uint64_t e = table == kNoTable ? 0 : memory_.table(table)[index(va, level)];
                if (table != kNoTable && is_table(e, level))
                    needed += count(op, format_.address(e, level), level - 1, va, pa, chunk);
                else if (op == Op::map || table == kNoTable || format_.present(e))
                    needed += 1 + count(op, kNoTable, level - 1, va, pa, chunk);
            }
            va += chunk;
            pa += chunk;
            bytes -= chunk;
        }
        return needed;
    }

    // Takes `n` tables up front, chained through their first word; all or none.
    bool fill(uint64_t& pool, size_t n)
    {
        for (size_t i = 0; i < n; ++i) {
            uint64_t t = memory_.allocate_table();
            if (t == kNoTable) {
                drain(pool);
                return false;
            }
            memory_.table(t)[0] = pool;
            pool = t;
        }
        return true;
    }

    uint64_t take(uint64_t& pool)
    {
        uint64_t t = pool;
        uint64_t* entries = memory_.table(t);
        pool = entries[0];
        entries[0] = 0;
        return t;
    }

    void drain(uint64_t& pool)
    {
        while (pool != kNoTable) memory_.free_table(take(pool));
    }

    // Fills a new table with the 512 next-level leaves that reproduce a large leaf exactly.
    void split(uint64_t child, uint64_t leaf, int level)
    {
        uint64_t base = format_.address(leaf, level);
        Access access = format_.access(leaf, level);
        uint64_t* entries = memory_.table(child);
        for (size_t j = 0; j < kEntries; ++j)
            entries[j] = format_.leaf(base + j * span(level - 1), level - 1, access);
    }

    template <class Visit>
    void visit_leaves(uint64_t table, int level, uint64_t base, Visit& visit) const
    {
        const uint64_t* entries = memory_.table(table);
        for (size_t j = 0; j < kEntries; ++j) {
            uint64_t e = entries[j], va = base + j * span(level);
            if (!format_.present(e)) continue;
            if (!format_.is_leaf(e, level)) {
                visit_leaves(format_.address(e, level), level - 1, va, visit);
                continue;
            }
            uint64_t canonical = uint64_t(int64_t(va << 16) >> 16);
            visit(format_.valid_range(va, va) ? va : canonical, level, format_.access(e, level));
        }
    }

    void free_tree(uint64_t table, int level)
    {
        if (level > 1) {
            uint64_t* entries = memory_.table(table);
            for (size_t j = 0; j < kEntries; ++j)
                if (is_table(entries[j], level)) free_tree(format_.address(entries[j], level), level - 1);
        }
        memory_.free_table(table);
    }

    bool empty(uint64_t table) const
    {
        uint64_t* entries = memory_.table(table);
        for (size_t j = 0; j < kEntries; ++j)
            if (format_.present(entries[j])) return false;
        return true;
    }

    // New subtrees are completed before the entry pointing at them is written, and replaced ones
    // are unlinked before they are freed, so a hardware walk never sees a half-built table.
    void map_in(uint64_t table, int level, uint64_t va, uint64_t pa, uint64_t bytes, Access access,
                uint64_t& pool)
    {
        uint64_t* entries = memory_.table(table);
        while (bytes != 0) {
            uint64_t chunk = chunk_at(va, bytes, level);
            uint64_t& entry = entries[index(va, level)];
            uint64_t old = entry;
            if (leaf_fits(level, chunk, pa)) {
                entry = format_.leaf(pa, level, access);
                if (is_table(old, level)) free_tree(format_.address(old, level), level - 1);
            } else if (is_table(old, level)) {
                map_in(format_.address(old, level), level - 1, va, pa, chunk, access, pool);
            } else {
                uint64_t child = take(pool);
                if (format_.present(old)) split(child, old, level);
                map_in(child, level - 1, va, pa, chunk, access, pool);
                entry = format_.table_entry(child);
            }
            va += chunk; // may wrap to 0 after the last page of the address space; bytes is 0 then
            pa += chunk;
            bytes -= chunk;
        }
    }

    void unmap_in(uint64_t table, int level, uint64_t va, uint64_t bytes, uint64_t& pool)
    {
        uint64_t* entries = memory_.table(table);
        while (bytes != 0) {
            uint64_t chunk = chunk_at(va, bytes, level);
            uint64_t& entry = entries[index(va, level)];
            uint64_t old = entry;
            if (!format_.present(old)) {
                // nothing mapped here
            } else if (chunk == span(level)) {
                entry = 0;
                if (is_table(old, level)) free_tree(format_.address(old, level), level - 1);
            } else if (format_.is_leaf(old, level)) {
                uint64_t child = take(pool);
                split(child, old, level);
                unmap_in(child, level - 1, va, chunk, pool);
                entry = format_.table_entry(child);
            } else {
                uint64_t child = format_.address(old, level);
                unmap_in(child, level - 1, va, chunk, pool);
                if (empty(child)) {
                    entry = 0;
                    memory_.free_table(child);
                }
            }
            va += chunk;
            bytes -= chunk;
        }
    }

    Format format_;
    Memory& memory_;
    uint64_t root_ = kNoTable;
};
