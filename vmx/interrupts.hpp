// Getting the virtual LAPIC's interrupts into the guest (SDM Vol. 3C 27.6.1, 26.7.5
// "Interrupt-Window Exiting"): inject when the guest can take an interrupt, otherwise ask for
// an exit as soon as it can.
#pragma once
#include <cstdint>

#include "vmx/vcpu.hpp"

namespace interrupts {

// Before each entry: advances the LAPIC timer to `now`, then injects or opens a window.
void prepare_entry(Vcpu& vcpu, uint64_t now);
// A halted vCPU wakes when an interrupt is deliverable and its RFLAGS.IF is set.
bool wakes(Vcpu& vcpu, uint64_t now);
// TSC value of the vCPU's next timer event, ~0 for none: its LAPIC timer, and for vCPU 0 also the
// VM's platform timer (vm_devices::update_timers), which it keeps running.
uint64_t next_deadline(const Vcpu& vcpu);

}  // namespace interrupts
