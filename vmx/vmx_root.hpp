// Putting a CPU into VMX root operation (SDM Vol. 3C 24.7 "Enabling and Entering VMX Operation").
#pragma once
#include <cstdint>

#include "arch/percpu.hpp"
#include "vmx/capabilities.hpp"
#include "vmx/control_registers.hpp"

namespace vmx {

// What the boot CPU reported, decided once: every VMCS is set up from it.
struct Platform {
    CapabilityMsrs msrs;
    Features features;
    Controls controls;
    CrConfig cr;  // CR0/CR4 guest/host masks and fixed bits for every guest
};

// On the boot CPU: checks CPUID.1:ECX.VMX and IA32_FEATURE_CONTROL (locking it with VMX outside
// SMX when firmware left it unlocked), reads the capability MSRs and checks Matryoshka's
// requirements. nullptr, or the precise reason VT-x is unusable (possibly written to `buffer`).
// The controls VMs get are computed from `requests` (the operator may turn optional ones off).
const char* probe(const ControlRequests& requests, char* buffer, size_t size);
const Platform& platform();
// Before any VMCS is set up, when slices end by the host's LAPIC timer (vmx/slice_timer.hpp):
// every VMCS leaves the VMX-preemption timer off.
void disable_preemption_timer();

// VMXON on this CPU with the region at cpu.vmxon_region (allocated by the caller, 4 KiB,
// below 4 GiB when IA32_VMX_BASIC[48]). Sets cpu.in_vmx_root, or cpu.vmx_error.
void enter_root(PerCpu& cpu);

}  // namespace vmx
