#include "drivers/power.hpp"

#include "arch/cpu.hpp"
#include "arch/paging.hpp"
#include "arch/percpu.hpp"
#include "arch/tsc.hpp"
#include "drivers/console.hpp"
#include "drivers/debug_keys.hpp"

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

// ACPI 6.5, 4.8.3.6 "Reset Register": one byte, in I/O or memory space (PCI configuration
// space resets are not supported here).
void acpi_reset()
{
    if (!have_acpi || !firmware.reset_supported || !firmware.reset_register.address) return;
    const acpi::GenericAddress& r = firmware.reset_register;
    if (r.space_id == acpi::kSpaceIo) cpu::outb(uint16_t(r.address), firmware.reset_value);
    else if (r.space_id == acpi::kSpaceMemory) {
        if (auto* p = static_cast<volatile uint8_t*>(paging::map_device(r.address, 1))) *p = firmware.reset_value;
    }
}

// 8042 "pulse reset line" command; waits (bounded) for its input buffer to be empty first.
void keyboard_controller_reset()
{
    constexpr uint16_t kStatusPort = 0x64;
    constexpr uint8_t kInputBufferFull = 1u << 1, kPulseReset = 0xfe;
    for (int i = 0; i < 10'000 && (cpu::inb(kStatusPort) & kInputBufferFull); ++i) tsc::delay_us(10);
    cpu::outb(kStatusPort, kPulseReset);
}

// Intel chipsets' Reset Control Register: SYS_RST | RST_CPU, set after SYS_RST alone so that
// RST_CPU goes from 0 to 1.
void port_cf9_reset()
{
    constexpr uint16_t kResetControl = 0xcf9;
    cpu::outb(kResetControl, 0x02);
    tsc::delay_us(50);
    cpu::outb(kResetControl, 0x06);
}

// An empty IDT: the breakpoint cannot be delivered, nor the #GP and #DF that follow.
[[noreturn]] void triple_fault()
{
    struct [[gnu::packed]] {
        uint16_t limit;
        uint64_t base;
    } empty{0, 0};
    asm volatile("cli; lidt %0; int3" ::"m"(empty) : "memory");
    cpu::halt_forever();
}

// A reset that has not happened after this long is not going to.
constexpr uint64_t kResetWaitUs = 500'000;

}  // namespace

void reboot()
{
    console::info("rebooting");
    console::flush();
    // INIT is blocked in VMX root operation (SDM Vol. 3C 24.8), and a keyboard controller reset
    // may be no more than INIT: leave VMX operation on this CPU first, as Linux does.
    PerCpu& self = this_cpu();
    if (self.in_vmx_root) {
        asm volatile("vmxoff" ::: "cc", "memory");
        self.in_vmx_root = false;
    }
    acpi_reset();
    tsc::delay_us(kResetWaitUs);
    keyboard_controller_reset();
    tsc::delay_us(kResetWaitUs);
    port_cf9_reset();
    tsc::delay_us(kResetWaitUs);
    triple_fault();
}

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
    leave(status);
}

void leave(ExitStatus status)
{
    boot::ExitMethod how = method;
    if (how == boot::ExitMethod::halt && status == ExitStatus::stopped) how = boot::ExitMethod::acpi;
    switch (how) {
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
    console::flush();
    if (method != boot::ExitMethod::halt) cpu::halt_forever();
    // Still listening to the console: `r` and `p` turn a machine that stopped into one that
    // reboots or powers off, without a trip to its power button.
    for (;;) {
        debug_keys::poll();
        console::poll();
        cpu::pause();
    }
}

}  // namespace power
