// A VM's RAM as the hypervisor sees it: guest-physical [0, size) backed by one contiguous host
// range (reached through the direct map in the hypervisor, a plain buffer in host tests).
// Hardware-independent; every access is bounds-checked, since guest-physical addresses come
// from the guest.
#pragma once
#include <cstddef>
#include <cstdint>

struct GuestRam {
    uint8_t* host = nullptr;
    uint64_t size = 0;

    bool contains(uint64_t gpa, uint64_t length) const { return gpa <= size && length <= size - gpa; }
    uint8_t* at(uint64_t gpa, uint64_t length) const { return contains(gpa, length) ? host + gpa : nullptr; }

    bool read(uint64_t gpa, void* out, uint64_t length) const
    {
        const uint8_t* p = at(gpa, length);
        if (!p) return false;
        for (uint64_t i = 0; i < length; ++i) static_cast<uint8_t*>(out)[i] = p[i];
        return true;
    }
    bool write(uint64_t gpa, const void* data, uint64_t length) const
    {
        uint8_t* p = at(gpa, length);
        if (!p) return false;
        for (uint64_t i = 0; i < length; ++i) p[i] = static_cast<const uint8_t*>(data)[i];
        return true;
    }
};
