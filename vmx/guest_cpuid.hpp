// The guest's CPUID as the policy defines it, computed from this CPU's own answers.
#pragma once
#include "vmx/cpuid_policy.hpp"
#include "vmx/vcpu.hpp"

namespace guest_cpuid {

vmx::CpuidRegs query(const Vcpu& vcpu, uint32_t leaf, uint32_t subleaf);
// CR4 bits any guest may set, from what its CPUID shows (the same for every VM).
uint64_t cr4_allowed();

}  // namespace guest_cpuid
