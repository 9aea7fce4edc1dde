#include "drivers/virtual/mmio_bus.hpp"

namespace mmio_bus {

bool MmioBus::add(const Region& r)
{
    if (count_ == kCapacity || r.length == 0 || r.base + (r.length - 1) < r.base || !r.read || !r.write) return false;
    for (size_t i = 0; i < count_; ++i) {
        const Region& o = regions_[i];
        // Inclusive ends, so a region reaching 2^64 - 1 compares without overflow.
        if (r.base <= o.base + (o.length - 1) && o.base <= r.base + (r.length - 1)) return false;
    }
    regions_[count_++] = r;
    return true;
}

bool MmioBus::remove(uint64_t base)
{
    for (size_t i = 0; i < count_; ++i) {
        if (regions_[i].base != base) continue;
        for (size_t j = i + 1; j < count_; ++j) regions_[j - 1] = regions_[j];
        --count_;
        return true;
    }
    return false;
}

const Region* MmioBus::find(uint64_t gpa) const
{
    for (size_t i = 0; i < count_; ++i)
        if (gpa - regions_[i].base < regions_[i].length) return &regions_[i];
    return nullptr;
}

Status MmioBus::locate(uint64_t gpa, uint8_t size, const Region*& region) const
{
    region = find(gpa);
    if (!region) return Status::unclaimed;
    if (size != 1 && size != 2 && size != 4 && size != 8) return Status::refused;
    if (region->length < size || gpa - region->base > region->length - size) return Status::crosses_end;
    return Status::ok;
}

Status MmioBus::read(uint64_t gpa, uint8_t size, uint64_t& value)
{
    value = 0;
    const Region* r = nullptr;
    Status s = locate(gpa, size, r);
    if (s != Status::ok) return s;
    uint64_t v = 0;
    if (!r->read(r->context, gpa - r->base, size, v)) return Status::refused;
    value = size == 8 ? v : v & ((1ull << (8 * size)) - 1);
    return Status::ok;
}

Status MmioBus::write(uint64_t gpa, uint8_t size, uint64_t value)
{
    const Region* r = nullptr;
    Status s = locate(gpa, size, r);
    if (s != Status::ok) return s;
    if (size != 8) value &= (1ull << (8 * size)) - 1;
    return r->write(r->context, gpa - r->base, size, value) ? Status::ok : Status::refused;
}

}  // namespace mmio_bus
