// The PC's CMOS RTC and NVRAM (Motorola MC146818A data sheet) at ports 0x70 (index, bit 7 =
// NMI disable) and 0x71 (data). Time comes from a callback; the guest may set the clock, which
// is kept as an offset to that source. RAM-size bytes are filled as QEMU's pc_cmos_init does
// for SeaBIOS.
//
// Time registers are computed from the source at each read, so a read never sees a half-done
// update. UIP (register A bit 7) is nevertheless set in the last 244 us of every second, the
// data sheet's warning window before the update, and is never stuck: software that waits for
// it to rise and fall gets the second boundary. While SET (register B bit 7) is 1 the clock
// reads the values the guest holds and writes; clearing SET restarts it from them.
//
// Register C: UF (update ended, once per second) and PF (periodic, rate from register A) are
// computed since the last read of C, so polling them works; AF (alarm) is never set and no
// interrupt (IRQ 8) is raised. Not modelled: the divider-chain control (register A DV bits are
// stored only), daylight saving, square-wave output. Changing the BCD/binary or 12/24-hour
// format in register B re-encodes the time registers at once (real hardware needs them
// rewritten). Writes of out-of-range values are normalised (Feb 30 becomes Mar 2).
#pragma once
#include <cstdint>

#include "drivers/virtual/io_bus.hpp"

namespace cmos_rtc {

struct TimeSource {
    uint64_t (*now_ns)(void* context);  // nanoseconds since 1970-01-01 00:00:00 UTC; null: always 0
    void* context;
};

struct Config {
    uint64_t ram_below_4g;  // bytes of guest RAM from address 0 up to the 32-bit PCI hole
    uint64_t ram_above_4g;  // bytes of guest RAM from 4 GiB up
    uint16_t cpus;
};

// Register indexes.
constexpr uint8_t kSeconds = 0x00, kMinutes = 0x02, kHours = 0x04, kWeekday = 0x06, kDay = 0x07,
                  kMonth = 0x08, kYear = 0x09, kRegA = 0x0a, kRegB = 0x0b, kRegC = 0x0c, kRegD = 0x0d,
                  kCentury = 0x32;
constexpr uint8_t kRegBSet = 0x80, kRegBPie = 0x40, kRegBAie = 0x20, kRegBUie = 0x10, kRegBBinary = 0x04,
                  kRegB24h = 0x02;
constexpr uint8_t kRegAUip = 0x80;
constexpr uint8_t kRegCIrqf = 0x80, kRegCPf = 0x40, kRegCAf = 0x20, kRegCUf = 0x10;

class CmosRtc {
public:
    static constexpr uint16_t kIndexPort = 0x70, kDataPort = 0x71;

    CmosRtc(TimeSource time, const Config& config);

    // Ports 0x70..0x71; wider accesses are split into bytes.
    io_bus::Handler handler();
    uint8_t read(uint16_t port);
    void write(uint16_t port, uint8_t value);

    bool nmi_disabled() const { return nmi_disabled_; }
    uint8_t index() const { return index_; }

private:
    struct DateTime {
        int64_t year;
        int64_t month, day, hour, minute, second;  // wide: writes may hold out-of-range values
    };

    uint64_t now() const { return time_.now_ns ? time_.now_ns(time_.context) : 0; }
    uint8_t read_register(uint8_t index);
    void write_register(uint8_t index, uint8_t value);
    DateTime now_fields(uint64_t ns) const;
    void apply(const DateTime& t, uint64_t ns);
    uint8_t encode(int64_t value) const;
    int64_t decode(uint8_t value) const;
    uint8_t weekday(const DateTime& t) const;

    static uint32_t io_in(void* context, uint16_t port, uint8_t size);
    static void io_out(void* context, uint16_t port, uint8_t size, uint32_t value);

    TimeSource time_;
    uint8_t cmos_[128] = {};
    uint8_t index_ = 0;
    bool nmi_disabled_ = false;
    int64_t offset_s_ = 0;        // guest clock - source, seconds
    uint8_t weekday_offset_ = 0;  // the guest's day-of-week numbering vs. the computed one
    DateTime held_ = {};          // the clock while SET is 1
    uint64_t last_c_read_ns_ = 0;
};

}  // namespace cmos_rtc
