// A fault in the hypervisor is a hypervisor bug: the machine stops as a whole, as Xen's panic
// does, so no CPU goes on in an unknown state. The CPU that panics prints its dump, sends every
// other CPU an NMI (a CPU in guest mode gets an NMI exit, one in the hypervisor the NMI vector)
// and waits, bounded, until each has said it stopped; then the run ends with status 1.
#pragma once

namespace panic {

// True for the first CPU only; a CPU that faults while another is reporting gets false.
bool begin();
bool in_progress();

// "matryoshka: CPU N stopped", then halts for good with interrupts off. An NMI that arrives
// during a panic ends here (the panicking CPU's NMI is not acknowledged: NMIs stay blocked).
[[noreturn]] void stop_this_cpu();

// After the dump: the other CPUs stopped, "matryoshka: exit status 1", then the exit hook.
[[noreturn]] void stop_machine();

// Set by the boot sequence: leaves through the emulator in test runs; null halts (a real
// machine keeps the dump on its screen).
extern void (*exit_hook)();

}  // namespace panic
