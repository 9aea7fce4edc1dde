// The reset line of the PC's 8042 keyboard controller, the oldest way to reboot a PC: command
// 0xFE (any "pulse output port" command 0xF0-0xFF with bit 0 clear pulses the reset line, bit 0
// of the output port) written to port 0x64 resets the machine, the `reset` callback. Only port
// 0x64 is claimed: its status reads 0 (input and output buffers empty, so a kernel waiting for
// the input buffer to drain before sending 0xFE does not spin), and other commands are ignored.
// The VM has no keyboard: its FADT clears the 8042 flag of IAPC_BOOT_ARCH, so a guest does not
// probe one, and port 0x60 stays unclaimed.
#pragma once
#include <cstdint>

#include "drivers/virtual/io_bus.hpp"

namespace kbc_reset {

constexpr uint16_t kCommandPort = 0x64;

struct ResetSink {
    void (*reset)(void* context);  // may be null
    void* context;
};

class KbcReset {
public:
    explicit KbcReset(ResetSink sink) : sink_(sink) {}
    io_bus::Handler handler();
    void write(uint8_t command);

private:
    static uint32_t io_in(void* context, uint16_t port, uint8_t size);
    static void io_out(void* context, uint16_t port, uint8_t size, uint32_t value);

    ResetSink sink_;
};

}  // namespace kbc_reset
