#include "drivers/virtual/kbc_reset.hpp"

namespace kbc_reset {

io_bus::Handler KbcReset::handler() { return io_bus::Handler{kCommandPort, 1, this, &KbcReset::io_in, &KbcReset::io_out}; }

uint32_t KbcReset::io_in(void*, uint16_t, uint8_t) { return 0; }

void KbcReset::io_out(void* context, uint16_t, uint8_t, uint32_t value) { static_cast<KbcReset*>(context)->write(uint8_t(value)); }

void KbcReset::write(uint8_t command)
{
    bool pulses_reset = (command & 0xf0) == 0xf0 && !(command & 1);
    if (pulses_reset && sink_.reset) sink_.reset(sink_.context);
}

}  // namespace kbc_reset
