#include "vmx/control_registers.hpp"

namespace vmx {

namespace {

// Changes that invalidate TLB entries (SDM Vol. 3A 4.10.4.1 "Operations that Invalidate TLBs and
// Paging-Structure Caches"), taken broadly: flushing more than needed only costs refills.
constexpr uint64_t cr0_flush_bits = cr0::pg | cr0::wp;
constexpr uint64_t cr4_flush_bits =
    cr4::pge | cr4::pae | cr4::pse | cr4::pcide | cr4::smep | cr4::smap | cr4::pke | cr4::la57;
// Changes that reload the PDPTEs when PAE paging results (SDM Vol. 3A 4.4.1 "PDPTE Registers").
constexpr uint64_t cr0_pdpte_bits = cr0::pg | cr0::cd | cr0::nw;
constexpr uint64_t cr4_pdpte_bits = cr4::pae | cr4::pge | cr4::pse | cr4::smep;

bool pae_paging(uint64_t cr0_value, uint64_t cr4_value, uint64_t efer_value)
{
    return (cr0_value & cr0::pg) && (cr4_value & cr4::pae) && !(efer_value & efer::lma);
}

CrWrite fault(const char* reason) { return CrWrite{reason, 0, 0, 0, false, false, false, false}; }

}  // namespace

CrConfig make_cr_config(const CapabilityMsrs& caps, uint64_t cr4_allowed)
{
    CrConfig c{};
    c.cr0_fixed0 = guest_cr0_fixed0(caps, true);
    c.cr0_fixed1 = caps.cr0_fixed1 | cr0::cd | cr0::nw;
    c.cr4_fixed0 = caps.cr4_fixed0;
    c.cr4_fixed1 = caps.cr4_fixed1;
    c.cr4_allowed = cr4_allowed & caps.cr4_fixed1 & ~(cr4::vmxe | cr4::smxe);

    uint64_t cr0_owned_by_guest = cr0_guest_ownable & ~c.cr0_fixed0 & c.cr0_fixed1;
    uint64_t cr4_owned_by_guest = cr4_guest_ownable & c.cr4_allowed & ~c.cr4_fixed0 & c.cr4_fixed1;
    c.cr0_mask = ~cr0_owned_by_guest;
    c.cr4_mask = ~cr4_owned_by_guest;
    return c;
}

uint64_t cr0_actual(const CrConfig& c, uint64_t guest_cr0)
{
    return ((guest_cr0 & ~(cr0::cd | cr0::nw)) | cr0::et | c.cr0_fixed0) & c.cr0_fixed1;
}

uint64_t cr4_actual(const CrConfig& c, uint64_t guest_cr4) { return (guest_cr4 | c.cr4_fixed0) & c.cr4_fixed1; }

CrWrite write_cr0(const CrConfig& c, const CrState& s, uint64_t value)
{
    if (value >> 32) return fault("CR0 bits 63:32 are reserved");
    // Bits 28:19, 17 and 15:6 are reserved but ignored on write; ET is hardwired to 1.
    value = (value & cr0::defined) | cr0::et;
    if ((value & cr0::pg) && !(value & cr0::pe)) return fault("CR0.PG=1 needs CR0.PE=1");
    if ((value & cr0::nw) && !(value & cr0::cd)) return fault("CR0.NW=1 needs CR0.CD=1");

    bool paging_on = !(s.cr0 & cr0::pg) && (value & cr0::pg);
    bool paging_off = (s.cr0 & cr0::pg) && !(value & cr0::pg);
    uint64_t new_efer = s.efer;
    if (paging_on && (s.efer & efer::lme)) {
        // Activating IA-32e mode (SDM Vol. 3A 10.8.5 "Initializing IA-32e Mode").
        if (!(s.cr4 & cr4::pae)) return fault("CR0.PG=1 with EFER.LME=1 needs CR4.PAE=1");
        if (s.cs_l) return fault("CR0.PG=1 with EFER.LME=1 needs CS.L=0");
        new_efer |= efer::lma;
    }
    if (paging_off) {
        if ((s.efer & efer::lma) && s.cs_l) return fault("CR0.PG cannot be cleared in 64-bit mode");
        if (s.cr4 & cr4::pcide) return fault("CR0.PG cannot be cleared while CR4.PCIDE=1");
        new_efer &= ~efer::lma;
    }
    if (!(value & cr0::wp) && (s.cr4 & cr4::cet)) return fault("CR0.WP cannot be cleared while CR4.CET=1");

    uint64_t changed = s.cr0 ^ value;
    CrWrite w{};
    w.actual = cr0_actual(c, value);
    w.shadow = value;
    w.efer = new_efer;
    w.ia32e_mode_guest = new_efer & efer::lma;
    w.efer_changed = new_efer != s.efer;
    w.flush_tlb = changed & cr0_flush_bits;
    w.load_pdptes = pae_paging(value, s.cr4, new_efer) && (changed & cr0_pdpte_bits);
    return w;
}

CrWrite write_cr4(const CrConfig& c, const CrState& s, uint64_t value)
{
    if (value & cr4::vmxe) return fault("CR4.VMXE cannot be set: VMX is not available to guests");
    if (value & ~c.cr4_allowed) return fault("CR4 reserved bit set (or a bit whose feature the guest's CPUID lacks)");
    bool long_mode = s.efer & efer::lma;
    if (long_mode && !(value & cr4::pae)) return fault("CR4.PAE cannot be cleared in IA-32e mode");
    if (long_mode && ((s.cr4 ^ value) & cr4::la57)) return fault("CR4.LA57 cannot change in IA-32e mode");
    if (!(s.cr4 & cr4::pcide) && (value & cr4::pcide)) {
        if (!long_mode) return fault("CR4.PCIDE=1 needs IA-32e mode");
        if (s.cr3 & 0xfff) return fault("CR4.PCIDE=1 needs CR3[11:0]=0");
    }
    if ((value & cr4::cet) && !(s.cr0 & cr0::wp)) return fault("CR4.CET=1 needs CR0.WP=1");

    uint64_t changed = s.cr4 ^ value;
    CrWrite w{};
    w.actual = cr4_actual(c, value);
    w.shadow = value;
    w.efer = s.efer;
    w.ia32e_mode_guest = long_mode;
    w.flush_tlb = changed & cr4_flush_bits;
    w.load_pdptes = pae_paging(s.cr0, value, s.efer) && (changed & cr4_pdpte_bits);
    return w;
}

CrWrite clts(const CrConfig& c, const CrState& s) { return write_cr0(c, s, s.cr0 & ~cr0::ts); }

CrWrite lmsw(const CrConfig& c, const CrState& s, uint16_t source)
{
    uint64_t low = cr0::pe | cr0::mp | cr0::em | cr0::ts;
    uint64_t value = (s.cr0 & ~low) | (source & low) | (s.cr0 & cr0::pe);
    return write_cr0(c, s, value);
}

}  // namespace vmx
