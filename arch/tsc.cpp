#include "arch/tsc.hpp"

#include "arch/cpu.hpp"
#include "drivers/host_rtc.hpp"
#include "drivers/pit.hpp"

namespace tsc {
namespace {
uint64_t hz = 0;
uint64_t wall_clock_tsc = 0, wall_clock_ns = 0;
Source from = Source::pit;
bool disagreed = false;

// SDM Vol. 2A CPUID leaf 15H: TSC = crystal * EBX / EAX; leaf 16H: EAX = base MHz.
uint64_t from_cpuid(Source& which)
{
    uint32_t max_leaf = cpu::cpuid(0).eax;
    if (max_leaf >= 0x15) {
        auto r = cpu::cpuid(0x15);
        if (r.eax && r.ebx && r.ecx) {
            which = Source::cpuid_15h;
            return uint64_t(r.ecx) * r.ebx / r.eax;
        }
    }
    if (max_leaf >= 0x16) {
        uint32_t mhz = cpu::cpuid(0x16).eax & 0xffff;
        if (mhz) {
            which = Source::cpuid_16h;
            return uint64_t(mhz) * 1'000'000;
        }
    }
    return 0;
}
}  // namespace

bool calibrate()
{
    constexpr uint32_t window_ms = 10;
    uint64_t measured = pit::measure_tsc_ticks(window_ms) * (1000 / window_ms);
    hz = from_cpuid(from);
    // CPUID can describe a TSC that does not run at that rate (an emulator, a misconfigured
    // hypervisor underneath): trust the PIT when the two disagree by more than 10%.
    if (hz && measured && (measured * 10 < hz * 9 || measured * 10 > hz * 11)) {
        disagreed = true;
        hz = 0;
    }
    if (!hz) {
        hz = measured;
        from = Source::pit;
    }
    int64_t seconds = host_rtc::read_seconds();
    wall_clock_tsc = cpu::rdtsc();
    wall_clock_ns = seconds > 0 ? uint64_t(seconds) * 1'000'000'000 : 0;
    return hz != 0;
}

uint64_t frequency_hz() { return hz; }
bool cpuid_disagreed() { return disagreed; }

const char* source_name()
{
    switch (from) {
    case Source::cpuid_15h: return "CPUID 0x15";
    case Source::cpuid_16h: return "CPUID 0x16";
    case Source::pit: return "PIT calibration";
    }
    return "?";
}

uint64_t to_ns(uint64_t ticks)
{
    // Split to avoid overflowing 64 bits for long intervals.
    return ticks / hz * 1'000'000'000 + ticks % hz * 1'000'000'000 / hz;
}

uint64_t boot_tsc() { return wall_clock_tsc; }
uint64_t boot_wall_clock_ns() { return wall_clock_ns; }

void delay_us(uint64_t microseconds)
{
    uint64_t start = cpu::rdtsc();
    uint64_t ticks = hz / 1'000'000 * microseconds;
    while (cpu::rdtsc() - start < ticks) cpu::pause();
}

}  // namespace tsc
