#include "drivers/pit.hpp"

#include "arch/cpu.hpp"

namespace pit {
namespace {
constexpr uint16_t channel2_data = 0x42, command = 0x43, speaker_control = 0x61;
constexpr uint8_t gate2 = 0x01, speaker = 0x02, out2 = 0x20;
}  // namespace

uint64_t measure_tsc_ticks(uint32_t milliseconds)
{
    uint32_t count = kFrequencyHz * milliseconds / 1000;
    if (count == 0 || count > 0xffff) return 0;
    // Gate off, speaker off; channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count):
    // OUT2 goes high when the count reaches zero (8254 data sheet, mode 0).
    uint8_t control = cpu::inb(speaker_control);
    cpu::outb(speaker_control, uint8_t((control & ~(gate2 | speaker))));
    cpu::outb(command, 0xb0);
    cpu::outb(channel2_data, uint8_t(count));
    cpu::outb(channel2_data, uint8_t(count >> 8));
    cpu::outb(speaker_control, uint8_t((control & ~speaker) | gate2));
    uint64_t start = cpu::rdtsc();
    // Bound the wait by the TSC (50 GHz-equivalent of the interval) so a missing PIT fails fast.
    uint64_t limit = uint64_t(milliseconds) * 50'000'000;
    uint64_t now = start;
    while (!(cpu::inb(speaker_control) & out2)) {
        now = cpu::rdtsc();
        if (now - start > limit) {
            cpu::outb(speaker_control, control);
            return 0;
        }
    }
    now = cpu::rdtsc();
    cpu::outb(speaker_control, control);
    return now - start;
}

}  // namespace pit
