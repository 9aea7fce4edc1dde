#include "drivers/virtual/system_port.hpp"

namespace system_port {

io_bus::Handler SystemPort::handler() { return io_bus::Handler{kPort, 1, this, &SystemPort::io_in, &SystemPort::io_out}; }

uint32_t SystemPort::io_in(void* context, uint16_t, uint8_t)
{
    auto* self = static_cast<SystemPort*>(context);
    return self->read(self->pit_->now());
}

void SystemPort::io_out(void* context, uint16_t, uint8_t, uint32_t value)
{
    auto* self = static_cast<SystemPort*>(context);
    self->write(uint8_t(value), self->pit_->now());
}

uint8_t SystemPort::read(uint64_t now) const
{
    uint8_t refresh = ((now / 18) & 1) ? kRefreshToggle : 0;
    return uint8_t(control_ | refresh | (pit_->out(2, now) ? kOut2 : 0));
}

void SystemPort::write(uint8_t value, uint64_t now)
{
    control_ = value & 0x0f;
    pit_->set_gate(2, value & kGate2, now);
}

}  // namespace system_port
