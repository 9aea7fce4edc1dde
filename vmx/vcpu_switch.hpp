// The register state VMX transitions leave alone (SDM Vol. 3C 28.3 "Saving Guest State",
// 29.5 "Loading Host State"): x87/SSE/AVX state and XCR0, CR2, DR0-DR3/DR6, and the SYSCALL and
// SWAPGS MSRs. The hypervisor never touches them, so a guest keeps them in the registers across
// its exits; they are saved and loaded only when a physical CPU changes from one vCPU to another,
// so no VM ever sees another's values.
#pragma once
#include "arch/percpu.hpp"
#include "lib/frame_allocator.hpp"
#include "vmx/vcpu.hpp"

namespace vcpu_switch {

// Allocates the vCPU's extended-state area (XSAVE size from CPUID leaf 0xD, or 512 bytes for
// FXSAVE) holding the architectural initial state. False when out of memory.
bool init(Vcpu& vcpu, FrameAllocator& frames);

// Saves the state of the vCPU that last ran on `cpu` (if another) and loads `next`'s.
void switch_to(PerCpu& cpu, Vcpu& next);

}  // namespace vcpu_switch
