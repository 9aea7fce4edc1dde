// The devices every VM has, on one port bus: a 16550 UART at 0x3f8 and the 0xE9 debug console
// (both printed as the VM's lines), QEMU's isa-debug-exit at 0xf4, CMOS/RTC at 0x70/0x71,
// fw_cfg at 0x510/0x511, the 8259 pair (0x20/0x21, 0xA0/0xA1, ELCR 0x4D0/0x4D1), the 8254 PIT
// (0x40-0x43) and port 0x61, PCI configuration mechanism #1 with a host bridge (0xCF8-0xCFF, the
// reset control register at 0xCF9), the ACPI PM block (0x600-0x60B) and the 8042's reset line
// (0x64); on the MMIO bus the I/O APIC at 0xFEC00000 and the PC hole [640 KiB, 1 MiB), which
// reads all ones and ignores writes like a PC without a VGA card or option ROMs (OSes probe it
// for ROM signatures and BIOS tables; a blind VGA text writer runs on). Unclaimed ports read all
// ones, like an empty ISA bus.
//
// Interrupt wiring, as on a PC with the MADT's overrides (vmx/guest_acpi.hpp): ISA IRQ n goes to
// 8259 input n and to I/O APIC pin n, except IRQ 0 (PIT counter 0), which is I/O APIC pin 2. The
// UART drives IRQ 4. The I/O APIC's messages reach the vCPUs' local APICs through
// ipi::deliver_message; a local APIC's EOI of a level-triggered vector goes back to the I/O APIC.
// The 8259 pair's output (ExtINT) is not connected to the vCPUs: a guest that uses the I/O APIC
// masks it, and an I/O APIC entry with delivery mode ExtINT delivers nothing.
//
// Time: the PIT and the PM timer count from the host TSC through the PC's 14.31818 MHz
// oscillator (PIT = /12, PM timer = /4), so they agree with the TSC frequency CPUID 0x15 reports.
// PIT counter 0's interrupts are produced by update_timers(), which the vCPU loop calls before
// entries once `timer_deadline` (a TSC value) has passed; vCPU 0 arms its preemption timer and
// its halt wake-up for it (interrupts::next_deadline).
#pragma once
#include <cstddef>
#include <cstdint>

#include "drivers/virtual/acpi_pm.hpp"
#include "drivers/virtual/cmos_rtc.hpp"
#include "drivers/virtual/debug_exit.hpp"
#include "drivers/virtual/fw_cfg.hpp"
#include "drivers/virtual/io_bus.hpp"
#include "drivers/virtual/ioapic.hpp"
#include "drivers/virtual/kbc_reset.hpp"
#include "drivers/virtual/mmio_bus.hpp"
#include "drivers/virtual/pci_host.hpp"
#include "drivers/virtual/pic8259.hpp"
#include "drivers/virtual/pit8254.hpp"
#include "drivers/virtual/system_port.hpp"
#include "drivers/virtual/uart16550.hpp"

struct Vm;

// Port 0xE9: each byte written is console output (Bochs and QEMU's debug console convention).
struct DebugConsole {
    static constexpr uint16_t kPort = 0xe9;
    char line[256];
    size_t length;
};

// Console output the VM lost because it printed faster than its share of the console queue
// drains (console::write_for_guest): reported at the end of the run.
struct ConsoleLosses {
    uint64_t uart_bytes;  // written to THR while the UART read busy
    uint64_t lines;       // over the share when complete (port 0xE9, the console hypercall)
};

struct VmDevices {
    VmDevices()
        : uart(uart16550::Output{}), debug_exit(debug_exit::Sink{}), cmos(cmos_rtc::TimeSource{}, cmos_rtc::Config{}),
          firmware_config(fw_cfg::Config{}), ioapic(ioapic::Delivery{}), pit(pit8254::Clock{}), port61(pit),
          pci(pci_host::ResetSink{}), acpi_pm(acpi_pm::Clock{}, acpi_pm::PowerSink{}), kbc(kbc_reset::ResetSink{})
    {
    }

    io_bus::IoBus ports;
    mmio_bus::MmioBus mmio;
    uart16550::Uart uart;
    debug_exit::DebugExit debug_exit;
    cmos_rtc::CmosRtc cmos;
    fw_cfg::FwCfg firmware_config;
    ioapic::Ioapic ioapic;
    pic8259::PicPair pics;
    pit8254::Pit pit;
    system_port::SystemPort port61;
    pci_host::PciHost pci;
    acpi_pm::AcpiPm acpi_pm;
    kbc_reset::KbcReset kbc;
    DebugConsole console{};
    uint64_t timer_deadline = ~0ull;  // TSC of PIT counter 0's next interrupt; read without the lock
    bool uart_owes_thre = false;      // the UART's owes_thre(), read without the lock
    ConsoleLosses console_losses{};
};

namespace vm_devices {

// Connects the devices to `vm` (its console, its end, its RAM size) and registers their ports.
void init(Vm& vm);
// A reset of the machine: every device as init() leaves it, except the CMOS RTC and NVRAM, which
// a PC keeps on its battery (the guest's clock and NVRAM bytes survive). Partial console lines
// are printed first. No vCPU of the VM may be running.
void reset(Vm& vm);
// Raises PIT counter 0's interrupt if it is due at `now` (TSC) and rearms timer_deadline. Takes
// the VM's devices lock.
void update_timers(Vm& vm, uint64_t now);
// Raises the UART's THRE interrupt once the VM's share of the console queue has room again, if
// the guest is waiting for it (uart_owes_thre). Takes the VM's devices lock then.
void update_uart(Vm& vm);
// The level of ISA IRQ line `irq` (0-15), to the 8259 pair and the I/O APIC. Caller holds the
// devices lock.
void set_isa_irq(Vm& vm, unsigned irq, bool level);
// Prints whatever partial lines the VM's consoles still hold.
void flush(Vm& vm);
// One line of the VM's console output as `[NAME] text`. Control characters and bytes above 0x7e
// become '?': a guest must not drive the operator's terminal with escape sequences.
// A line over the VM's share of the console queue is lost and counted in console_losses.
void print_guest_line(Vm& vm, Str text);

}  // namespace vm_devices
