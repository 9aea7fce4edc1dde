// Putting a vCPU on a physical CPU and taking it off, as KVM's vcpu_load/vcpu_put: its VMCS, and
// the register state VMX transitions leave alone (SDM Vol. 3C 28.3 "Saving Guest State", 29.5
// "Loading Host State"): x87/SSE/AVX state and XCR0, CR2, DR0-DR3/DR6, and the SYSCALL and
// SWAPGS MSRs. The hypervisor never touches them, so a guest keeps them in the registers across
// its exits; they move only when a CPU changes vCPU, so no VM ever sees another's values. vCPUs
// migrate, so a vCPU is resident on at most one CPU at a time and every CPU may load it next.
#pragma once
#include "arch/percpu.hpp"
#include "lib/frame_allocator.hpp"
#include "vmx/vcpu.hpp"

namespace vcpu_switch {

// Allocates the vCPU's extended-state area (XSAVE size from CPUID leaf 0xD, or 512 bytes for
// FXSAVE) holding the architectural initial state. False when out of memory.
bool init(Vcpu& vcpu, FrameAllocator& frames);
// Back to that initial state (x87/SSE/AVX, XCR0, CR2, debug registers): a reset. The vCPU must
// not be loaded on any CPU.
void reset(Vcpu& vcpu);

// Takes the vCPU loaded on `cpu` (if any) off it: saves its registers and VMCLEARs its VMCS
// (which any other CPU needs before it may load it, SDM Vol. 3C 25.11.1), then releases it.
void unload(PerCpu& cpu);

// Makes `vcpu` the vCPU loaded on `cpu`, unloading the previous one: waits until the CPU it last
// ran on has released it, loads its registers and, once its VMCS is set up (vmcs_ready), makes
// that current, rewriting the host state and flushing its VPID's translations when it comes from
// another CPU. False when VMPTRLD fails.
bool load(PerCpu& cpu, Vcpu& vcpu);

// INVVPID single-context (SDM Vol. 3C 31.3 "INVVPID"); without VPIDs every entry flushes anyway.
void flush_guest_tlb(const Vcpu& vcpu);

}  // namespace vcpu_switch
