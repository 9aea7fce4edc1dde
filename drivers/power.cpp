#include "drivers/power.hpp"

#include "arch/cpu.hpp"
#include "arch/paging.hpp"
#include "arch/tsc.hpp"
#include "drivers/console.hpp"

namespace power {
namespace {

boot::ExitMethod method = boot::ExitMethod::acpi;
acpi::Power firmware{};
bool have_acpi = false;

constexpr uint16_t kBochsShutdownPort = 0x8900;
constexpr uint16_t kQemuDebugExitPort = 0xf4;
// PM1 control register bits (ACPI 6.5, 4.8.3.2.1) and the hardware-reduced sleep control
// register (4.8.3.7).
constexpr uint16_t kSciEnable = 1u << 0, kSleepEnable = 1u << 13;
constexpr uint8_t kSleepControlEnable = 1u << 5;

uint32_t read_register(const acpi::GenericAddress& r)
{
    if (r.space_id == acpi::kSpaceIo) return r.bit_width > 8 ? cpu::inw(uint16_t(r.address)) : cpu::inb(uint16_t(r.address));
    auto* p = static_cast<volatile uint16_t*>(paging::map_device(r.address, 2));
    return p ? *p : 0;
}

void write_register(const acpi::GenericAddress& r, uint32_t value)
{
    if (!r.address) return;
    if (r.space_id == acpi::kSpaceIo) {
        if (r.bit_width > 8) cpu::outw(uint16_t(r.address), uint16_t(value));
        else cpu::outb(uint16_t(r.address), uint8_t(value));
        return;
    }
    if (r.space_id != acpi::kSpaceMemory) return;
    if (auto* p = static_cast<volatile uint16_t*>(paging::map_device(r.address, 2))) *p = uint16_t(value);
}

// ACPI 6.5, 16.1.7 "Transitioning from the Working to the Soft Off State".
void acpi_soft_off()
{
    if (!have_acpi || !firmware.has_s5) return;
    if (firmware.hardware_reduced) {
        write_register(firmware.sleep_control, uint32_t((firmware.slp_typ_a & 7) << 2) | kSleepControlEnable);
        return;
    }
    if (!firmware.pm1a_control.address) return;
    // Firmware still in legacy mode: ask it to hand over (ACPI 6.5, 16.3.1).
    if (firmware.smi_command && !(read_register(firmware.pm1a_control) & kSciEnable)) {
        cpu::outb(uint16_t(firmware.smi_command), firmware.acpi_enable_value);
        for (int i = 0; i < 300 && !(read_register(firmware.pm1a_control) & kSciEnable); ++i) tsc::delay_us(10'000);
    }
    auto command = [](const acpi::GenericAddress& r, uint8_t type) {
        uint32_t value = (read_register(r) & ~(7u << 10)) | (uint32_t(type & 7) << 10);
        write_register(r, value | kSleepEnable);
    };
    command(firmware.pm1a_control, firmware.slp_typ_a);
    command(firmware.pm1b_control, firmware.slp_typ_b);
}

}  // namespace

void configure(boot::ExitMethod m) { method = m; }
void use_acpi(const acpi::Power& acpi)
{
    firmware = acpi;
    have_acpi = true;
}
bool leaves_through_emulator() { return method == boot::ExitMethod::bochs || method == boot::ExitMethod::qemu; }

void exit(ExitStatus status)
{
    console::info("exit status {}", uint8_t(status));
    console::flush();
    switch (method) {
    case boot::ExitMethod::bochs:
        for (char c : Str("Shutdown")) cpu::outb(kBochsShutdownPort, uint8_t(c));
        break;
    case boot::ExitMethod::qemu: cpu::outb(kQemuDebugExitPort, uint8_t(status)); break;
    case boot::ExitMethod::acpi:
        acpi_soft_off();
        tsc::delay_us(100'000);
        console::info("ACPI power-off did not happen (no usable FADT or \\_S5); halted");
        break;
    case boot::ExitMethod::halt: console::info("halted"); break;
    }
    cpu::halt_forever();
}

}  // namespace power
