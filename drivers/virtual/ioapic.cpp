#include "drivers/virtual/ioapic.hpp"

namespace ioapic {
namespace {

constexpr uint64_t kRegSelect = 0x00, kRegWindow = 0x10;
constexpr uint8_t kIndexId = 0, kIndexVersion = 1, kIndexArbitration = 2, kIndexRedirection = 0x10;
constexpr uint64_t kMask = 1ull << 16, kTriggerLevel = 1ull << 15, kRemoteIrr = 1ull << 14, kActiveLow = 1ull << 13;
constexpr uint64_t kLogical = 1ull << 11;
// Writable: vector, delivery mode, destination mode, polarity, trigger, mask; destination.
// Delivery status and Remote IRR are read-only (datasheet 3.2.4).
constexpr uint64_t kWritable = 0xff00000000000000ull | 0x1afffull;

}  // namespace

Ioapic::Ioapic(Delivery delivery, uint8_t id) : delivery_(delivery), id_(id & 0xf)
{
    for (uint64_t& e : redirection_) e = kMask;  // every pin masked at reset
}

mmio_bus::Region Ioapic::region(uint64_t base) { return {base, kPageBytes, this, &Ioapic::mmio_read, &Ioapic::mmio_write}; }

bool Ioapic::mmio_read(void* context, uint64_t offset, uint8_t size, uint64_t& value)
{
    return static_cast<Ioapic*>(context)->read(offset, size, value);
}

bool Ioapic::mmio_write(void* context, uint64_t offset, uint8_t size, uint64_t value)
{
    return static_cast<Ioapic*>(context)->write(offset, size, value);
}

namespace {

bool valid_access(uint64_t offset, uint8_t size)
{
    return (size == 1 || size == 2 || size == 4 || size == 8) && offset < kPageBytes && size <= kPageBytes - offset;
}

}  // namespace

bool Ioapic::read(uint64_t offset, uint8_t size, uint64_t& value)
{
    value = 0;
    if (!valid_access(offset, size)) return false;
    uint32_t window = read_register(select_);
    for (uint8_t i = 0; i < size; ++i) {
        uint64_t at = offset + i;
        uint64_t byte = 0xff;
        if (at - kRegSelect < 4) byte = at == kRegSelect ? select_ : 0;
        else if (at - kRegWindow < 4) byte = uint8_t(window >> (8 * (at - kRegWindow)));
        value |= byte << (8 * i);
    }
    return true;
}

bool Ioapic::write(uint64_t offset, uint8_t size, uint64_t value)
{
    if (!valid_access(offset, size)) return false;
    uint32_t window = read_register(select_), lanes = 0;
    for (uint8_t i = 0; i < size; ++i) {
        uint64_t at = offset + i;
        uint8_t byte = uint8_t(value >> (8 * i));
        if (at == kRegSelect) select_ = byte;
        if (at - kRegWindow >= 4) continue;
        unsigned shift = unsigned(8 * (at - kRegWindow));
        window = (window & ~(0xffu << shift)) | uint32_t(byte) << shift;
        lanes |= 1u << (at - kRegWindow);
    }
    if (lanes) write_register(select_, window);
    return true;
}

uint32_t Ioapic::read_register(uint8_t index) const
{
    switch (index) {
    case kIndexId:
    case kIndexArbitration: return uint32_t(id_) << 24;
    case kIndexVersion: return kVersion;
    default: break;
    }
    unsigned pin = (index - kIndexRedirection) / 2u;
    if (index < kIndexRedirection || pin >= kPins) return 0;  // unimplemented indices read 0
    return uint32_t(redirection_[pin] >> ((index & 1) ? 32 : 0));
}

void Ioapic::write_register(uint8_t index, uint32_t value)
{
    if (index == kIndexId) {
        id_ = uint8_t((value >> 24) & 0xf);
        return;
    }
    unsigned pin = (index - kIndexRedirection) / 2u;
    if (index < kIndexRedirection || pin >= kPins) return;  // version, arbitration: read-only
    uint64_t& e = redirection_[pin];
    uint64_t merged = (index & 1) ? (e & 0xffffffffull) | (uint64_t(value) << 32) : (e & ~0xffffffffull) | value;
    e = (e & ~kWritable) | (merged & kWritable);
    // An edge entry has no Remote IRR (the datasheet leaves it undefined; clearing it keeps a
    // later switch to level from starting blocked).
    if (!(e & kTriggerLevel)) e &= ~kRemoteIrr;
    service(pin);  // unmasking an asserted level pin delivers it now
}

bool Ioapic::asserted(unsigned pin) const
{
    bool high = (pins_ >> pin) & 1;
    return (redirection_[pin] & kActiveLow) ? !high : high;
}

void Ioapic::set_pin(unsigned pin, bool high)
{
    if (pin >= kPins) return;
    bool was = asserted(pin);
    pins_ = high ? pins_ | (1u << pin) : pins_ & ~(1u << pin);
    uint64_t e = redirection_[pin];
    if (e & kTriggerLevel) return service(pin);
    if (!was && asserted(pin) && !(e & kMask)) send(pin);
}

void Ioapic::service(unsigned pin)
{
    uint64_t e = redirection_[pin];
    if (!(e & kTriggerLevel) || (e & (kMask | kRemoteIrr)) || !asserted(pin)) return;
    redirection_[pin] |= kRemoteIrr;
    send(pin);
}

void Ioapic::eoi(uint8_t vector)
{
    for (unsigned pin = 0; pin < kPins; ++pin) {
        uint64_t& e = redirection_[pin];
        if ((e & kTriggerLevel) && (e & kRemoteIrr) && uint8_t(e) == vector) {
            e &= ~kRemoteIrr;
            service(pin);
        }
    }
}

void Ioapic::send(unsigned pin)
{
    uint64_t e = redirection_[pin];
    Message m{uint8_t(e), DeliveryMode((e >> 8) & 7), (e & kLogical) != 0, uint8_t(e >> 56), (e & kTriggerLevel) != 0};
    if (delivery_.deliver) delivery_.deliver(delivery_.context, m);
}

}  // namespace ioapic
