// Translation of a guest linear address to guest-physical through the guest's own page tables
// (SDM Vol. 3A 4.3 32-bit, 4.4 PAE, 4.5 4-level paging), with the access-rights checks of
// SDM Vol. 3A 4.6 and the page-fault error code of SDM Vol. 3A 4.7. Pure: page tables are read
// from GuestRam, so this unit also runs in host tests.
//
// Not modelled: SMEP, SMAP, protection keys (CR4.PKE/PKS), CET shadow-stack accesses, implicit
// supervisor accesses, 5-level paging (CR4.LA57 gives WalkStatus::unsupported), and the guest's
// TLB (a walk always sees the tables as they are now). MAXPHYADDR is PagingRegisters::maxphyaddr;
// 1 GiB pages are taken as supported (CPUID.80000001H:EDX.Page1GB).
#pragma once
#include <cstdint>

#include "vmx/guest_ram.hpp"

namespace guest_paging {

namespace cr0 {
constexpr uint64_t pe = 1ull << 0, wp = 1ull << 16, pg = 1ull << 31;
}
namespace cr4 {
constexpr uint64_t pse = 1ull << 4, pae = 1ull << 5, la57 = 1ull << 12;
}
namespace efer {
constexpr uint64_t lme = 1ull << 8, lma = 1ull << 10, nxe = 1ull << 11;
}
// Page-fault error code bits (SDM Vol. 3A 4.7).
namespace pf_error {
constexpr uint32_t present = 1u << 0, write = 1u << 1, user = 1u << 2, reserved = 1u << 3, fetch = 1u << 4;
}

enum class AccessKind : uint8_t { read, write, execute };

struct PagingRegisters {
    uint64_t cr0 = 0;
    uint64_t cr3 = 0;
    uint64_t cr4 = 0;
    uint64_t efer = 0;
    // PAE paging takes its four PDPTEs from registers loaded at MOV CR3 time, not from memory at
    // walk time (SDM Vol. 3A 4.4.1). With EPT these are the VMCS guest PDPTE0-3 fields: pass them
    // with use_pdpte_registers; otherwise they are read from memory at CR3[31:5].
    uint64_t pdpte[4] = {};
    bool use_pdpte_registers = false;
    uint8_t maxphyaddr = 52;  // the guest's CPUID.80000008H:EAX[7:0]; bits from here up are reserved
};

enum class WalkStatus : uint8_t {
    ok,
    page_fault,   // error_code and the linear address make the #PF to inject
    not_ram,      // a paging-structure entry lies outside guest RAM
    unsupported,  // 5-level paging, or inconsistent control registers (EFER.LMA without CR4.PAE)
};

struct Translation {
    WalkStatus status;
    uint64_t gpa;        // valid when ok
    uint64_t page_size;  // 4 KiB, 2 MiB, 4 MiB or 1 GiB when ok and paging is on; 4 KiB when off
    uint32_t error_code; // valid when page_fault
};

// `user` is true for accesses made at CPL 3 (SDM Vol. 3A 4.6: every access at CPL < 3 is a
// supervisor-mode access, the implicit ones excepted). With paging off (CR0.PG = 0) the linear
// address is the physical address, truncated to 32 bits.
//
// Accessed and dirty flags: on success the walk sets A in every paging-structure entry it used
// (not in PAE PDPTEs, which have none) and D in the final entry of a write, as the processor
// would (SDM Vol. 3A 4.8): the emulated access replaces one the guest made, and a guest that
// clears D to track writes (e.g. to a RAM page written by an emulated MOVS) must see it set.
// Each update is a compare-and-exchange against the value the walk read, so a concurrent guest
// change of the entry wins and is never overwritten (then the flag is simply not set). Walks that
// fault set nothing. GuestRam::host must be 8-byte aligned (entries are accessed atomically).
Translation translate(const PagingRegisters& paging, const GuestRam& ram, uint64_t linear, AccessKind access,
                      bool user, bool set_accessed_dirty = true);

}  // namespace guest_paging
