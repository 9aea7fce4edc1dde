// Little-endian loads and stores at byte pointers with no alignment requirement: boot headers,
// boot information and firmware tables are byte layouts, read from and written to guest or
// loader memory. Hardware-independent.
#pragma once
#include <cstdint>

namespace le {

inline uint16_t read_u16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
inline uint32_t read_u32(const uint8_t* p) { return uint32_t(read_u16(p)) | uint32_t(read_u16(p + 2)) << 16; }
inline uint64_t read_u64(const uint8_t* p) { return uint64_t(read_u32(p)) | uint64_t(read_u32(p + 4)) << 32; }

inline void write_u16(uint8_t* p, uint16_t v)
{
    p[0] = uint8_t(v);
    p[1] = uint8_t(v >> 8);
}
inline void write_u32(uint8_t* p, uint32_t v)
{
    write_u16(p, uint16_t(v));
    write_u16(p + 2, uint16_t(v >> 16));
}
inline void write_u64(uint8_t* p, uint64_t v)
{
    write_u32(p, uint32_t(v));
    write_u32(p + 4, uint32_t(v >> 32));
}

}  // namespace le
