// TSC frequency and delays. The TSC is the hypervisor's clock (invariant on every VT-x CPU
// this targets); its rate comes from CPUID 0x15/0x16 when given, otherwise from the PIT.
#pragma once
#include <cstdint>

namespace tsc {

enum class Source : uint8_t { cpuid_15h, cpuid_16h, pit };

// Measures once on the boot CPU. False when no source works.
bool calibrate();
uint64_t frequency_hz();
const char* source_name();
// Set when CPUID's figure disagreed with the PIT by more than 10% and the PIT's was used.
bool cpuid_disagreed();

void delay_us(uint64_t microseconds);
uint64_t to_ns(uint64_t ticks);

// The wall clock: the host RTC read once at calibration, advanced by the TSC from then on.
uint64_t boot_tsc();
uint64_t boot_wall_clock_ns();

}  // namespace tsc
