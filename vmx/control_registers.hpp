// Guest CR0/CR4 under VMX: which bits the hypervisor owns (guest/host masks and read shadows,
// SDM Vol. 3C 25.6.6 "Guest/Host Masks and Read Shadows for CR0 and CR4") and the emulation of
// the guest writes that cause VM exits (MOV to CR0/CR4, CLTS, LMSW). Pure functions of their
// inputs; the caller does the VMREAD/VMWRITE/INVVPID.
//
// Ownership (a 1 in a mask = owned by the hypervisor: a guest write that would change the bit
// against the read shadow exits, and guest reads of the bit return the shadow):
// - CR0: guest-owned are MP, EM, TS, ET, WP and AM, which the processor handles natively in VMX
//   non-root operation. Owned: NE (forced to 1 by IA32_VMX_CR0_FIXED0; the guest reads back what
//   it wrote); PE and PG (mode switches: EFER.LMA and the "IA-32e mode guest" entry control follow
//   PG, and PAE paging needs its PDPTEs); CD and NW, because VM entry does not load them from the
//   VMCS and VM exit does not restore them (SDM Vol. 3C 27.3.2.1 "Loading Guest Control
//   Registers, Debug Registers, and MSRs", 28.5.1 "Loading Host Control Registers, Debug
//   Registers, MSRs"): a guest-owned CD would stay set in the hypervisor after the exit. The
//   processor keeps CD=NW=0 and the guest's values live in the shadow only, so guest memory stays
//   cacheable (EPT memory types decide), as KVM does without non-coherent DMA. Every reserved
//   bit is owned too, so writes to them exit and are handled as hardware does.
// - CR4: guest-owned are VME, PVI, TSD, DE, MCE, PGE, PCE, OSFXSR, OSXMMEXCPT, UMIP, FSGSBASE,
//   OSXSAVE, SMEP, SMAP and PKE when the guest's CPUID has the feature (`cr4_allowed`) and the
//   VMX fixed bits leave them free: the processor handles them natively (PGE toggles, which Linux
//   does on every global flush, stay exit-free). Owned: VMXE (forced to 1, reads 0, setting it
//   faults: VMX is hidden), PAE, PSE, PCIDE and LA57 (paging-mode changes the hypervisor tracks),
//   every bit whose feature the guest's CPUID hides (so setting it faults as on a processor
//   without it), and the reserved bits.
//
// Reads: MOV from CR0/CR4 never exits; the processor merges shadow and actual value. CR3 is not
// trapped (EPT with unrestricted guest; the CR3-load/store exiting controls are cleared). CR8 is
// the virtual local APIC's TPR: its exits (CR8-load/store exiting, required because without
// them or a TPR shadow a 64-bit guest's MOV to CR8 reaches the physical TPR, SDM Vol. 3C 26.3
// "Changes to Instruction Behavior in VMX Non-Root Operation") belong to the vLAPIC, not here.
//
// Every VM that runs has unrestricted guest (without it vms::create refuses them), so PE and PG
// are exempt from the CR0 fixed bits here.
#pragma once
#include <cstdint>

#include "vmx/capabilities.hpp"

namespace vmx {

// Architectural bits (SDM Vol. 3A 2.5 "Control Registers", 2.2.1 "Extended Feature Enable
// Register").
namespace cr0 {
constexpr uint64_t pe = 1ull << 0, mp = 1ull << 1, em = 1ull << 2, ts = 1ull << 3, et = 1ull << 4, ne = 1ull << 5,
                   wp = 1ull << 16, am = 1ull << 18, nw = 1ull << 29, cd = 1ull << 30, pg = 1ull << 31;
constexpr uint64_t defined = pe | mp | em | ts | et | ne | wp | am | nw | cd | pg;
}  // namespace cr0
namespace cr4 {
constexpr uint64_t vme = 1ull << 0, pvi = 1ull << 1, tsd = 1ull << 2, de = 1ull << 3, pse = 1ull << 4,
                   pae = 1ull << 5, mce = 1ull << 6, pge = 1ull << 7, pce = 1ull << 8, osfxsr = 1ull << 9,
                   osxmmexcpt = 1ull << 10, umip = 1ull << 11, la57 = 1ull << 12, vmxe = 1ull << 13,
                   smxe = 1ull << 14, fsgsbase = 1ull << 16, pcide = 1ull << 17, osxsave = 1ull << 18,
                   kl = 1ull << 19, smep = 1ull << 20, smap = 1ull << 21, pke = 1ull << 22, cet = 1ull << 23,
                   pks = 1ull << 24, uintr = 1ull << 25;
}  // namespace cr4
namespace efer {
constexpr uint64_t sce = 1ull << 0, lme = 1ull << 8, lma = 1ull << 10, nxe = 1ull << 11;
}

// CR4 bits the guest may own when its CPUID allows them (see the top of this file).
constexpr uint64_t cr4_guest_ownable = cr4::vme | cr4::pvi | cr4::tsd | cr4::de | cr4::mce | cr4::pge | cr4::pce |
                                       cr4::osfxsr | cr4::osxmmexcpt | cr4::umip | cr4::fsgsbase | cr4::osxsave |
                                       cr4::smep | cr4::smap | cr4::pke;
constexpr uint64_t cr0_guest_ownable = cr0::mp | cr0::em | cr0::ts | cr0::et | cr0::wp | cr0::am;

// Per VM, computed once.
struct CrConfig {
    uint64_t cr0_mask;     // VMCS CR0 guest/host mask
    uint64_t cr4_mask;     // VMCS CR4 guest/host mask
    uint64_t cr0_fixed0;   // bits the VMCS CR0 field must have set (NE; PE/PG exempt, unrestricted guest)
    uint64_t cr0_fixed1;   // bits it may have set (CD/NW are never checked by VM entry)
    uint64_t cr4_fixed0;   // VMXE
    uint64_t cr4_fixed1;
    uint64_t cr4_allowed;  // CR4 bits a guest write may set: its CPUID's bits, VMXE/SMXE never
};

// `cr4_allowed`: the CR4 bits the guest's CPUID enumerates (cpuid_policy's guest_cr4_allowed());
// intersected here with what the processor allows in VMX operation.
CrConfig make_cr_config(const CapabilityMsrs& caps, uint64_t cr4_allowed);

// What the guest reads: shadow for owned bits, the VMCS value for the rest.
constexpr uint64_t guest_cr_value(uint64_t actual, uint64_t shadow, uint64_t mask)
{
    return (actual & ~mask) | (shadow & mask);
}

// The VMCS guest CR0/CR4 field for an architectural value the guest holds: fixed bits applied,
// CD/NW cleared (see the top of this file), ET set (hardwired on P6 and later).
uint64_t cr0_actual(const CrConfig& config, uint64_t guest_cr0);
uint64_t cr4_actual(const CrConfig& config, uint64_t guest_cr4);

// The guest's state a write is checked against.
struct CrState {
    uint64_t cr0;   // guest view (guest_cr_value)
    uint64_t cr4;   // guest view
    uint64_t cr3;
    uint64_t efer;  // guest IA32_EFER
    bool cs_l;      // CS.L: with EFER.LMA, the guest is in 64-bit mode
};

struct CrWrite {
    const char* fault;      // nullptr, or why the write raises #GP(0) (nothing else changes then)
    uint64_t actual;        // VMCS guest CR0/CR4 field
    uint64_t shadow;        // VMCS CR0/CR4 read shadow
    uint64_t efer;          // guest IA32_EFER afterwards: LMA follows CR0.PG while EFER.LME=1
    bool ia32e_mode_guest;  // the "IA-32e mode guest" VM-entry control afterwards (= EFER.LMA)
    bool efer_changed;      // write `efer` to the VMCS and update the entry control
    bool flush_tlb;         // INVVPID (single context) before the next entry
    // PAE paging is in use afterwards and the write changed a bit that reloads the PDPTEs (SDM
    // Vol. 3A 4.4.1 "PDPTE Registers"): read the four PDPTEs at CR3[31:5], inject #GP(0) instead
    // of the write if pdpte_valid() fails for one, else store them in the VMCS PDPTE fields.
    bool load_pdptes;
};

// MOV to CR0 / MOV to CR4 with `value`, and the two other instructions that write CR0:
// CLTS (clears TS) and LMSW (bits 3:0 from the 16-bit source; sets PE but cannot clear it).
// Checks per SDM Vol. 2B "MOV—Move to/from Control Registers", "CLTS", "LMSW" and Vol. 3A 2.5.
CrWrite write_cr0(const CrConfig& config, const CrState& state, uint64_t value);
CrWrite write_cr4(const CrConfig& config, const CrState& state, uint64_t value);
CrWrite clts(const CrConfig& config, const CrState& state);
CrWrite lmsw(const CrConfig& config, const CrState& state, uint16_t source);

// A PAE-paging PDPTE the processor would accept: not present, or no reserved bit set (bits 2:1,
// 8:5 and bits 63:MAXPHYADDR; SDM Vol. 3A 4.4.1, Table 4-8).
constexpr bool pdpte_valid(uint64_t pdpte, unsigned physical_address_bits)
{
    if (!(pdpte & 1)) return true;
    uint64_t reserved = 0x1e6ull | (physical_address_bits >= 64 ? 0 : ~0ull << physical_address_bits);
    return (pdpte & reserved) == 0;
}

}  // namespace vmx
