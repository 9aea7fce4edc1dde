// The two ports through which PC software resets the machine, modelled so that a VM asking for
// a reset is reported (and ended) alone instead of the request vanishing on the empty bus:
//   - the reset control register RST_CNT at 0xCF9 (Intel ICH/PCH datasheets, "Reset Control
//     Register"; byte access only): writing bit 2 (RST_CPU) set requests a reset, hard when
//     bit 1 (SYS_RST) is set, full power cycle with bit 3 (FULL_RST). Bits 1 and 3 read back.
//     0xCF9 sits inside the PCI configuration mechanism #1 ports 0xCF8-0xCFF (PCI Local Bus 3.0,
//     3.2.2.3.2), so this device claims all eight: only a byte access to 0xCF9 reaches RST_CNT
//     (a dword at 0xCF8 is CONFIG_ADDRESS, never a reset), and as a VM has no PCI host bridge
//     everything else reads all ones and ignores writes, like the empty bus.
//   - the 8042 keyboard controller's command port 0x64: commands 0xF0-0xFF pulse the output
//     port lines whose bit is 0 in the command's low nibble, and output line 0 is the CPU reset
//     line, so an even command (0xFE the usual one) requests a reset. There is no keyboard
//     controller behind it: reads return 0xFF (the empty bus, which an OS's probe reads as "no
//     controller") and other commands vanish.
// Hardware-independent; the caller decides what a reset means (the hypervisor ends the VM).
#pragma once
#include <cstdint>

#include "drivers/virtual/io_bus.hpp"

namespace reset_ports {

constexpr uint16_t kPciConfigFirst = 0xcf8, kPciConfigCount = 8, kResetControl = 0xcf9, kKeyboardCommand = 0x64;
constexpr uint8_t kRstCpu = 1u << 2, kSysRst = 1u << 1, kFullRst = 1u << 3, kKeyboardPulseReset = 0xfe;

struct Sink {
    // port and value of the write that asked for the reset; may be null.
    void (*reset)(void* context, uint16_t port, uint8_t value);
    void* context;
};

class ResetPorts {
public:
    explicit ResetPorts(Sink sink) : sink_(sink) {}

    io_bus::Handler pci_config_handler();  // 0xCF8-0xCFF
    io_bus::Handler keyboard_handler();    // 0x64

    uint8_t reset_control() const { return reset_control_; }

private:
    static uint32_t pci_in(void* context, uint16_t port, uint8_t size);
    static void pci_out(void* context, uint16_t port, uint8_t size, uint32_t value);
    static uint32_t keyboard_in(void* context, uint16_t port, uint8_t size);
    static void keyboard_out(void* context, uint16_t port, uint8_t size, uint32_t value);
    void request(uint16_t port, uint8_t value);

    Sink sink_;
    uint8_t reset_control_ = 0;
};

}  // namespace reset_ports
