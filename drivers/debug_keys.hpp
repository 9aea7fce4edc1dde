// Debug keys on the serial console, as Xen's: single keystrokes the operator types on the
// console UART, read by polling its line status (no interrupts, no allocation).
//   r  reboot (power::reboot)
//   p  power off through the exit method (power::exit, status 4 "stopped by the operator")
//   t  the scheduler's metrics and trace (vmx/scheduling.hpp)
//   h  list the keys (so does any other key)
#pragma once

namespace debug_keys {

// Cheap enough for every pass of the vCPU loop: reads the UART at most once per millisecond
// (by the TSC; every call before the TSC is calibrated). Only the boot CPU, or a CPU that has
// stopped everything else (power::exit's halt path), should call it. The boot CPU calls it in
// its vCPU loop and idle loop and in every wait for the other CPUs (arch/smp.cpp); while it runs
// a guest, the next exit (at the latest the preemption timer's end of the slice) gets there.
void poll();

}  // namespace debug_keys
