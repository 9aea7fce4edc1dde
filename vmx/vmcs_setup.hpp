// Filling a vCPU's VMCS: execution controls from the capability MSRs, the VM's bitmaps and EPT,
// host state for the physical CPU it runs on, and the guest's start state.
#pragma once
#include <cstddef>
#include <cstdint>

#include "arch/percpu.hpp"
#include "vmx/entry_checks.hpp"
#include "vmx/vcpu.hpp"

namespace vmcs_setup {

// VMCLEARs and loads the vCPU's VMCS and writes every field, host state for `cpu` included.
// nullptr, or what failed.
const char* init(Vcpu& vcpu, const PerCpu& cpu, const vmx::StartState& start, char* buffer, size_t size);

// Host state for `cpu`: written whenever a VMCS becomes current on a physical CPU, since GS
// base, TR and GDTR differ per CPU (SDM Vol. 3C 25.5 "Host-State Area").
void write_host_state(const PerCpu& cpu);

// Reads the guest-state area back, for the VM-entry checker when an entry fails.
vmx::GuestState read_guest_state();
// The controls and pending event the VM-entry checks look at, from the current VMCS.
vmx::EntryContext read_entry_context();

}  // namespace vmcs_setup
