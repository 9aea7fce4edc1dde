// The machine's own MC146818-compatible RTC, read once at boot for the wall clock.
#pragma once
#include <cstdint>

namespace host_rtc {

// Seconds since 1970-01-01 UTC (the RTC is assumed to hold UTC), or -1 when it reads nonsense.
int64_t read_seconds();

}  // namespace host_rtc
