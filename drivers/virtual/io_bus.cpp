#include "drivers/virtual/io_bus.hpp"

namespace io_bus {
namespace {

constexpr uint32_t kPorts = 0x10000;

uint32_t size_mask(uint8_t size) { return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1; }
bool valid_size(uint8_t size) { return size == 1 || size == 2 || size == 4; }

}  // namespace

bool IoBus::add(const Handler& h)
{
    if (count_ == kCapacity || h.count == 0 || uint32_t(h.first) + h.count > kPorts || !h.in || !h.out) return false;
    for (size_t i = 0; i < count_; ++i) {
        const Handler& o = handlers_[i];
        if (h.first < o.first + o.count && o.first < h.first + h.count) return false;
    }
    handlers_[count_++] = h;
    return true;
}

const Handler* IoBus::find(uint32_t port) const
{
    for (size_t i = 0; i < count_; ++i)
        if (port - handlers_[i].first < handlers_[i].count) return &handlers_[i];
    return nullptr;
}

uint32_t IoBus::dispatch_in(uint16_t port, uint8_t size)
{
    if (!valid_size(size)) return 0xffffffffu;
    const Handler* h = find(port);
    if (h && uint32_t(port) + size <= h->first + h->count) return h->in(h->context, port, size) & size_mask(size);
    uint32_t value = 0;
    for (uint8_t i = 0; i < size; ++i) {
        uint32_t p = uint32_t(port) + i;
        const Handler* b = p < kPorts ? find(p) : nullptr;
        uint32_t byte = b ? b->in(b->context, uint16_t(p), 1) & 0xff : 0xff;
        value |= byte << (8 * i);
    }
    return value;
}

void IoBus::dispatch_out(uint16_t port, uint8_t size, uint32_t value)
{
    if (!valid_size(size)) return;
    const Handler* h = find(port);
    if (h && uint32_t(port) + size <= h->first + h->count) {
        h->out(h->context, port, size, value & size_mask(size));
        return;
    }
    for (uint8_t i = 0; i < size; ++i) {
        uint32_t p = uint32_t(port) + i;
        const Handler* b = p < kPorts ? find(p) : nullptr;
        if (b) b->out(b->context, uint16_t(p), 1, (value >> (8 * i)) & 0xff);
    }
}

}  // namespace io_bus
