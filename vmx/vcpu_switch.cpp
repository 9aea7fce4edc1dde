#include "vmx/vcpu_switch.hpp"

#include "arch/cpu.hpp"
#include "arch/paging.hpp"
#include "vmx/vmcs.hpp"
#include "vmx/vmcs_setup.hpp"
#include "vmx/vmx_root.hpp"
#include "vmx/guest_cpuid.hpp"
#include "vmx/msr_policy.hpp"

namespace vcpu_switch {
namespace {

constexpr uint32_t kFxsaveBytes = 512;
constexpr uint16_t kX87ControlWordInit = 0x37f;  // FNINIT's value (SDM Vol. 1 8.1.5)
constexpr uint32_t kMxcsrInit = 0x1f80;           // all SIMD exceptions masked (SDM Vol. 1 10.2.3)
constexpr uint64_t kXcr0X87 = 1;                  // the reset value
constexpr uint64_t kXcr0Sse = 2;

bool has_xsave() { return cpu::cpuid(1).ecx & cpu::feature::ecx1_xsave; }

uint64_t xgetbv()
{
    uint32_t lo, hi;
    asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0u));
    return (uint64_t(hi) << 32) | lo;
}

void xsetbv(uint64_t value) { asm volatile("xsetbv" ::"c"(0u), "a"(uint32_t(value)), "d"(uint32_t(value >> 32))); }

// XSAVE/XRSTOR touch only components XCR0 enables, but a guest uses the XMM registers with
// CR4.OSFXSR alone, and state of a component it disabled again stays in the registers. So both
// run with every component a guest may enable, and the guest's own XCR0 goes back afterwards.
void save_registers(Vcpu& v)
{
    if (has_xsave()) {
        v.xcr0 = xgetbv();
        xsetbv(v.xsave_mask);
        asm volatile("xsave64 %0" : "=m"(*v.extended_state) : "a"(~0u), "d"(~0u) : "memory");
    } else {
        asm volatile("fxsave64 %0" : "=m"(*v.extended_state)::"memory");
    }
    v.cr2 = cpu::read_cr2();
    asm volatile("mov %%db0, %0" : "=r"(v.debug[0]));
    asm volatile("mov %%db1, %0" : "=r"(v.debug[1]));
    asm volatile("mov %%db2, %0" : "=r"(v.debug[2]));
    asm volatile("mov %%db3, %0" : "=r"(v.debug[3]));
    asm volatile("mov %%db6, %0" : "=r"(v.debug[4]));
    // SWAPGS changes it without an exit; the other SYSCALL MSRs only change through WRMSR exits.
    v.msrs.kernel_gs_base = cpu::rdmsr(vmx::guest_msr::kernel_gs_base);
}

void load_registers(Vcpu& v)
{
    if (has_xsave()) {
        xsetbv(v.xsave_mask);
        asm volatile("xrstor64 %0" ::"m"(*v.extended_state), "a"(~0u), "d"(~0u) : "memory");
        xsetbv(v.xcr0);
    } else {
        asm volatile("fxrstor64 %0" ::"m"(*v.extended_state) : "memory");
    }
    asm volatile("mov %0, %%cr2" ::"r"(v.cr2));
    asm volatile("mov %0, %%db0" ::"r"(v.debug[0]));
    asm volatile("mov %0, %%db1" ::"r"(v.debug[1]));
    asm volatile("mov %0, %%db2" ::"r"(v.debug[2]));
    asm volatile("mov %0, %%db3" ::"r"(v.debug[3]));
    asm volatile("mov %0, %%db6" ::"r"(v.debug[4]));
    using namespace vmx::guest_msr;
    const vmx::GuestMsrState& m = v.msrs;
    cpu::wrmsr(star, m.star);
    cpu::wrmsr(lstar, m.lstar);
    cpu::wrmsr(cstar, m.cstar);
    cpu::wrmsr(fmask, m.fmask);
    cpu::wrmsr(kernel_gs_base, m.kernel_gs_base);
    if (m.config.tsc_aux) cpu::wrmsr(tsc_aux, m.tsc_aux);
    if (m.config.spec_ctrl_bits) cpu::wrmsr(spec_ctrl, m.spec_ctrl);
}

}  // namespace

bool init(Vcpu& vcpu, FrameAllocator& frames)
{
    uint32_t bytes = has_xsave() ? cpu::cpuid(0xd, 0).ecx : kFxsaveBytes;
    uint64_t physical = frames.allocate((bytes + 4095) & ~4095ull);
    if (physical == FrameAllocator::kNone) return false;
    vcpu.extended_state = paging::phys_to_virt<ExtendedState>(physical);
    vcpu.extended_state_bytes = bytes;
    if (has_xsave()) vcpu.xsave_mask = vmx::guest_xcr0_allowed(guest_cpuid::query(vcpu, 0xd, 0)) | kXcr0X87 | kXcr0Sse;
    reset(vcpu);
    return true;
}

void reset(Vcpu& vcpu)
{
    auto* area = reinterpret_cast<uint8_t*>(vcpu.extended_state);
    for (uint32_t i = 0; i < vcpu.extended_state_bytes; ++i) area[i] = 0;
    // Legacy region: FCW and MXCSR at their initial values. With XSAVE the header's zero
    // XSTATE_BV makes XRSTOR load the initial state of every component anyway.
    area[0] = uint8_t(kX87ControlWordInit);
    area[1] = uint8_t(kX87ControlWordInit >> 8);
    for (int i = 0; i < 4; ++i) area[24 + i] = uint8_t(kMxcsrInit >> (8 * i));
    vcpu.xcr0 = kXcr0X87;
    vcpu.cr2 = 0;
    for (uint64_t& dr : vcpu.debug) dr = 0;
    vcpu.debug[4] = 0xffff0ff0;  // DR6's initial value (SDM Vol. 3B 18.2.3)
}

void unload(PerCpu& cpu)
{
    Vcpu* vcpu = cpu.loaded_vcpu;
    if (!vcpu) return;
    save_registers(*vcpu);
    if (cpu.current_vmcs) vmcs::clear(cpu.current_vmcs);
    cpu.current_vmcs = 0;
    vcpu->launched = false;  // VMCLEAR made its launch state "clear": the next entry is VMLAUNCH
    cpu.loaded_vcpu = nullptr;
    __atomic_store_n(&vcpu->resident_on, nullptr, __ATOMIC_RELEASE);
}

bool load(PerCpu& cpu, Vcpu& vcpu)
{
    if (cpu.loaded_vcpu != &vcpu) {
        unload(cpu);
        while (__atomic_load_n(&vcpu.resident_on, __ATOMIC_ACQUIRE)) cpu::pause();
        // Sequentially consistent: the vCPU loop drains the IPI mailbox after this store, and a
        // sender posts before it reads resident_on to kick (vmx/ipi.cpp): one of them sees the other.
        __atomic_store_n(&vcpu.resident_on, &cpu, __ATOMIC_SEQ_CST);
        cpu.loaded_vcpu = &vcpu;
        load_registers(vcpu);
    }
    if (!vcpu.vmcs_ready || cpu.current_vmcs == vcpu.vmcs) return true;
    if (!vmcs::load(vcpu.vmcs)) return false;
    cpu.current_vmcs = vcpu.vmcs;
    if (vcpu.last_cpu != &cpu) {
        // Host GDT, TSS, GS base and stacks are per CPU; translations cached under the vCPU's
        // VPID on this CPU may predate page-table changes it made elsewhere.
        vmcs_setup::write_host_state(cpu);
        flush_guest_tlb(vcpu);
        vcpu.last_cpu = &cpu;
    }
    return true;
}

void flush_guest_tlb(const Vcpu& vcpu)
{
    const vmx::Features& f = vmx::platform().features;
    if (!vcpu.vpid) return;
    struct {
        uint64_t vpid, address;
    } descriptor{vcpu.vpid, 0};
    uint64_t type = f.invvpid_single ? 1 : 2;
    asm volatile("invvpid %0, %1" ::"m"(descriptor), "r"(type) : "cc", "memory");
}

}  // namespace vcpu_switch
