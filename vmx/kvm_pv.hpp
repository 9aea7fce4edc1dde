// The KVM-compatible paravirtual MSRs (Documentation/virt/kvm/x86/msr.rst), shown by CPUID
// 0x40000001 (vmx/cpuid_policy.hpp): kvmclock's MSR_KVM_SYSTEM_TIME_NEW and
// MSR_KVM_WALL_CLOCK_NEW (structures and arithmetic: vmx/pvclock.hpp), and MSR_KVM_STEAL_TIME
// (vmx/steal_time.hpp). Steal time is the scheduler's runnable and co-stop time of the vCPU
// (sched::Metrics) since the guest enabled it, published each time the vCPU is put on a CPU,
// which also clears `preempted`; `preempted` is set when it leaves its CPU still runnable.
//
// A guest-physical address that is not RAM (outside the VM, in the PC hole, or a structure
// crossing the end) is accepted and nothing is written, as KVM does: the MSR reads back what was
// written, and the guest simply never sees a clock there. kvmclock's epoch is guest TSC 0
// (system_time = the TSC in ns); the per-vCPU structure is written when the guest enables it and
// again when the guest moves its own TSC (IA32_TSC, IA32_TSC_ADJUST), the only event that changes
// the TSC-to-time relation: the host TSC is invariant and shared by every CPU, and not scaled.
#pragma once
#include <cstdint>

struct Vcpu;

namespace kvm_pv {

namespace msr {
constexpr uint32_t wall_clock_new = 0x4b564d00, system_time_new = 0x4b564d01, steal_time = 0x4b564d03;
}

constexpr uint64_t system_time_enable = 1;  // bit 0 of MSR_KVM_SYSTEM_TIME_NEW

// What the guest wrote to the MSRs.
struct State {
    uint64_t system_time = 0;
    uint64_t wall_clock = 0;
    uint64_t steal_time = 0;
    uint64_t steal_base = 0;  // the scheduler's steal ticks when the guest enabled it
};

// Whether `index` is one of these MSRs and the guest's CPUID shows it.
bool owns(const Vcpu& vcpu, uint32_t index);
uint64_t read_msr(const Vcpu& vcpu, uint32_t index);
// False: the value has reserved bits set (#GP).
bool write_msr(Vcpu& vcpu, uint32_t index, uint64_t value);
// The guest's TSC moved: publish its kvmclock again, if enabled.
void refresh_clock(Vcpu& vcpu);
// The scheduler put the vCPU on a CPU: its steal time, and `preempted` cleared.
void scheduled_in(Vcpu& vcpu);
// The vCPU left its CPU while still runnable.
void preempted(Vcpu& vcpu);

}  // namespace kvm_pv
