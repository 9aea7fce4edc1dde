// Per-VM port-I/O dispatcher: the hypervisor hands every guest IN/OUT to dispatch_in/out, which
// finds the device claiming the port. Ports nobody claims behave like an empty ISA bus: reads
// return all ones (0xff, 0xffff, 0xffffffff), writes vanish.
//
// An access of `size` bytes at `port` covers ports port .. port+size-1. When one device's range
// holds all of them the device gets the access whole; otherwise (it straddles two devices, or
// partly unclaimed ports) the bus splits it into byte accesses in ascending port order, each
// going to its own device or to the empty bus, and assembles the result little-endian. Bytes
// past port 0xffff are unclaimed. Sizes other than 1, 2, 4 read all ones and write nothing.
#pragma once
#include <cstddef>
#include <cstdint>

namespace io_bus {

struct Handler {
    uint16_t first;
    uint32_t count;  // ports first .. first+count-1; first+count <= 0x10000
    void* context;
    // `size` is 1, 2 or 4 and the access lies inside [first, first+count). `in` returns the
    // value in the low `size` bytes (the bus masks the rest); `out` gets a masked value.
    uint32_t (*in)(void* context, uint16_t port, uint8_t size);
    void (*out)(void* context, uint16_t port, uint8_t size, uint32_t value);
};

class IoBus {
public:
    static constexpr size_t kCapacity = 32;

    // False when the range is empty, runs past 0xffff, overlaps a registered one, a callback
    // is null or the table is full.
    bool add(const Handler& handler);
    uint32_t dispatch_in(uint16_t port, uint8_t size);
    void dispatch_out(uint16_t port, uint8_t size, uint32_t value);
    // For reports: is this port claimed by a device?
    bool claimed(uint16_t port) const { return find(port) != nullptr; }
    size_t size() const { return count_; }

private:
    const Handler* find(uint32_t port) const;

    Handler handlers_[kCapacity] = {};
    size_t count_ = 0;
};

}  // namespace io_bus
