#include "drivers/virtual/debug_exit.hpp"

namespace debug_exit {

DebugExit::DebugExit(Sink sink, uint16_t port, uint16_t count) : sink_(sink), port_(port), count_(count) {}

io_bus::Handler DebugExit::handler() { return io_bus::Handler{port_, count_, this, &DebugExit::io_in, &DebugExit::io_out}; }

void DebugExit::write(uint32_t value)
{
    if (ended_) return;
    ended_ = true;
    value_ = value;
    if (sink_.ended) sink_.ended(sink_.context, value);
}

uint32_t DebugExit::io_in(void*, uint16_t, uint8_t) { return 0; }

void DebugExit::io_out(void* context, uint16_t, uint8_t, uint32_t value) { static_cast<DebugExit*>(context)->write(value); }

}  // namespace debug_exit
