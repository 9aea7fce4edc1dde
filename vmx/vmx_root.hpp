// Putting a CPU into VMX root operation (SDM Vol. 3C 24.7 "Enabling and Entering VMX Operation").
#pragma once
#include <cstdint>

#include "arch/percpu.hpp"
#include "vmx/capabilities.hpp"

namespace vmx {

// Checks CPUID.1:ECX.VMX and IA32_FEATURE_CONTROL on this CPU, locking the latter with VMX
// outside SMX enabled when firmware left it unlocked. nullptr, or the reason VT-x is unusable.
const char* enable_feature_control();

// Reads this CPU's capability MSRs in ascending order, only those that exist.
CapabilityMsrs read_capabilities();

// VMXON on this CPU with the region at cpu.vmxon_region (allocated by the caller, 4 KiB,
// below 4 GiB when IA32_VMX_BASIC[48]). Sets cpu.in_vmx_root, or cpu.vmx_error.
void enter_root(PerCpu& cpu);

}  // namespace vmx
