#include "vmx/vmx_root.hpp"

#include "arch/cpu.hpp"
#include "arch/paging.hpp"
#include "lib/format.hpp"
#include "vmx/guest_cpuid.hpp"

namespace vmx {
namespace {

Platform detected;

const char* enable_feature_control()
{
    bool has_vmx = cpu::cpuid(1).ecx & cpu::feature::ecx1_vmx;
    FeatureControlDecision decision =
        decide_feature_control(has_vmx, has_vmx ? cpu::rdmsr(cpu::msr::feature_control) : 0);
    if (decision.write) cpu::wrmsr(cpu::msr::feature_control, decision.value);
    return decision.error;
}

// Ascending order, and only MSRs that exist: reading a missing one raises #GP.
CapabilityMsrs read_capabilities()
{
    CapabilityMsrs msrs{};
    for (uint32_t index = msr::first; index <= msr::last; ++index)
        if (msr_exists(msrs, index)) store_msr(msrs, index, cpu::rdmsr(index));
    return msrs;
}

}  // namespace

const char* probe(const ControlRequests& requests, char* buffer, size_t size)
{
    if (const char* error = enable_feature_control()) return error;
    detected.msrs = read_capabilities();
    detected.features = decode(detected.msrs);
    if (const char* error = check_requirements(detected.msrs, detected.features, buffer, size)) return error;
    detected.controls = compute_controls(detected.msrs, requests);
    detected.cr = make_cr_config(detected.msrs, guest_cpuid::cr4_allowed());
    return nullptr;
}

const Platform& platform() { return detected; }

void disable_preemption_timer()
{
    detected.controls.pin.value &= ~pin::preemption_timer;
    detected.controls.exit.value &= ~exit::save_preemption_timer;
}

void enter_root(PerCpu& cpu)
{
    if ((cpu.vmx_error = enable_feature_control())) return;
    CapabilityMsrs msrs = read_capabilities();
    Features features = decode(msrs);
    if ((cpu.vmx_error = check_requirements(msrs, features, cpu.vmx_error_text, sizeof cpu.vmx_error_text))) return;

    // VMXON needs CR0/CR4 to honour the fixed bits, CR4.VMXE among them (SDM Vol. 3C 24.8).
    uint64_t cr0 = apply_fixed(cpu::read_cr0(), msrs.cr0_fixed0, msrs.cr0_fixed1);
    // OSXSAVE lets the hypervisor execute a guest's validated XSETBV on its behalf.
    uint64_t osxsave = (cpu::cpuid(1).ecx & cpu::feature::ecx1_xsave) ? cpu::cr4::osxsave : 0;
    uint64_t cr4 = apply_fixed(cpu::read_cr4() | cpu::cr4::vmxe | osxsave, msrs.cr4_fixed0, msrs.cr4_fixed1);
    if (!(cr4 & cpu::cr4::vmxe)) {
        cpu.vmx_error = "CR4.VMXE cannot be set (IA32_VMX_CR4_FIXED1 bit 13 is 0)";
        return;
    }
    cpu::write_cr0(cr0);
    cpu::write_cr4(cr4);

    // The VMXON region starts with the VMCS revision identifier, bit 31 clear (SDM Vol. 3C 25.11.5).
    auto* region = paging::phys_to_virt<uint32_t>(cpu.vmxon_region);
    for (int i = 0; i < 1024; ++i) region[i] = 0;
    region[0] = features.revision;

    bool invalid = false, valid_failure = false;
    asm volatile("vmxon %[region]\n\tsetc %[invalid]\n\tsetz %[valid]"
                 : [invalid] "=qm"(invalid), [valid] "=qm"(valid_failure)
                 : [region] "m"(cpu.vmxon_region)
                 : "cc", "memory");
    if (invalid || valid_failure) {
        format_to(cpu.vmx_error_text, sizeof cpu.vmx_error_text,
                  "VMXON failed ({}) with CR0 {:#x}, CR4 {:#x}, region {:#x}, revision {:#x}",
                  invalid ? "VMfailInvalid" : "VMfailValid", cr0, cr4, cpu.vmxon_region, features.revision);
        cpu.vmx_error = cpu.vmx_error_text;
        return;
    }
    cpu.in_vmx_root = true;
}

}  // namespace vmx
