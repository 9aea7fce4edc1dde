// QEMU's isa-debug-exit device (hw/misc/debugexit.c): a write of V to its ports ends the VM.
// QEMU exits with status (V << 1) | 1; here the raw V is reported and the caller decides (the
// test kernels write 0 for success). Reads return 0, as in QEMU.
//
// Ports: QEMU's defaults are iobase 0x501, iosize 2; this project runs QEMU with
// `isa-debug-exit,iobase=0xf4,iosize=0x04`, which is the default here: any write of 1, 2 or 4
// bytes inside 0xf4..0xf7 ends the VM, an `outl` at 0xf4 reporting all 32 bits.
#pragma once
#include <cstdint>

#include "drivers/virtual/io_bus.hpp"

namespace debug_exit {

struct Sink {
    void (*ended)(void* context, uint32_t value);  // the first write only; may be null
    void* context;
};

class DebugExit {
public:
    static constexpr uint16_t kDefaultPort = 0xf4;
    static constexpr uint16_t kDefaultCount = 4;

    explicit DebugExit(Sink sink, uint16_t port = kDefaultPort, uint16_t count = kDefaultCount);

    io_bus::Handler handler();
    void write(uint32_t value);  // a guest write of `value` (already sized)

    // Later writes (another vCPU racing to the exit) are ignored: the first one wins.
    bool ended() const { return ended_; }
    uint32_t value() const { return value_; }

private:
    static uint32_t io_in(void* context, uint16_t port, uint8_t size);
    static void io_out(void* context, uint16_t port, uint8_t size, uint32_t value);

    Sink sink_;
    uint16_t port_, count_;
    bool ended_ = false;
    uint32_t value_ = 0;
};

}  // namespace debug_exit
