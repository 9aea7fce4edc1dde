#include "drivers/virtual/reset_ports.hpp"

namespace reset_ports {

io_bus::Handler ResetPorts::pci_config_handler()
{
    return io_bus::Handler{kPciConfigFirst, kPciConfigCount, this, &ResetPorts::pci_in, &ResetPorts::pci_out};
}

io_bus::Handler ResetPorts::keyboard_handler()
{
    return io_bus::Handler{kKeyboardCommand, 1, this, &ResetPorts::keyboard_in, &ResetPorts::keyboard_out};
}

void ResetPorts::request(uint16_t port, uint8_t value)
{
    if (sink_.reset) sink_.reset(sink_.context, port, value);
}

uint32_t ResetPorts::pci_in(void* context, uint16_t port, uint8_t size)
{
    auto& self = *static_cast<ResetPorts*>(context);
    return port == kResetControl && size == 1 ? self.reset_control_ : 0xffffffffu;
}

void ResetPorts::pci_out(void* context, uint16_t port, uint8_t size, uint32_t value)
{
    auto& self = *static_cast<ResetPorts*>(context);
    if (port != kResetControl || size != 1) return;
    self.reset_control_ = uint8_t(value & (kSysRst | kFullRst));
    if (value & kRstCpu) self.request(port, uint8_t(value));
}

uint32_t ResetPorts::keyboard_in(void*, uint16_t, uint8_t) { return 0xff; }

void ResetPorts::keyboard_out(void* context, uint16_t port, uint8_t, uint32_t value)
{
    if ((value & 0xf0) == 0xf0 && !(value & 1)) static_cast<ResetPorts*>(context)->request(port, uint8_t(value));
}

}  // namespace reset_ports
