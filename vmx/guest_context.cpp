#include "vmx/guest_context.hpp"

#include "arch/cpu.hpp"
#include "vmx/control_registers.hpp"
#include "vmx/entry_checks.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmcs.hpp"

namespace guest_context {

using vmcs::FieldNatural;

mmio_emulation::GuestContext read(const Vcpu& vcpu)
{
    mmio_emulation::GuestContext c{};
    guest_paging::PagingRegisters& p = c.paging;
    // The guest's own view of CR0/CR4 for host-owned bits comes from the read shadows; paging
    // decisions follow the values the processor really uses.
    p.cr0 = vmcs::read(FieldNatural::guest_cr0);
    p.cr3 = vmcs::read(FieldNatural::guest_cr3);
    p.cr4 = vmcs::read(FieldNatural::guest_cr4);
    p.efer = vmcs::read(vmcs::Field64::guest_efer);
    p.use_pdpte_registers = (p.cr0 & vmx::cr0::pg) && (p.cr4 & vmx::cr4::pae) && !(p.efer & vmx::efer::lma);
    const vmcs::Field64 pdpte[] = {vmcs::Field64::guest_pdpte0, vmcs::Field64::guest_pdpte1,
                                   vmcs::Field64::guest_pdpte2, vmcs::Field64::guest_pdpte3};
    for (int i = 0; i < 4; ++i) p.pdpte[i] = vmcs::read(pdpte[i]);
    p.maxphyaddr = uint8_t(cpu::cpuid(0x80000008).eax);

    uint32_t cs = vmcs::read(vmcs::Field32::guest_cs_access);
    if (!(p.cr0 & vmx::cr0::pe)) c.mode = CpuMode::real;
    else if ((p.efer & vmx::efer::lma) && (cs & vmx::ar::l)) c.mode = CpuMode::long64;
    else c.mode = (cs & vmx::ar::db) ? CpuMode::protected32 : CpuMode::protected16;
    uint32_t ss = vmcs::read(vmcs::Field32::guest_ss_access);
    c.cpl = uint8_t(cpl());
    c.stack_address_size = (ss & vmx::ar::db) ? 4 : 2;  // SS.B outside 64-bit mode
    const FieldNatural bases[] = {FieldNatural::guest_es_base, FieldNatural::guest_cs_base,
                                  FieldNatural::guest_ss_base, FieldNatural::guest_ds_base,
                                  FieldNatural::guest_fs_base, FieldNatural::guest_gs_base};
    for (int i = 0; i < 6; ++i) c.segment_base[i] = vmcs::read(bases[i]);
    c.ram = &vcpu.vm->ram;
    return c;
}

unsigned cpl() { return (vmcs::read(vmcs::Field32::guest_ss_access) >> vmx::ar::dpl_shift) & 3; }

bool in_64_bit_mode()
{
    return (vmcs::read(vmcs::Field64::guest_efer) & vmx::efer::lma) && (vmcs::read(vmcs::Field32::guest_cs_access) & vmx::ar::l);
}

uint64_t cr0()
{
    return vmx::guest_cr_value(vmcs::read(FieldNatural::guest_cr0), vmcs::read(FieldNatural::cr0_read_shadow),
                               vmcs::read(FieldNatural::cr0_guest_host_mask));
}

uint64_t cr4()
{
    return vmx::guest_cr_value(vmcs::read(FieldNatural::guest_cr4), vmcs::read(FieldNatural::cr4_read_shadow),
                               vmcs::read(FieldNatural::cr4_guest_host_mask));
}

void load_vmcs_registers(Vcpu& vcpu)
{
    vcpu.regs.gpr[reg::rsp] = vmcs::read(FieldNatural::guest_rsp);
    vcpu.regs.rip = vmcs::read(FieldNatural::guest_rip);
    vcpu.regs.rflags = vmcs::read(FieldNatural::guest_rflags);
}

void store_vmcs_registers(const Vcpu& vcpu)
{
    vmcs::write(FieldNatural::guest_rsp, vcpu.regs.gpr[reg::rsp]);
    vmcs::write(FieldNatural::guest_rip, vcpu.regs.rip);
    vmcs::write(FieldNatural::guest_rflags, vcpu.regs.rflags);
}

}  // namespace guest_context
