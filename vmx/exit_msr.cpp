// RDMSR/WRMSR of MSRs the bitmap intercepts (all but the few the VMCS switches anyway): the
// MSR policy decides, the local APIC model owns its MSRs, the KVM paravirtual MSRs are
// vmx/kvm_pv's, and everything else is #GP(0).
#include "arch/cpu.hpp"
#include "vmx/events.hpp"
#include "vmx/exit_handlers.hpp"
#include "vmx/guest_context.hpp"
#include "vmx/kvm_pv.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmcs.hpp"

namespace {

using vmx::MsrAction, vmx::MsrSync;

void sync_vmcs(uint32_t index, uint64_t value)
{
    using namespace vmx::guest_msr;
    switch (index) {
    case efer: vmcs::write(vmcs::Field64::guest_efer, value); break;
    case pat: vmcs::write(vmcs::Field64::guest_pat, value); break;
    case debugctl: vmcs::write(vmcs::Field64::guest_debugctl, value); break;
    case sysenter_cs: vmcs::write(vmcs::Field32::guest_sysenter_cs, uint32_t(value)); break;
    case sysenter_esp: vmcs::write(vmcs::FieldNatural::guest_sysenter_esp, value); break;
    case sysenter_eip: vmcs::write(vmcs::FieldNatural::guest_sysenter_eip, value); break;
    }
}

ExitAction inject_gp(Vcpu& vcpu)
{
    events::inject_exception(vcpu, events::vector::gp, 0);
    return ExitAction::resume;
}

// IA32_APIC_BASE, the x2APIC range and IA32_TSC_DEADLINE belong to the vCPU's local APIC.
bool apic_msr(MsrAction action) { return action == MsrAction::apic_base || action == MsrAction::x2apic || action == MsrAction::tsc_deadline; }

}  // namespace

ExitAction handle_rdmsr(Vcpu& vcpu, uint64_t)
{
    uint64_t* gpr = vcpu.regs.gpr;
    uint32_t index = uint32_t(gpr[reg::rcx]);
    if (kvm_pv::owns(vcpu, index)) {
        uint64_t value = kvm_pv::read_msr(vcpu, index);
        gpr[reg::rax] = uint32_t(value);
        gpr[reg::rdx] = uint32_t(value >> 32);
        return ExitAction::skip_instruction;
    }
    uint64_t now = cpu::rdtsc();
    vmx::MsrResult r = vmx::read_msr(vcpu.msrs, index, now);
    uint64_t value = r.value;
    if (apic_msr(r.action)) {
        if (vcpu.lapic.read_msr(index, now, value) != vlapic::MsrResult::ok) return inject_gp(vcpu);
    } else if (r.action != MsrAction::ok) {
        return inject_gp(vcpu);
    } else if (r.sync == MsrSync::processor) {
        value = cpu::rdmsr(index);  // SWAPGS and friends change it without exiting
    }
    gpr[reg::rax] = uint32_t(value);
    gpr[reg::rdx] = uint32_t(value >> 32);
    return ExitAction::skip_instruction;
}

ExitAction handle_wrmsr(Vcpu& vcpu, uint64_t)
{
    uint64_t* gpr = vcpu.regs.gpr;
    uint32_t index = uint32_t(gpr[reg::rcx]);
    uint64_t value = (gpr[reg::rdx] << 32) | uint32_t(gpr[reg::rax]);
    if (kvm_pv::owns(vcpu, index)) {
        if (!kvm_pv::write_msr(vcpu, index, value)) return inject_gp(vcpu);
        return ExitAction::skip_instruction;
    }
    uint64_t now = cpu::rdtsc();
    vmx::MsrResult r = vmx::write_msr(vcpu.msrs, index, value, now, guest_context::cr0());
    if (apic_msr(r.action)) {
        if (vcpu.lapic.write_msr(index, value, now) != vlapic::MsrResult::ok) return inject_gp(vcpu);
        return ExitAction::skip_instruction;
    }
    if (r.action == MsrAction::gp) return inject_gp(vcpu);
    if (r.action == MsrAction::ibpb) cpu::wrmsr(vmx::guest_msr::pred_cmd, 1);
    switch (r.sync) {
    case MsrSync::none: break;
    case MsrSync::vmcs: sync_vmcs(index, r.value); break;
    case MsrSync::processor: cpu::wrmsr(index, r.value); break;
    case MsrSync::tsc_offset:
        vmcs::write(vmcs::Field64::tsc_offset, r.value);
        vcpu.lapic.set_tsc_offset(r.value, now);  // IA32_TSC_DEADLINE compares with the moved TSC
        kvm_pv::refresh_clock(vcpu);              // so does kvmclock's tsc_timestamp
        break;
    }
    return ExitAction::skip_instruction;
}
