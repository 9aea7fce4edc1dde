// What ends a slice: something must make the CPU leave the guest at the slice's end (and at the
// next virtual LAPIC timer event) even when the guest never exits by itself, e.g. spinning with
// interrupts off. The VMX-preemption timer does it (SDM Vol. 3C 26.5.1); where the processor
// lacks it (allowed-1 of "activate VMX-preemption timer" is 0 in IA32_VMX_PINBASED_CTLS, A.3.1)
// the host's own LAPIC timer does: armed before VM entry, it raises a host interrupt, and with
// "external-interrupt exiting" (always on here) that is a VM exit whatever the guest's RFLAGS.IF.
#pragma once
#include <cstdint>

#include "arch/percpu.hpp"

namespace slice_timer {

enum class Kind : uint8_t { vmx_preemption_timer, lapic_tsc_deadline, lapic_one_shot };
// Key preemption= on the command line: the best timer the CPU has, or the LAPIC fallback even
// where the VMX-preemption timer exists (to test the fallback).
enum class Wanted : uint8_t { automatic, lapic, lapic_one_shot };

// The VMX-preemption timer when allowed and wanted; else the LAPIC timer, in TSC-deadline mode when
// CPUID.1:ECX[24] reports it (no calibration, absolute TSC deadlines), else one-shot mode.
constexpr Kind choose(Wanted wanted, bool vmx_timer_allowed, bool tsc_deadline)
{
    if (wanted == Wanted::automatic && vmx_timer_allowed) return Kind::vmx_preemption_timer;
    if (wanted != Wanted::lapic_one_shot && tsc_deadline) return Kind::lapic_tsc_deadline;
    return Kind::lapic_one_shot;
}

constexpr const char* name(Kind kind)
{
    switch (kind) {
    case Kind::vmx_preemption_timer: return "VMX-preemption timer";
    case Kind::lapic_tsc_deadline: return "LAPIC timer (TSC-deadline)";
    case Kind::lapic_one_shot: return "LAPIC timer (one-shot)";
    }
    return "?";
}

// On the boot CPU, before any VMCS is set up: a LAPIC kind switches the VMX-preemption timer off in
// every VMCS and, for one-shot mode, measures the LAPIC timer's rate against the TSC.
void init(Kind kind);
Kind kind();
// On every CPU before it runs guests: programs its LAPIC timer for a LAPIC kind.
void init_this_cpu();
// Before each VM entry on this CPU (the vCPU's VMCS current): exit by TSC value `deadline`
// (~0: no deadline).
void arm(PerCpu& cpu, uint64_t now, uint64_t deadline);
// A host interrupt made the last exit: if it was the LAPIC timer, the next arm() re-arms it even
// for the same deadline (it may have fired early: Bochs 2.7 compares TSC deadlines with its tick
// counter, which runs ahead of the TSC by the TSC's reset value, ~4 ms; and a timer that then
// fires while the host runs stays pending across the next entry of a guest with IF=0 without
// the exit the SDM prescribes, so in Bochs only one-shot mode ends such a guest's slices).
void interrupted(PerCpu& cpu, uint8_t vector);

}  // namespace slice_timer
