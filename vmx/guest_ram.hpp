// A VM's RAM as the hypervisor sees it: guest-physical [0, size) backed by one contiguous host
// range (reached through the direct map in the hypervisor, a plain buffer in host tests), except
// [hole_start, hole_end): host bytes behind the PC hole, which EPT does not map, so that no
// access on the guest's behalf (emulated instruction, string I/O, page walk, hypercall) reaches
// memory the guest itself cannot. Hardware-independent; every access is bounds-checked, since
// guest-physical addresses come from the guest.
#pragma once
#include <cstddef>
#include <cstdint>

struct GuestRam {
    uint8_t* host = nullptr;
    uint64_t size = 0;
    uint64_t hole_start = 0, hole_end = 0;  // empty unless set (after loading: loaders write there)

    bool contains(uint64_t gpa, uint64_t length) const
    {
        if (gpa > size || length > size - gpa) return false;
        return hole_start == hole_end || !(gpa < hole_end && gpa + length > hole_start);
    }
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
