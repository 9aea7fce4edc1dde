#include "drivers/virtual/pci_host.hpp"

namespace pci_host {
namespace {

constexpr uint32_t kAddressBits = 0x80fffffcu;  // enable, bus, device, function, register
constexpr uint8_t kResetCpu = 0x04, kResetReadable = 0x0a;
constexpr uint32_t kAllOnes = 0xffffffffu;

// Writable bits of the header's first 64 bytes, byte by byte; 0x40-0xFF are all writable.
constexpr uint8_t header_writable(uint8_t offset)
{
    switch (offset) {
    case 0x04: return 0x46;  // command: memory space, bus master, parity error response
    case 0x05: return 0x01;  // command: SERR# enable
    case 0x0d: return 0xf8;  // latency timer (the low bits are hardwired)
    default: return 0x00;
    }
}

}  // namespace

PciHost::PciHost(ResetSink reset) : reset_(reset)
{
    auto put16 = [&](uint8_t at, uint16_t v) {
        config_[at] = uint8_t(v);
        config_[at + 1] = uint8_t(v >> 8);
    };
    put16(0x00, kVendorId);
    put16(0x02, kDeviceId);
    put16(0x04, 0x0006);  // memory space and bus master enabled, as firmware leaves it
    put16(0x06, 0x0280);  // fast back-to-back capable, medium DEVSEL timing
    config_[0x08] = 0x02; // revision
    config_[0x0b] = 0x06; // class 06 (bridge), subclass 00 (host), programming interface 00
}

io_bus::Handler PciHost::handler() { return io_bus::Handler{kConfigAddress, 8, this, &PciHost::io_in, &PciHost::io_out}; }

uint32_t PciHost::io_in(void* context, uint16_t port, uint8_t size) { return static_cast<PciHost*>(context)->read(port, size); }

void PciHost::io_out(void* context, uint16_t port, uint8_t size, uint32_t value)
{
    static_cast<PciHost*>(context)->write(port, size, value);
}

bool PciHost::selects_host_bridge() const
{
    return (address_ & kEnable) && (address_ & 0x00ffff00u) == 0;  // bus 0, device 0, function 0
}

uint32_t PciHost::read_config(uint8_t offset, uint8_t size) const
{
    uint32_t value = 0;
    for (uint8_t i = 0; i < size && offset + i < 256; ++i) value |= uint32_t(config_[offset + i]) << (8 * i);
    return value;
}

void PciHost::write_config(uint8_t offset, uint8_t size, uint32_t value)
{
    for (uint8_t i = 0; i < size && offset + i < 256; ++i) {
        unsigned at = offset + i;
        uint8_t writable = at >= 0x40 ? 0xff : header_writable(uint8_t(at));
        uint8_t byte = uint8_t(value >> (8 * i));
        config_[at] = uint8_t((config_[at] & ~writable) | (byte & writable));
    }
}

uint32_t PciHost::read(uint16_t port, uint8_t size)
{
    if (port == kConfigAddress && size == 4) return address_;
    if (port == kResetControl && size == 1) return reset_control_;
    // Byte by byte: an unaligned access that runs from 0xCF8-0xCFB on into CONFIG_DATA (the CPU
    // splits it at the dword boundary, SDM Vol. 1 19.3 "I/O Address Space") reaches the data
    // bytes with its upper part.
    uint32_t value = 0;
    for (uint8_t i = 0; i < size; ++i) {
        unsigned p = port + i;
        bool data = p >= kConfigData && selects_host_bridge();
        uint32_t byte = data ? config_[(address_ & 0xfc) + (p & 3)] : 0xff;
        value |= byte << (8 * i);
    }
    return value;
}

void PciHost::write(uint16_t port, uint8_t size, uint32_t value)
{
    if (port == kConfigAddress && size == 4) {
        address_ = value & kAddressBits;
        return;
    }
    if (port == kResetControl && size == 1) {
        reset_control_ = uint8_t(value) & kResetReadable;
        if ((value & kResetCpu) && reset_.reset) reset_.reset(reset_.context);
        return;
    }
    if (!selects_host_bridge()) return;
    for (uint8_t i = 0; i < size; ++i) {
        unsigned p = port + i;
        if (p >= kConfigData) write_config(uint8_t((address_ & 0xfc) + (p & 3)), 1, value >> (8 * i));
    }
}

}  // namespace pci_host
