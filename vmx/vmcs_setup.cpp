#include <initializer_list>

#include "vmx/vmcs_setup.hpp"

#include "arch/cpu.hpp"
#include "arch/idt.hpp"
#include "arch/paging.hpp"
#include "lib/format.hpp"
#include "vmx/control_registers.hpp"
#include "vmx/ept.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmcs.hpp"
#include "vmx/vmx_root.hpp"

extern "C" char vmx_exit_point[];

namespace vmcs_setup {
namespace {

using vmcs::Field16, vmcs::Field32, vmcs::Field64, vmcs::FieldNatural;

// KVM's pause-loop exiting defaults: PAUSEs closer than 128 ticks form one loop; a loop longer
// than 4096 ticks exits.
constexpr uint32_t kPleGap = 128, kPleWindow = 4096;

struct SegmentFields {
    Field16 selector;
    Field32 limit, access;
    FieldNatural base;
};

constexpr SegmentFields kSegments[] = {
    {Field16::guest_es_selector, Field32::guest_es_limit, Field32::guest_es_access, FieldNatural::guest_es_base},
    {Field16::guest_cs_selector, Field32::guest_cs_limit, Field32::guest_cs_access, FieldNatural::guest_cs_base},
    {Field16::guest_ss_selector, Field32::guest_ss_limit, Field32::guest_ss_access, FieldNatural::guest_ss_base},
    {Field16::guest_ds_selector, Field32::guest_ds_limit, Field32::guest_ds_access, FieldNatural::guest_ds_base},
    {Field16::guest_fs_selector, Field32::guest_fs_limit, Field32::guest_fs_access, FieldNatural::guest_fs_base},
    {Field16::guest_gs_selector, Field32::guest_gs_limit, Field32::guest_gs_access, FieldNatural::guest_gs_base},
    {Field16::guest_ldtr_selector, Field32::guest_ldtr_limit, Field32::guest_ldtr_access,
     FieldNatural::guest_ldtr_base},
    {Field16::guest_tr_selector, Field32::guest_tr_limit, Field32::guest_tr_access, FieldNatural::guest_tr_base},
};

vmx::Segment* segments(vmx::GuestState& s)
{
    static_assert(offsetof(vmx::GuestState, tr) - offsetof(vmx::GuestState, es) == 7 * sizeof(vmx::Segment));
    return &s.es;
}

void write_guest_state(const vmx::GuestState& g)
{
    vmx::GuestState copy = g;
    vmx::Segment* segment = segments(copy);
    for (size_t i = 0; i < 8; ++i) {
        vmcs::write(kSegments[i].selector, segment[i].selector);
        vmcs::write(kSegments[i].limit, segment[i].limit);
        vmcs::write(kSegments[i].access, segment[i].access_rights);
        vmcs::write(kSegments[i].base, segment[i].base);
    }
    vmcs::write(FieldNatural::guest_cr0, g.cr0);
    vmcs::write(FieldNatural::guest_cr3, g.cr3);
    vmcs::write(FieldNatural::guest_cr4, g.cr4);
    vmcs::write(FieldNatural::guest_dr7, g.dr7);
    vmcs::write(Field64::guest_debugctl, g.debugctl);
    vmcs::write(Field64::guest_efer, g.efer);
    vmcs::write(Field64::guest_pat, g.pat);
    vmcs::write(Field32::guest_sysenter_cs, g.sysenter_cs);
    vmcs::write(FieldNatural::guest_sysenter_esp, g.sysenter_esp);
    vmcs::write(FieldNatural::guest_sysenter_eip, g.sysenter_eip);
    vmcs::write(FieldNatural::guest_rip, g.rip);
    vmcs::write(FieldNatural::guest_rsp, g.rsp);
    vmcs::write(FieldNatural::guest_rflags, g.rflags);
    vmcs::write(FieldNatural::guest_gdtr_base, g.gdtr_base);
    vmcs::write(Field32::guest_gdtr_limit, g.gdtr_limit);
    vmcs::write(FieldNatural::guest_idtr_base, g.idtr_base);
    vmcs::write(Field32::guest_idtr_limit, g.idtr_limit);
    vmcs::write(Field32::guest_activity_state, g.activity_state);
    vmcs::write(Field32::guest_interruptibility, g.interruptibility);
    vmcs::write(FieldNatural::guest_pending_debug, g.pending_debug);
    vmcs::write(Field64::vmcs_link_pointer, g.vmcs_link_pointer);
    const Field64 pdpte[] = {Field64::guest_pdpte0, Field64::guest_pdpte1, Field64::guest_pdpte2,
                             Field64::guest_pdpte3};
    for (int i = 0; i < 4; ++i) vmcs::write(pdpte[i], g.pdpte[i]);
}

void write_controls(Vcpu& vcpu, const vmx::StartState& start)
{
    const vmx::Platform& p = vmx::platform();
    const Vm& vm = *vcpu.vm;
    vcpu.processor_controls = p.controls.proc.value;
    bool long_mode = start.guest.efer & vmx::efer::lma;
    vmcs::write(Field32::pin_based_controls, p.controls.pin.value);
    vmcs::write(Field32::processor_based_controls, vcpu.processor_controls);
    vmcs::write(Field32::secondary_controls, p.controls.proc2.value);
    vmcs::write(Field32::exit_controls, p.controls.exit.value);
    vmcs::write(Field32::entry_controls, p.controls.entry.value | (long_mode ? vmx::entry::ia32e_mode_guest : 0));
    vmcs::write(Field32::exception_bitmap, 0);
    vmcs::write(Field32::page_fault_error_mask, 0);
    vmcs::write(Field32::page_fault_error_match, 0);
    vmcs::write(Field32::cr3_target_count, 0);
    vmcs::write(Field32::exit_msr_store_count, 0);
    vmcs::write(Field32::exit_msr_load_count, 0);
    vmcs::write(Field32::entry_msr_load_count, 0);
    vmcs::write(Field32::entry_interruption_info, 0);
    vmcs::write(Field64::io_bitmap_a, vm.io_bitmaps);
    vmcs::write(Field64::io_bitmap_b, vm.io_bitmaps + 4096);
    vmcs::write(Field64::msr_bitmap, vm.msr_bitmap);
    vmcs::write(Field64::ept_pointer, vm.ept_pointer);
    vmcs::write(Field64::tsc_offset, vcpu.msrs.tsc_offset);  // INIT does not reset the TSC
    if (p.controls.proc2.value & vmx::proc2::enable_vpid) vmcs::write(Field16::vpid, vcpu.vpid);
    if (p.controls.proc2.value & vmx::proc2::pause_loop_exiting) {
        vmcs::write(Field32::ple_gap, kPleGap);
        vmcs::write(Field32::ple_window, kPleWindow);
    }
    const vmx::CrConfig& cr = p.cr;
    vmcs::write(FieldNatural::cr0_guest_host_mask, cr.cr0_mask);
    vmcs::write(FieldNatural::cr4_guest_host_mask, cr.cr4_mask);
    vmcs::write(FieldNatural::cr0_read_shadow, start.cr0_read_shadow);
    vmcs::write(FieldNatural::cr4_read_shadow, start.cr4_read_shadow);
}

}  // namespace

void write_host_state(const PerCpu& cpu)
{
    vmcs::write(FieldNatural::host_cr0, cpu::read_cr0());
    vmcs::write(FieldNatural::host_cr3, cpu::read_cr3());
    vmcs::write(FieldNatural::host_cr4, cpu::read_cr4());
    vmcs::write(Field16::host_cs_selector, Selector::code);
    for (Field16 f : {Field16::host_ss_selector, Field16::host_ds_selector, Field16::host_es_selector})
        vmcs::write(f, Selector::data);
    vmcs::write(Field16::host_fs_selector, 0);
    vmcs::write(Field16::host_gs_selector, 0);
    vmcs::write(Field16::host_tr_selector, Selector::tss);
    vmcs::write(FieldNatural::host_fs_base, 0);
    vmcs::write(FieldNatural::host_gs_base, reinterpret_cast<uint64_t>(&cpu));
    vmcs::write(FieldNatural::host_tr_base, reinterpret_cast<uint64_t>(&cpu.tss));
    vmcs::write(FieldNatural::host_gdtr_base, reinterpret_cast<uint64_t>(cpu.gdt.entries));
    vmcs::write(FieldNatural::host_idtr_base, idt_base());
    vmcs::write(Field32::host_sysenter_cs, 0);
    vmcs::write(FieldNatural::host_sysenter_esp, 0);
    vmcs::write(FieldNatural::host_sysenter_eip, 0);
    vmcs::write(Field64::host_efer, cpu::rdmsr(cpu::msr::efer));
    vmcs::write(Field64::host_pat, cpu::rdmsr(cpu::msr::pat));
    vmcs::write(FieldNatural::host_rip, reinterpret_cast<uint64_t>(vmx_exit_point));
}

const char* init(Vcpu& vcpu, const PerCpu& cpu, const vmx::StartState& start, char* buffer, size_t size)
{
    auto* region = paging::phys_to_virt<uint32_t>(vcpu.vmcs);
    for (int i = 0; i < 1024; ++i) region[i] = 0;
    region[0] = vmx::platform().features.revision;  // SDM Vol. 3C 25.2 "Format of the VMCS Region"
    if (!vmcs::clear(vcpu.vmcs) || !vmcs::load(vcpu.vmcs)) {
        format_to(buffer, size, "VMCLEAR/VMPTRLD of the VMCS at {:#x} failed", vcpu.vmcs);
        return buffer;
    }
    write_controls(vcpu, start);
    // Cached guest-physical translations are tagged with the EPTP; its tables may reuse pages
    // an earlier VM's EPT had, so start from a clean slate (SDM Vol. 3C 29.4.3.1).
    ept::invalidate(vcpu.vm->ept_pointer);
    write_host_state(cpu);
    write_guest_state(start.guest);
    // VMWRITE failures only leave a VM-instruction error behind: check once, at the end.
    if (uint32_t error = vmcs::read(Field32::instruction_error)) {
        format_to(buffer, size, "VMCS setup failed: VM-instruction error {}", error);
        return buffer;
    }
    return nullptr;
}

vmx::GuestState read_guest_state()
{
    vmx::GuestState g{};
    vmx::Segment* segment = segments(g);
    for (size_t i = 0; i < 8; ++i) {
        segment[i] = {vmcs::read(kSegments[i].selector), vmcs::read(kSegments[i].base),
                      vmcs::read(kSegments[i].limit), vmcs::read(kSegments[i].access)};
    }
    g.cr0 = vmcs::read(FieldNatural::guest_cr0);
    g.cr3 = vmcs::read(FieldNatural::guest_cr3);
    g.cr4 = vmcs::read(FieldNatural::guest_cr4);
    g.dr7 = vmcs::read(FieldNatural::guest_dr7);
    g.debugctl = vmcs::read(Field64::guest_debugctl);
    g.efer = vmcs::read(Field64::guest_efer);
    g.pat = vmcs::read(Field64::guest_pat);
    g.sysenter_cs = vmcs::read(Field32::guest_sysenter_cs);
    g.sysenter_esp = vmcs::read(FieldNatural::guest_sysenter_esp);
    g.sysenter_eip = vmcs::read(FieldNatural::guest_sysenter_eip);
    g.rip = vmcs::read(FieldNatural::guest_rip);
    g.rsp = vmcs::read(FieldNatural::guest_rsp);
    g.rflags = vmcs::read(FieldNatural::guest_rflags);
    g.gdtr_base = vmcs::read(FieldNatural::guest_gdtr_base);
    g.gdtr_limit = vmcs::read(Field32::guest_gdtr_limit);
    g.idtr_base = vmcs::read(FieldNatural::guest_idtr_base);
    g.idtr_limit = vmcs::read(Field32::guest_idtr_limit);
    g.activity_state = vmcs::read(Field32::guest_activity_state);
    g.interruptibility = vmcs::read(Field32::guest_interruptibility);
    g.pending_debug = vmcs::read(FieldNatural::guest_pending_debug);
    g.vmcs_link_pointer = vmcs::read(Field64::vmcs_link_pointer);
    const Field64 pdpte[] = {Field64::guest_pdpte0, Field64::guest_pdpte1, Field64::guest_pdpte2,
                             Field64::guest_pdpte3};
    for (int i = 0; i < 4; ++i) g.pdpte[i] = vmcs::read(pdpte[i]);
    return g;
}

vmx::EntryContext read_entry_context()
{
    vmx::EntryContext c{};
    c.pin = vmcs::read(Field32::pin_based_controls);
    c.proc = vmcs::read(Field32::processor_based_controls);
    c.proc2 = vmcs::read(Field32::secondary_controls);
    c.entry = vmcs::read(Field32::entry_controls);
    c.interruption_info = vmcs::read(Field32::entry_interruption_info);
    c.exception_error_code = vmcs::read(Field32::entry_exception_error_code);
    c.instruction_length = vmcs::read(Field32::entry_instruction_length);
    c.physical_address_bits = uint8_t(cpu::cpuid(0x80000008).eax);
    return c;
}

}  // namespace vmcs_setup
