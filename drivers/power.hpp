// Leaving the hypervisor: ACPI S5 on real machines, or the emulator's exit port in test runs,
// always after a final `matryoshka: exit status N` line that tools/run-vm reads.
#pragma once
#include <cstdint>

#include "boot/options.hpp"
#include "drivers/acpi.hpp"

namespace power {

// stopped: the operator pressed the `p` debug key (drivers/debug_keys.hpp).
enum class ExitStatus : uint8_t { success = 0, failure = 1, refused = 2, bad_command_line = 3, stopped = 4 };

void configure(boot::ExitMethod method);
void use_acpi(const acpi::Power& acpi);
bool leaves_through_emulator();

// With exit=halt the CPU then waits for debug keys instead of halting for good; a `p` there
// (status stopped) powers off through ACPI, since halting again would not turn anything off.
[[noreturn]] void exit(ExitStatus status);
// The same without the status line: after a panic, which printed it through its emergency path
// (the console lock may be held by the CPU that faulted).
[[noreturn]] void leave(ExitStatus status);

// Prints `matryoshka: rebooting`, flushes the console, then tries in turn: the FADT reset
// register (when RESET_REG_SUP), the keyboard controller (0xFE to port 0x64), port 0xCF9 and,
// as the last resort, a triple fault.
[[noreturn]] void reboot();

}  // namespace power
