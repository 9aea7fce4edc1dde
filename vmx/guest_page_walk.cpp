#include "vmx/guest_page_walk.hpp"

namespace guest_paging {
namespace {

constexpr uint64_t present = 1ull << 0, writable = 1ull << 1, user_bit = 1ull << 2, accessed = 1ull << 5,
                   dirty = 1ull << 6, page_size_bit = 1ull << 7, execute_disable = 1ull << 63;

// Bits hi..lo set; empty when lo > hi.
constexpr uint64_t bits(unsigned hi, unsigned lo)
{
    if (lo > hi) return 0;
    unsigned width = hi - lo + 1;
    return (width >= 64 ? ~0ull : (1ull << width) - 1) << lo;
}

struct UsedEntry {
    uint64_t gpa;
    uint64_t value;
    bool wide;
};

struct Walk {
    const GuestRam& ram;
    UsedEntry used[4];
    unsigned used_count = 0;

    // Entries are naturally aligned (table bases are 4 KiB or 32-byte aligned), so one atomic
    // load sees a value the guest wrote as a whole.
    bool load(uint64_t gpa, bool wide, uint64_t& value)
    {
        uint8_t* p = ram.at(gpa, wide ? 8 : 4);
        if (!p) return false;
        if (wide) value = __atomic_load_n(reinterpret_cast<uint64_t*>(p), __ATOMIC_ACQUIRE);
        else value = __atomic_load_n(reinterpret_cast<uint32_t*>(p), __ATOMIC_ACQUIRE);
        return true;
    }
    void remember(uint64_t gpa, uint64_t value, bool wide) { used[used_count++] = {gpa, value, wide}; }

    void set_accessed_dirty(bool write)
    {
        for (unsigned i = 0; i < used_count; ++i) {
            const UsedEntry& e = used[i];
            uint64_t want = e.value | accessed | (write && i == used_count - 1 ? dirty : 0);
            if (want == e.value) continue;
            uint8_t* p = ram.at(e.gpa, e.wide ? 8 : 4);
            if (e.wide) {
                uint64_t expected = e.value;
                __atomic_compare_exchange_n(reinterpret_cast<uint64_t*>(p), &expected, want, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE);
            } else {
                uint32_t expected = uint32_t(e.value);
                __atomic_compare_exchange_n(reinterpret_cast<uint32_t*>(p), &expected, uint32_t(want), false,
                                            __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
            }
        }
    }
};

}  // namespace

Translation translate(const PagingRegisters& paging, const GuestRam& ram, uint64_t linear, AccessKind access,
                      bool user, bool set_accessed_dirty)
{
    Translation t{WalkStatus::ok, 0, 4096, 0};
    if (!(paging.cr0 & cr0::pg)) {
        t.gpa = linear & 0xffff'ffffull;
        return t;
    }
    const bool long_mode = paging.efer & efer::lma;
    const bool pae = paging.cr4 & cr4::pae;
    const bool nxe = paging.efer & efer::nxe;
    if (long_mode && (!pae || (paging.cr4 & cr4::la57))) {
        t.status = WalkStatus::unsupported;
        return t;
    }
    const unsigned m = paging.maxphyaddr < 32 ? 32 : paging.maxphyaddr > 52 ? 52 : paging.maxphyaddr;

    // SDM Vol. 3A 4.7: I/D is reported for fetches only when NX exists in the paging mode (PAE or
    // 4-level with EFER.NXE) or with CR4.SMEP, which is not modelled.
    const uint32_t access_error = (access == AccessKind::write ? pf_error::write : 0) |
                                  (user ? pf_error::user : 0) |
                                  (access == AccessKind::execute && pae && nxe ? pf_error::fetch : 0);
    auto fault = [&](uint32_t bits_set) {
        t.status = WalkStatus::page_fault;
        t.error_code = access_error | bits_set;
        return t;
    };
    auto not_ram = [&] {
        t.status = WalkStatus::not_ram;
        return t;
    };

    Walk walk{ram, {}, 0};
    bool rw = true, us = true, xd = false;
    auto combine = [&](uint64_t e) {
        rw = rw && (e & writable);
        us = us && (e & user_bit);
        xd = xd || (nxe && (e & execute_disable));
    };

    if (!pae) {
        // 32-bit paging (SDM Vol. 3A 4.3): 4-byte entries, 4 MiB pages with CR4.PSE, whose
        // bits 20:13 carry physical address bits 39:32 (PSE-36, at most 40 address bits).
        const uint32_t l = uint32_t(linear);
        uint64_t pde_gpa = (paging.cr3 & 0xffff'f000ull) + ((l >> 22) & 1023) * 4, pde;
        if (!walk.load(pde_gpa, false, pde)) return not_ram();
        if (!(pde & present)) return fault(0);
        walk.remember(pde_gpa, pde, false);
        combine(pde);
        if ((paging.cr4 & cr4::pse) && (pde & page_size_bit)) {
            unsigned m32 = m > 40 ? 40 : m;
            if (pde & bits(21, m32 - 19)) return fault(pf_error::present | pf_error::reserved);
            t.page_size = 4ull << 20;
            t.gpa = (pde & 0xffc0'0000ull) | (((pde >> 13) & bits(m32 - 33, 0)) << 32) | (l & 0x3f'ffffu);
        } else {
            uint64_t pte_gpa = (pde & 0xffff'f000ull) + ((l >> 12) & 1023) * 4, pte;
            if (!walk.load(pte_gpa, false, pte)) return not_ram();
            if (!(pte & present)) return fault(0);
            walk.remember(pte_gpa, pte, false);
            combine(pte);
            t.gpa = (pte & 0xffff'f000ull) | (l & 0xfff);
        }
    } else {
        const uint64_t xd_reserved = nxe ? 0 : execute_disable;
        uint64_t table;
        unsigned first_shift;
        uint64_t address_reserved;
        if (long_mode) {
            // 4-level paging (SDM Vol. 3A 4.5): bits 51:M reserved in every entry, 62:52 ignored.
            table = paging.cr3 & bits(m - 1, 12);
            first_shift = 39;
            address_reserved = bits(51, m);
        } else {
            // PAE paging (SDM Vol. 3A 4.4): bits 62:M are reserved in PDEs and PTEs.
            const uint32_t l = uint32_t(linear);
            linear = l;
            uint64_t pdpte;
            if (paging.use_pdpte_registers) {
                pdpte = paging.pdpte[l >> 30];
            } else if (!walk.load((paging.cr3 & 0xffff'ffe0ull) + (l >> 30) * 8, true, pdpte)) {
                return not_ram();
            }
            if (!(pdpte & present)) return fault(0);
            if (pdpte & (bits(2, 1) | bits(8, 5) | bits(63, m))) return fault(pf_error::present | pf_error::reserved);
            table = pdpte & bits(m - 1, 12);
            first_shift = 21;
            address_reserved = bits(62, m);
        }
        for (unsigned shift = first_shift;; shift -= 9) {
            uint64_t entry_gpa = table + ((linear >> shift) & 511) * 8, e;
            if (!walk.load(entry_gpa, true, e)) return not_ram();
            if (!(e & present)) return fault(0);
            uint64_t reserved = address_reserved | xd_reserved;
            bool large = false;
            if (shift == 39) {
                reserved |= page_size_bit;  // PML4E bit 7
            } else if ((shift == 30 || shift == 21) && (e & page_size_bit)) {
                large = true;
                reserved |= bits(shift - 1, 13);  // 1 GiB: 29:13, 2 MiB: 20:13 (bit 12 is PAT)
            }
            if (e & reserved) return fault(pf_error::present | pf_error::reserved);
            walk.remember(entry_gpa, e, true);
            combine(e);
            if (large || shift == 12) {
                t.page_size = 1ull << shift;
                t.gpa = (e & bits(51, shift)) | (linear & (t.page_size - 1));
                break;
            }
            table = e & bits(51, 12);
        }
    }

    // SDM Vol. 3A 4.6.1, without SMEP/SMAP/PKE: supervisor reads always pass; supervisor writes
    // need R/W everywhere only with CR0.WP; user accesses need U/S everywhere; fetches need no XD.
    bool allowed = true;
    if (user && !us) allowed = false;
    if (access == AccessKind::write && !rw && (user || (paging.cr0 & cr0::wp))) allowed = false;
    if (access == AccessKind::execute && xd) allowed = false;
    if (!allowed) return fault(pf_error::present);

    if (set_accessed_dirty) walk.set_accessed_dirty(access == AccessKind::write);
    return t;
}

}  // namespace guest_paging
