// The guest's CPUID as the policy defines it, computed from this CPU's own answers.
#pragma once
#include "vmx/cpuid_policy.hpp"

struct Vcpu;

namespace guest_cpuid {

// Answers for the leaves that depend on nothing but the vCPU (no subleaf, no CR4 or XCR0),
// computed once when the vCPU is created, so the CPUID exit is a lookup, as in KVM.
struct Cache {
    static constexpr uint32_t kBasic = 0x20, kHypervisor = 4, kExtended = 9;
    vmx::CpuidRegs regs[kBasic + kHypervisor + kExtended];
    uint64_t valid;  // one bit per slot

    void fill(const Vcpu& vcpu);
    bool find(uint32_t leaf, vmx::CpuidRegs& out) const;
};


// What the policy needs to know of a vCPU; fixed for its life, so computed once (vcpu.cpuid_view).
vmx::CpuidView view(const Vcpu& vcpu);
vmx::CpuidRegs query(const Vcpu& vcpu, uint32_t leaf, uint32_t subleaf);
// CR4 bits any guest may set, from what its CPUID shows (the same for every VM).
uint64_t cr4_allowed();

}  // namespace guest_cpuid
