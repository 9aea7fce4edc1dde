// Starting the application processors (SDM Vol. 3A 9.4 "Multiple-Processor (MP) Initialization")
// and handing them boot-time work.
#pragma once
#include <cstddef>
#include <cstdint>

#include "arch/percpu.hpp"
#include "boot/multiboot2.hpp"
#include "drivers/acpi.hpp"
#include "lib/frame_allocator.hpp"

namespace smp {

struct Limits {
    uint32_t max_cpus;    // 0: all
    uint32_t timeout_ms;  // how long one CPU may take to answer INIT-SIPI-SIPI
};

// Registers the boot CPU (already running on `boot_cpu`) as CPU 0.
void register_boot_cpu(PerCpu& boot_cpu);
// Starts every enabled CPU of the MADT except the boot CPU, one at a time. A CPU that does not
// answer within the bound is reported and left out; the others go on.
// Returns nullptr or an error that stops all bring-up (no trampoline page, no memory).
const char* start_application_processors(const acpi::Platform& platform, const mb2::BootInfo& boot,
                                         FrameAllocator& frames, Limits limits);

size_t cpus_found();   // enabled CPUs in the MADT (at least 1)
size_t cpus_online();  // CPUs running, the boot CPU included
PerCpu& cpu(size_t index);  // 0 <= index < cpus_online()

// Runs `work` on every online CPU (the boot CPU last, itself) and waits for each, at most
// `timeout_ms` (kNoTimeout: as long as it takes); returns how many finished. While it waits, the
// boot CPU answers the serial debug keys.
constexpr uint32_t kNoTimeout = ~0u;
size_t run_everywhere(void (*work)(PerCpu&), uint32_t timeout_ms);

}  // namespace smp
