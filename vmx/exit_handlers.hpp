// VM-exit handling: one table indexed by basic exit reason (exit_dispatch.cpp), each handler
// in the file of its concept. A handler gets the vCPU; the vCPU reaches its VM and devices.
#pragma once
#include <cstdint>

#include "vmx/vcpu.hpp"

enum class ExitAction : uint8_t {
    resume,            // re-enter the guest at the same RIP (a fault was injected, or nothing to do)
    skip_instruction,  // the instruction was emulated: advance RIP past it
    halt,              // HLT: advance RIP, block until an interrupt is deliverable
    pause_loop,        // a PAUSE loop: advance RIP, let the scheduler decide (directed yield)
    reschedule,        // the instruction gave the CPU away (a directed yield): advance RIP, leave it
    stop,              // the VM ended (vms::end was called)
};

using ExitHandler = ExitAction (*)(Vcpu& vcpu, uint64_t qualification);

// Dispatches one exit; unhandled reasons end the VM with a report.
ExitAction handle_exit(Vcpu& vcpu, uint32_t reason);

// Handlers, grouped by file.
ExitAction handle_io(Vcpu&, uint64_t qualification);             // exit_io.cpp
ExitAction handle_cpuid(Vcpu&, uint64_t);                        // exit_cpuid.cpp
ExitAction handle_rdmsr(Vcpu&, uint64_t);                        // exit_msr.cpp
ExitAction handle_wrmsr(Vcpu&, uint64_t);
ExitAction handle_cr_access(Vcpu&, uint64_t qualification);      // exit_cr.cpp
ExitAction handle_ept_violation(Vcpu&, uint64_t qualification);  // exit_ept.cpp
ExitAction handle_ept_misconfiguration(Vcpu&, uint64_t);
ExitAction handle_vmcall(Vcpu&, uint64_t);                       // hypercall.cpp
ExitAction handle_xsetbv(Vcpu&, uint64_t);                       // exit_xsetbv.cpp
// exit_events.cpp: the guest's events and the host's
ExitAction handle_external_interrupt(Vcpu&, uint64_t);
ExitAction handle_exception_or_nmi(Vcpu&, uint64_t);
ExitAction handle_triple_fault(Vcpu&, uint64_t);
ExitAction handle_interrupt_window(Vcpu&, uint64_t);
ExitAction handle_preemption_timer(Vcpu&, uint64_t);
// exit_instructions.cpp: instructions with simple, fixed behaviour
ExitAction handle_hlt(Vcpu&, uint64_t);
ExitAction handle_pause(Vcpu&, uint64_t);
ExitAction handle_cache_flush(Vcpu&, uint64_t);
ExitAction handle_vmx_instruction(Vcpu&, uint64_t);
ExitAction handle_undefined_instruction(Vcpu&, uint64_t);
ExitAction handle_rdpmc(Vcpu&, uint64_t);
