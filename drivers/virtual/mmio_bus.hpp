// Per-VM MMIO dispatcher: guest-physical ranges claimed by emulated devices. The hypervisor
// hands it EPT-violation accesses it decoded; Status tells it apart whether a device handled
// the access, nobody claims the address (the VM is stopped with a report), the access runs
// past the end of the region that claims its first byte, or the device refused it.
// The per-vCPU local APIC page is not on this bus (vlapic::Vlapic::mmio_decodes).
#pragma once
#include <cstddef>
#include <cstdint>

namespace mmio_bus {

struct Region {
    uint64_t base;
    uint64_t length;
    void* context;
    // offset from base; size 1, 2, 4 or 8; the access lies inside the region. False: the
    // device does not accept this access (reported as Status::refused).
    bool (*read)(void* context, uint64_t offset, uint8_t size, uint64_t& value);
    bool (*write)(void* context, uint64_t offset, uint8_t size, uint64_t value);
};

enum class Status : uint8_t { ok, unclaimed, crosses_end, refused };

class MmioBus {
public:
    static constexpr size_t kCapacity = 32;

    // False when empty, wrapping past 2^64, overlapping, with a null callback, or full.
    bool add(const Region& region);
    // Removes the region starting at `base` (a device that moved); false when there is none.
    bool remove(uint64_t base);
    const Region* find(uint64_t gpa) const;

    // `value` is 0 unless Status::ok. Sizes other than 1, 2, 4, 8 are refused.
    Status read(uint64_t gpa, uint8_t size, uint64_t& value);
    Status write(uint64_t gpa, uint8_t size, uint64_t value);
    size_t size() const { return count_; }

private:
    Status locate(uint64_t gpa, uint8_t size, const Region*& region) const;

    Region regions_[kCapacity] = {};
    size_t count_ = 0;
};

}  // namespace mmio_bus
