#include "drivers/host_rtc.hpp"

#include "arch/cpu.hpp"
#include "lib/calendar.hpp"

namespace host_rtc {
namespace {

constexpr uint16_t kIndex = 0x70, kData = 0x71;
constexpr uint8_t kStatusA = 0x0a, kStatusB = 0x0b, kUpdateInProgress = 0x80, kBinary = 0x04, kHours24 = 0x02;
constexpr uint8_t kPm = 0x80;

uint8_t read(uint8_t index)
{
    cpu::outb(kIndex, index);  // bit 7 clear: NMIs stay enabled, as firmware left them
    return cpu::inb(kData);
}

struct Reading {
    uint8_t second, minute, hour, day, month, year, century;
    bool operator==(const Reading&) const = default;
};

Reading sample()
{
    // Registers change during an update cycle; wait for it to pass (bounded).
    for (int i = 0; i < 100000 && (read(kStatusA) & kUpdateInProgress); ++i) cpu::pause();
    return {read(0x00), read(0x02), read(0x04), read(0x07), read(0x08), read(0x09), read(0x32)};
}

}  // namespace

int64_t read_seconds()
{
    // Two equal samples in a row: no update happened in between (the usual RTC read discipline).
    Reading r = sample();
    for (int tries = 0; tries < 5; ++tries) {
        Reading again = sample();
        if (again == r) break;
        r = again;
    }
    uint8_t status = read(kStatusB);
    auto decode = [&](uint8_t v) -> unsigned { return (status & kBinary) ? v : (v & 0x0f) + (v >> 4) * 10; };
    unsigned hour = decode(r.hour & ~kPm);
    if (!(status & kHours24)) hour = (hour % 12) + ((r.hour & kPm) ? 12 : 0);
    unsigned century = r.century ? decode(r.century) : 20;
    if (century < 19 || century > 99) century = 20;
    int64_t year = century * 100 + decode(r.year);
    unsigned month = decode(r.month), day = decode(r.day), minute = decode(r.minute), second = decode(r.second);
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return -1;
    return seconds_since_epoch(year, month, day, hour, minute, second);
}

}  // namespace host_rtc
