// Control-register accesses (SDM Vol. 3C 28.2.1, Table 28-3): writes to host-owned CR0/CR4
// bits, CLTS, LMSW, and CR8 (the local APIC's TPR). CR3 does not exit: EPT makes it the guest's.
#include "arch/cpu.hpp"
#include "vmx/control_registers.hpp"
#include "vmx/events.hpp"
#include "vmx/exit_handlers.hpp"
#include "vmx/guest_context.hpp"
#include "vmx/vcpu_switch.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmcs.hpp"
#include "vmx/vmx_root.hpp"

namespace {

using vmcs::FieldNatural;

enum AccessType : uint32_t { mov_to_cr = 0, mov_from_cr = 1, clts = 2, lmsw = 3 };

uint64_t& gpr_slot(Vcpu& vcpu, unsigned index, uint64_t& rsp)
{
    return index == reg::rsp ? rsp : vcpu.regs.gpr[index];
}

ExitAction inject_gp(Vcpu& vcpu)
{
    events::inject_exception(vcpu, events::vector::gp, 0);
    return ExitAction::resume;
}

// Enabling PAE paging outside long mode loads the four PDPTEs from CR3 (SDM Vol. 3A 4.4.1);
// with EPT the VMCS holds them, so the emulated write must load them itself.
bool load_pdptes(Vcpu& vcpu)
{
    uint64_t base = vmcs::read(FieldNatural::guest_cr3) & 0xffffffe0;
    uint64_t pdpte[4];
    if (!vcpu.vm->ram.read(base, pdpte, sizeof pdpte)) return false;
    uint8_t bits = uint8_t(cpu::cpuid(0x80000008).eax);
    for (uint64_t entry : pdpte)
        if (!vmx::pdpte_valid(entry, bits)) return false;
    const vmcs::Field64 fields[] = {vmcs::Field64::guest_pdpte0, vmcs::Field64::guest_pdpte1,
                                    vmcs::Field64::guest_pdpte2, vmcs::Field64::guest_pdpte3};
    for (int i = 0; i < 4; ++i) vmcs::write(fields[i], pdpte[i]);
    return true;
}

ExitAction apply(Vcpu& vcpu, unsigned cr, const vmx::CrWrite& w)
{
    if (w.fault) return inject_gp(vcpu);
    if (w.load_pdptes && !load_pdptes(vcpu)) return inject_gp(vcpu);
    vmcs::write(cr == 0 ? FieldNatural::guest_cr0 : FieldNatural::guest_cr4, w.actual);
    vmcs::write(cr == 0 ? FieldNatural::cr0_read_shadow : FieldNatural::cr4_read_shadow, w.shadow);
    if (w.efer_changed) {
        vmcs::write(vmcs::Field64::guest_efer, w.efer);
        vcpu.msrs.efer = w.efer;
        uint32_t entry = vmcs::read(vmcs::Field32::entry_controls);
        entry = w.ia32e_mode_guest ? entry | vmx::entry::ia32e_mode_guest : entry & ~vmx::entry::ia32e_mode_guest;
        vmcs::write(vmcs::Field32::entry_controls, entry);
    }
    if (w.flush_tlb) vcpu_switch::flush_guest_tlb(vcpu);
    return ExitAction::skip_instruction;
}

vmx::CrState state()
{
    uint32_t cs = vmcs::read(vmcs::Field32::guest_cs_access);
    return {guest_context::cr0(), guest_context::cr4(), vmcs::read(FieldNatural::guest_cr3),
            vmcs::read(vmcs::Field64::guest_efer), bool(cs & vmx::ar::l)};
}

}  // namespace

ExitAction handle_cr_access(Vcpu& vcpu, uint64_t q)
{
    unsigned cr = q & 15, type = (q >> 4) & 3, index = (q >> 8) & 15;
    const vmx::CrConfig& config = vmx::platform().cr;
    uint64_t rsp = vmcs::read(FieldNatural::guest_rsp);
    uint64_t& operand = gpr_slot(vcpu, index, rsp);
    vmx::CrState s = state();
    // Outside 64-bit mode the operand is 32 bits (SDM Vol. 2B "MOV—Move to/from Control
    // Registers"): bits 63:32 of the register, left over from 64-bit code, play no part.
    uint64_t value = (s.efer & vmx::efer::lma) && s.cs_l ? operand : uint32_t(operand);
    switch (type) {
    case clts: return apply(vcpu, 0, vmx::clts(config, s));
    case lmsw: return apply(vcpu, 0, vmx::lmsw(config, s, uint16_t(q >> 16)));
    case mov_to_cr:
        if (cr == 0) return apply(vcpu, 0, vmx::write_cr0(config, s, value));
        if (cr == 4) return apply(vcpu, 4, vmx::write_cr4(config, s, value));
        if (cr == 8) {
            if (value >> 4) return inject_gp(vcpu);  // CR8 bits 63:4 are reserved
            vcpu.lapic.set_tpr(uint8_t(value << 4));
            return ExitAction::skip_instruction;
        }
        break;
    case mov_from_cr:
        if (cr == 8) {
            operand = vcpu.lapic.tpr() >> 4;
            if (index == reg::rsp) vmcs::write(FieldNatural::guest_rsp, rsp);
            return ExitAction::skip_instruction;
        }
        break;
    }
    return inject_gp(vcpu);
}
