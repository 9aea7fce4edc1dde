// The devices every VM has, on one port bus: a 16550 UART at 0x3f8 and the 0xE9 debug console
// (both printed as the VM's lines), QEMU's isa-debug-exit at 0xf4, CMOS/RTC at 0x70/0x71,
// fw_cfg at 0x510/0x511 and the reset ports 0xCF9 and 0x64 (a reset request ends the VM with a
// report). Unclaimed ports read all ones, like an empty ISA bus. On the MMIO bus: the PC hole
// [640 KiB, 1 MiB), which reads all ones and ignores writes, like a PC without a VGA card or
// option ROMs (OSes probe it for ROM signatures and BIOS tables; a blind VGA text writer runs on).
#pragma once
#include <cstddef>
#include <cstdint>

#include "drivers/virtual/cmos_rtc.hpp"
#include "drivers/virtual/debug_exit.hpp"
#include "drivers/virtual/fw_cfg.hpp"
#include "drivers/virtual/io_bus.hpp"
#include "drivers/virtual/mmio_bus.hpp"
#include "drivers/virtual/reset_ports.hpp"
#include "drivers/virtual/uart16550.hpp"

struct Vm;

// Port 0xE9: each byte written is console output (Bochs and QEMU's debug console convention).
struct DebugConsole {
    static constexpr uint16_t kPort = 0xe9;
    char line[256];
    size_t length;
};

struct VmDevices {
    VmDevices()
        : uart(uart16550::Output{}), debug_exit(debug_exit::Sink{}), cmos(cmos_rtc::TimeSource{}, cmos_rtc::Config{}),
          firmware_config(fw_cfg::Config{}), reset(reset_ports::Sink{})
    {
    }

    io_bus::IoBus ports;
    mmio_bus::MmioBus mmio;
    uart16550::Uart uart;
    debug_exit::DebugExit debug_exit;
    cmos_rtc::CmosRtc cmos;
    fw_cfg::FwCfg firmware_config;
    reset_ports::ResetPorts reset;
    DebugConsole console{};
};

namespace vm_devices {

// Connects the devices to `vm` (its console, its end, its RAM size) and registers their ports.
void init(Vm& vm);
// Prints whatever partial lines the VM's consoles still hold.
void flush(Vm& vm);
// One line of the VM's console output as `[NAME] text`. Control characters and bytes above 0x7e
// become '?': a guest must not drive the operator's terminal with escape sequences.
void print_guest_line(const Vm& vm, Str text);

}  // namespace vm_devices
