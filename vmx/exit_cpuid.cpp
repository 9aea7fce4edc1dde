// CPUID always exits (SDM Vol. 3C 26.1.2); the answer comes from the CPUID policy.
#include "arch/cpu.hpp"
#include "arch/tsc.hpp"
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
    v.host_max_basic = cpu::cpuid(0).eax;
    v.host_max_extended = cpu::cpuid(0x80000000).eax;
    v.rdtscp = proc2 & vmx::proc2::enable_rdtscp;
    v.invpcid = proc2 & vmx::proc2::enable_invpcid;
    v.tsc_hz = tsc::frequency_hz();
    // PVCLOCK_TSC_STABLE_BIT needs a TSC that ticks at one rate in every state on every CPU.
    v.kvm_features = vmx::kvm_feature::always;
    if (cpu::cpuid(0x80000000).eax >= 0x80000007 && (cpu::cpuid(0x80000007).edx & vmx::invariant_tsc))
        v.kvm_features |= vmx::kvm_feature::clocksource_stable;
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

vmx::CpuidView view(const Vcpu& vcpu) { return view_of(&vcpu); }

vmx::CpuidRegs query(const Vcpu& vcpu, uint32_t leaf, uint32_t subleaf)
{
    vmx::CpuidView v = vcpu.cpuid_view;
    // Only leaves 1 (OSXSAVE) and 7 (OSPKE) mirror the guest's CR4: read it for those alone.
    if (vcpu.vmcs_ready && (leaf == 1 || leaf == 7)) v.guest_cr4 = guest_context::cr4();
    return ask(v, leaf, subleaf);
}

namespace {

// Leaves whose answer varies with the subleaf or with the guest's CR4/XCR0.
bool varies(uint32_t leaf) { return leaf == 1 || leaf == 4 || leaf == 7 || leaf == 0xb || leaf == 0xd || leaf == 0x1f; }

int slot(uint32_t leaf)
{
    if (leaf < Cache::kBasic) return int(leaf);
    // Two slots in each hypervisor window (the KVM one and Matryoshka's).
    if (leaf - vmx::kvm_leaf::base < 2) return int(Cache::kBasic + leaf - vmx::kvm_leaf::base);
    if (leaf - vmx::hv_leaf::base < 2) return int(Cache::kBasic + 2 + leaf - vmx::hv_leaf::base);
    if (leaf - 0x80000000u < Cache::kExtended) return int(Cache::kBasic + Cache::kHypervisor + leaf - 0x80000000u);
    return -1;
}

}  // namespace

void Cache::fill(const Vcpu& vcpu)
{
    valid = 0;
    const vmx::CpuidView& v = vcpu.cpuid_view;
    uint32_t max_basic = ask(v, 0, 0).eax, max_extended = ask(v, 0x80000000, 0).eax;
    auto store = [&](uint32_t leaf) {
        int i = slot(leaf);
        regs[i] = ask(v, leaf, 0);
        valid |= 1ull << i;
    };
    for (uint32_t leaf = 0; leaf <= max_basic && leaf < kBasic; ++leaf)
        if (!varies(leaf)) store(leaf);
    for (uint32_t i = 0; i < 2; ++i) {
        store(vmx::kvm_leaf::base + i);
        store(vmx::hv_leaf::base + i);
    }
    for (uint32_t leaf = 0x80000000; leaf <= max_extended && leaf - 0x80000000u < kExtended; ++leaf) store(leaf);
}

bool Cache::find(uint32_t leaf, vmx::CpuidRegs& out) const
{
    int i = slot(leaf);
    if (i < 0 || !(valid & (1ull << i))) return false;
    out = regs[i];
    return true;
}

uint64_t cr4_allowed()
{
    vmx::CpuidView view = view_of(nullptr);
    return vmx::guest_cr4_allowed(ask(view, 1, 0), ask(view, 7, 0));
}

}  // namespace guest_cpuid

ExitAction handle_cpuid(Vcpu& vcpu, uint64_t)
{
    uint64_t* gpr = vcpu.regs.gpr;
    uint32_t leaf = uint32_t(gpr[reg::rax]);
    vmx::CpuidRegs r;
    if (!vcpu.cpuid_cache.find(leaf, r)) r = guest_cpuid::query(vcpu, leaf, uint32_t(gpr[reg::rcx]));
    // CPUID writes 32-bit registers: the upper halves become zero in 64-bit mode.
    gpr[reg::rax] = r.eax;
    gpr[reg::rbx] = r.ebx;
    gpr[reg::rcx] = r.ecx;
    gpr[reg::rdx] = r.edx;
    return ExitAction::skip_instruction;
}
