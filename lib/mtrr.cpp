#include "lib/mtrr.hpp"

namespace mtrr {
namespace {

constexpr uint64_t kValid = 1u << 11;  // PHYSMASKn.V
constexpr uint64_t kNoChange = ~0ull;

// Values 2, 3 and 7 and above are reserved (SDM Vol. 3A Table 12-8); a firmware that writes one
// gets undefined behaviour, which the strictest type covers.
MemoryType decode(uint64_t value)
{
    MemoryType type = MemoryType(uint8_t(value));
    return value <= 0xff && is_memory_type(type) ? type : MemoryType::uncacheable;
}

uint64_t address_mask(const Registers& r)
{
    unsigned bits = r.physical_address_bits < 32 || r.physical_address_bits > 52 ? 36 : r.physical_address_bits;
    return ((1ull << bits) - 1) & ~0xfffull;
}

// The fixed-range granule at `address` (< 1 MiB) and which register byte describes it
// (SDM Vol. 3A 12.11.2.2, Table 12-9).
uint64_t fixed_granule(uint64_t address) { return address < 0x80000 ? 0x10000 : address < 0xc0000 ? 0x4000 : 0x1000; }

MemoryType fixed_type(const Registers& r, uint64_t address)
{
    size_t reg, byte;
    if (address < 0x80000) {
        reg = 0;
        byte = address >> 16;
    } else if (address < 0xc0000) {
        reg = 1 + ((address - 0x80000) >> 17);
        byte = ((address - 0x80000) >> 14) & 7;
    } else {
        reg = 3 + ((address - 0xc0000) >> 15);
        byte = ((address - 0xc0000) >> 12) & 7;
    }
    return decode((r.fixed[reg] >> (8 * byte)) & 0xff);
}

bool matches(const Variable& v, uint64_t mask, uint64_t address)
{
    return (v.mask & kValid) && (address & mask & v.mask) == (v.base & mask & v.mask);
}

// The first address above `address` where variable range `v` may start or stop matching. A
// contiguous mask (bits MAXPHYADDR-1:k all set) matches one aligned block of 2^k bytes: its edges.
// Any other mask matches the same way throughout each aligned block of its lowest set bit.
uint64_t next_variable_edge(const Variable& v, uint64_t mask, uint64_t address)
{
    if (!(v.mask & kValid)) return kNoChange;
    uint64_t m = v.mask & mask;
    if (m == 0) return kNoChange;  // matches every address
    uint64_t block = m & (~m + 1);
    if ((m | (block - 1)) == (mask | 0xfff)) {
        uint64_t start = v.base & m, end = start + block;
        return address < start ? start : address < end ? end : kNoChange;
    }
    return (address & ~(block - 1)) + block;
}

// The first address above `address` where type_at may differ.
uint64_t next_change(const Registers& r, uint64_t address)
{
    if (!r.enabled()) return kNoChange;
    uint64_t next = kNoChange;
    if (address < kFixedEnd && r.fixed_enabled()) {
        uint64_t granule = fixed_granule(address);
        next = (address & ~(granule - 1)) + granule;
    }
    uint64_t mask = address_mask(r);
    for (size_t i = 0; i < r.variable_count; ++i) {
        uint64_t edge = next_variable_edge(r.variable[i], mask, address);
        if (edge < next) next = edge;
    }
    return next;
}

}  // namespace

MemoryType Registers::default_type() const { return decode(def_type & 0xff); }

MemoryType type_at(const Registers& r, uint64_t address)
{
    if (!r.present) return MemoryType::write_back;
    if (!r.enabled()) return MemoryType::uncacheable;
    if (address < kFixedEnd && r.fixed_enabled()) return fixed_type(r, address);
    uint64_t mask = address_mask(r);
    bool any = false, uncacheable = false, only_wt_wb = true;
    MemoryType first = MemoryType::uncacheable;
    bool same = true;
    for (size_t i = 0; i < r.variable_count; ++i) {
        const Variable& v = r.variable[i];
        if (!matches(v, mask, address)) continue;
        MemoryType type = decode(v.base & 0xff);
        if (!any) first = type;
        same &= type == first;
        any = true;
        uncacheable |= type == MemoryType::uncacheable;
        only_wt_wb &= type == MemoryType::write_through || type == MemoryType::write_back;
    }
    if (!any) return r.default_type();
    if (uncacheable) return MemoryType::uncacheable;
    if (same) return first;
    return only_wt_wb ? MemoryType::write_through : MemoryType::uncacheable;
}

uint64_t uniform_run(const Registers& r, uint64_t address, uint64_t limit, MemoryType& type)
{
    type = type_at(r, address);
    uint64_t at = address;
    for (;;) {
        uint64_t next = next_change(r, at);
        if (next == kNoChange || next <= at || next - address >= limit) return limit;
        if (type_at(r, next) != type) return next - address;
        at = next;
    }
}

const char* type_name(MemoryType type)
{
    switch (type) {
    case MemoryType::uncacheable: return "UC";
    case MemoryType::write_combining: return "WC";
    case MemoryType::write_through: return "WT";
    case MemoryType::write_protected: return "WP";
    case MemoryType::write_back: return "WB";
    }
    return "??";
}

}  // namespace mtrr
