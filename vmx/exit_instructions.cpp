// Instructions whose emulation is a fixed answer: what real hardware does for a guest that
// cannot see the feature (CPUID hides VMX, SMX, MONITOR/MWAIT and performance counters).
#include "vmx/events.hpp"
#include "vmx/exit_handlers.hpp"

ExitAction handle_hlt(Vcpu&, uint64_t) { return ExitAction::halt; }

// A pause loop the CPU detected (PAUSE exiting itself is never enabled): the instruction has no
// effect to emulate, but the vCPU is probably spinning on a lock whose holder is preempted.
ExitAction handle_pause(Vcpu&, uint64_t) { return ExitAction::pause_loop; }

// INVD/WBINVD: guest RAM is write-back and no device of a VM does DMA, so caches hold nothing
// that must reach memory for the guest to see it.
ExitAction handle_cache_flush(Vcpu&, uint64_t) { return ExitAction::skip_instruction; }

// VMX instructions with CPUID.1:ECX.VMX=0 and CR4.VMXE=0 raise #UD (SDM Vol. 3C 31.3, each
// instruction's "Protected Mode Exceptions").
ExitAction handle_vmx_instruction(Vcpu& vcpu, uint64_t)
{
    events::inject_exception(vcpu, events::vector::ud);
    return ExitAction::resume;
}

// GETSEC with CR4.SMXE=0, MONITOR/MWAIT with CPUID.1:ECX.MONITOR=0: #UD.
ExitAction handle_undefined_instruction(Vcpu& vcpu, uint64_t)
{
    events::inject_exception(vcpu, events::vector::ud);
    return ExitAction::resume;
}

// RDPMC: no counters are exposed (CPUID leaf 0xA is zero), so every index is invalid: #GP(0).
ExitAction handle_rdpmc(Vcpu& vcpu, uint64_t)
{
    events::inject_exception(vcpu, events::vector::gp, 0);
    return ExitAction::resume;
}
