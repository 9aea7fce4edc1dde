// The memory-type range registers as data (SDM Vol. 3A 12.11 "Memory Type Range Registers"):
// the raw MSR values read once at boot (arch/host_mtrr.hpp), and the type they give any physical
// address or range. Hardware-independent.
#pragma once
#include <cstddef>
#include <cstdint>

#include "lib/page_table.hpp"

namespace mtrr {

// MSR numbers (SDM Vol. 3A 12.11.1, 12.11.2).
namespace msr {
constexpr uint32_t cap = 0xfe, def_type = 0x2ff;
constexpr uint32_t physbase0 = 0x200;  // PHYSBASEn = 0x200 + 2n, PHYSMASKn = 0x201 + 2n
constexpr uint32_t fix64k_00000 = 0x250, fix16k_80000 = 0x258, fix16k_a0000 = 0x259;
constexpr uint32_t fix4k_c0000 = 0x268;  // ... fix4k_f8000 = 0x26f
}  // namespace msr

// IA32_MTRRCAP bits 7:0 can say up to 255; real parts have 8 to 10, Bochs 8.
constexpr size_t kMaxVariable = 32;
constexpr size_t kFixedCount = 11;  // 64K_00000, 16K_80000, 16K_A0000, 4K_C0000 .. 4K_F8000
constexpr uint64_t kFixedEnd = 0x100000;  // fixed ranges cover the first MiB

struct Variable {
    uint64_t base;  // IA32_MTRR_PHYSBASEn: type in bits 7:0, base in bits MAXPHYADDR-1:12
    uint64_t mask;  // IA32_MTRR_PHYSMASKn: valid in bit 11, mask in bits MAXPHYADDR-1:12
};

struct Registers {
    bool present = false;       // CPUID.1:EDX.MTRR; without it everything is write-back here
    uint64_t cap = 0;           // IA32_MTRRCAP: VCNT bits 7:0, FIX bit 8, WC bit 10
    uint64_t def_type = 0;      // IA32_MTRR_DEF_TYPE: type bits 7:0, FE bit 10, E bit 11
    uint64_t fixed[kFixedCount] = {};  // eight 1-byte types each, lowest address first
    size_t variable_count = 0;  // min(VCNT, kMaxVariable)
    Variable variable[kMaxVariable] = {};
    unsigned physical_address_bits = 36;  // CPUID.80000008H:EAX[7:0] (SDM 12.11.3)

    bool enabled() const { return present && (def_type & (1u << 11)); }
    bool fixed_enabled() const { return enabled() && (cap & (1u << 8)) && (def_type & (1u << 10)); }
    MemoryType default_type() const;
};

// The type of the byte at `address`, by SDM Vol. 3A 12.11.4.1 "MTRR Precedences": MTRRs off ->
// UC; fixed ranges first in the first MiB; else the variable ranges that match: none -> the
// default type, one type -> that type, UC among them -> UC, only WT and WB -> WT, any other mix
// (undefined) -> UC. A reserved type value (2, 3, 7 and above: undefined) reads as UC too.
// Without MTRRs at all (`present` false) everything is WB: nothing restricts caching then.
MemoryType type_at(const Registers& registers, uint64_t address);

// The length of the longest run from `address` (at most `limit` bytes, limit > 0) that has one
// type throughout, and that type in `type`. Runs end only at 4 KiB boundaries.
uint64_t uniform_run(const Registers& registers, uint64_t address, uint64_t limit, MemoryType& type);

// "WB", "UC", ...: for logs.
const char* type_name(MemoryType type);

}  // namespace mtrr
