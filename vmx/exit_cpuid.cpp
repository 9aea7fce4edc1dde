// CPUID always exits (SDM Vol. 3C 26.1.2); the answer comes from the CPUID policy.
#include "arch/cpu.hpp"
#include "vmx/control_registers.hpp"
#include "vmx/exit_handlers.hpp"
#include "vmx/guest_context.hpp"
#include "vmx/guest_cpuid.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmcs.hpp"
#include "vmx/vmx_root.hpp"

namespace guest_cpuid {
namespace {

vmx::CpuidView view_of(const Vcpu* vcpu)
{
    const uint32_t proc2 = vmx::platform().controls.proc2.value;
    vmx::CpuidView v{};
    v.vcpu_count = vcpu ? vcpu->vm->vcpu_count : 1;
    v.apic_id = vcpu ? vcpu->lapic.id() : 0;
    v.guest_cr4 = vcpu && vcpu->vmcs_ready ? guest_context::cr4() : 0;  // OSXSAVE mirrors it
    v.host_max_basic = cpu::cpuid(0).eax;
    v.host_max_extended = cpu::cpuid(0x80000000).eax;
    v.rdtscp = proc2 & vmx::proc2::enable_rdtscp;
    v.invpcid = proc2 & vmx::proc2::enable_invpcid;
    return v;
}

vmx::CpuidRegs ask(const vmx::CpuidView& view, uint32_t leaf, uint32_t subleaf)
{
    vmx::CpuidQuery q = vmx::host_query(leaf, subleaf, view);
    vmx::CpuidRegs host{};
    if (q.needed) {
        auto r = cpu::cpuid(q.leaf, q.subleaf);
        host = {r.eax, r.ebx, r.ecx, r.edx};
    }
    return vmx::guest_cpuid(leaf, subleaf, host, view);
}

}  // namespace

vmx::CpuidRegs query(const Vcpu& vcpu, uint32_t leaf, uint32_t subleaf) { return ask(view_of(&vcpu), leaf, subleaf); }

uint64_t cr4_allowed()
{
    vmx::CpuidView view = view_of(nullptr);
    return vmx::guest_cr4_allowed(ask(view, 1, 0), ask(view, 7, 0));
}

}  // namespace guest_cpuid

ExitAction handle_cpuid(Vcpu& vcpu, uint64_t)
{
    uint64_t* gpr = vcpu.regs.gpr;
    vmx::CpuidRegs r = guest_cpuid::query(vcpu, uint32_t(gpr[reg::rax]), uint32_t(gpr[reg::rcx]));
    // CPUID writes 32-bit registers: the upper halves become zero in 64-bit mode.
    gpr[reg::rax] = r.eax;
    gpr[reg::rbx] = r.ebx;
    gpr[reg::rcx] = r.ecx;
    gpr[reg::rdx] = r.edx;
    return ExitAction::skip_instruction;
}
