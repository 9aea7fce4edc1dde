// The loader fuzz targets' guest memory: one heap buffer per size for the whole run (allocated
// once, not per input), so ASan sees any access past its end.
#pragma once
#include <cstdint>
#include <vector>

#include "vmx/guest_ram.hpp"

template <uint64_t kSize>
GuestRam fuzz_guest_ram()
{
    static std::vector<uint8_t> ram(kSize);
    return GuestRam{ram.data(), kSize};
}
