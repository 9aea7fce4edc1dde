#include "drivers/virtual/acpi_pm.hpp"

namespace acpi_pm {
namespace {

constexpr uint16_t kControlWritable = 0x1c06;  // BM_RLD, GBL_RLS, SLP_TYP (ACPI 6.5 Table 4.14)
constexpr uint16_t kEnableWritable = 0x0721;   // TMR_EN, GBL_EN, PWRBTN_EN, SLPBTN_EN, RTC_EN
constexpr uint16_t kGlobalRelease = 1u << 2;   // write-only

}  // namespace

AcpiPm::AcpiPm(Clock clock, PowerSink sink) : clock_(clock), sink_(sink) {}

io_bus::Handler AcpiPm::handler() { return io_bus::Handler{kBase, kBlockLength, this, &AcpiPm::io_in, &AcpiPm::io_out}; }

uint32_t AcpiPm::io_in(void* context, uint16_t port, uint8_t size)
{
    auto* self = static_cast<AcpiPm*>(context);
    return self->read(uint16_t(port - kBase), size, self->clock_.now(self->clock_.context));
}

void AcpiPm::io_out(void* context, uint16_t port, uint8_t size, uint32_t value)
{
    static_cast<AcpiPm*>(context)->write(uint16_t(port - kBase), size, value);
}

uint8_t AcpiPm::read_byte(uint16_t offset, uint64_t now) const
{
    switch (offset) {
    case 0: return uint8_t(status_);
    case 1: return uint8_t(status_ >> 8);
    case 2: return uint8_t(enable_);
    case 3: return uint8_t(enable_ >> 8);
    case 4: return uint8_t(control_);
    case 5: return uint8_t(control_ >> 8);
    case 8: return uint8_t(now);
    case 9: return uint8_t(now >> 8);
    case 10: return uint8_t(now >> 16);
    case 11: return 0;  // a 24-bit timer (FADT TMR_VAL_EXT clear)
    default: return 0xff;
    }
}

uint32_t AcpiPm::read(uint16_t offset, uint8_t size, uint64_t now)
{
    uint32_t value = 0;
    for (uint8_t i = 0; i < size; ++i) value |= uint32_t(read_byte(uint16_t(offset + i), now)) << (8 * i);
    return value;
}

void AcpiPm::write_byte(uint16_t offset, uint8_t value)
{
    switch (offset) {
    case 0: status_ &= uint16_t(~value); return;
    case 1: status_ &= uint16_t(~(value << 8)); return;
    case 2: enable_ = uint16_t((enable_ & 0xff00) | (value & kEnableWritable)); return;
    case 3: enable_ = uint16_t((enable_ & 0x00ff) | ((value << 8) & kEnableWritable)); return;
    case 4: control_ = uint16_t((control_ & 0xff00) | (value & kControlWritable & ~kGlobalRelease) | kSciEnable); return;
    case 5: {
        uint16_t written = uint16_t(value << 8);
        control_ = uint16_t((control_ & 0x00ff) | (written & kControlWritable));
        // SLP_EN is write-only: the sleep happens now, in the state SLP_TYP names.
        if ((written & kSleepEnable) && ((control_ >> 10) & 7) == kS5SleepType && sink_.power_off)
            sink_.power_off(sink_.context);
        return;
    }
    default: return;  // 0x606-0x607 reserved; the timer is read-only
    }
}

void AcpiPm::write(uint16_t offset, uint8_t size, uint32_t value)
{
    for (uint8_t i = 0; i < size; ++i) write_byte(uint16_t(offset + i), uint8_t(value >> (8 * i)));
}

}  // namespace acpi_pm
