// Leaving the hypervisor: ACPI S5 on real machines, or the emulator's exit port in test runs,
// always after a final `matryoshka: exit status N` line that tools/run-vm reads.
#pragma once
#include <cstdint>

#include "boot/options.hpp"
#include "drivers/acpi.hpp"

namespace power {

enum class ExitStatus : uint8_t { success = 0, failure = 1, refused = 2, bad_command_line = 3 };

void configure(boot::ExitMethod method);
void use_acpi(const acpi::Power& acpi);
bool leaves_through_emulator();

[[noreturn]] void exit(ExitStatus status);

}  // namespace power
