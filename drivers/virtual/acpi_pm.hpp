// The VM's ACPI fixed hardware (ACPI 6.5 §4.8 "ACPI Hardware Model"), one block of ports that the
// guest's FADT describes (vmx/guest_acpi.hpp), laid out as on the PIIX4/ICH9 at base 0x600:
//   0x600  PM1a_STS (16 bits)   0x602  PM1a_EN (16 bits)
//   0x604  PM1a_CNT (16 bits)   0x608  PM_TMR (32 bits: a 24-bit counter at 3.579545 MHz)
// No PM1b, PM2 or GPE blocks. The platform is always in ACPI mode (the FADT's SMI_CMD is 0), so
// PM1_CNT.SCI_EN reads 1.
//
// Writing PM1a_CNT with SLP_EN (bit 13) set and SLP_TYP (bits 12:10) equal to the \_S5 value
// (kS5SleepType) powers the machine off: the `power_off` callback. Other sleep types are states
// the DSDT does not offer; writing them does nothing. PM1a_STS bits are write-one-to-clear and
// PM1a_EN is storage: no fixed event source (power button, timer carry, RTC alarm) is modelled,
// so no status bit is ever set and the SCI (IRQ 9) stays idle.
//
// Pure: "now" is in PM timer ticks (3.579545 MHz) from a fixed origin, never backwards.
#pragma once
#include <cstdint>

#include "drivers/virtual/io_bus.hpp"

namespace acpi_pm {

constexpr uint16_t kBase = 0x600;
constexpr uint16_t kPm1aEvent = kBase, kPm1aControl = kBase + 4, kPmTimer = kBase + 8;
constexpr uint8_t kPm1EventLength = 4, kPm1ControlLength = 2, kPmTimerLength = 4;
constexpr uint16_t kBlockLength = 12;
constexpr uint64_t kTimerHz = 3579545;
constexpr uint8_t kS5SleepType = 7;  // the \_S5 package's value (as on Intel ICH south bridges)
constexpr uint16_t kSciEnable = 1u << 0, kSleepEnable = 1u << 13;

struct Clock {
    uint64_t (*now)(void* context);  // PM timer ticks
    void* context;
};

struct PowerSink {
    void (*power_off)(void* context);  // may be null
    void* context;
};

class AcpiPm {
public:
    AcpiPm(Clock clock, PowerSink sink);

    io_bus::Handler handler();  // kBase .. kBase + kBlockLength - 1
    // `offset` from kBase; a multi-byte access is one read of the timer, little-endian.
    uint32_t read(uint16_t offset, uint8_t size, uint64_t now);
    void write(uint16_t offset, uint8_t size, uint32_t value);

private:
    uint8_t read_byte(uint16_t offset, uint64_t now) const;
    void write_byte(uint16_t offset, uint8_t value);

    static uint32_t io_in(void* context, uint16_t port, uint8_t size);
    static void io_out(void* context, uint16_t port, uint8_t size, uint32_t value);

    Clock clock_;
    PowerSink sink_;
    uint16_t status_ = 0, enable_ = 0;
    uint16_t control_ = kSciEnable;
};

}  // namespace acpi_pm
