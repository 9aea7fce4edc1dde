// The 8254 PIT, used only as a reference clock to measure the TSC (channel 2, gated by port 0x61,
// so no interrupt is involved).
#pragma once
#include <cstdint>

namespace pit {

constexpr uint32_t kFrequencyHz = 1193182;

// Counts TSC ticks across `milliseconds` of PIT time; 0 when the PIT does not count.
uint64_t measure_tsc_ticks(uint32_t milliseconds);

}  // namespace pit
