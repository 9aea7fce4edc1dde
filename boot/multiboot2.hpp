// Parser of the Multiboot2 boot information structure (MBI) that the boot loader leaves at the
// physical address in EBX (Multiboot2 spec §3.6 "Boot information format").
#pragma once
#include <cstddef>
#include <cstdint>

#include "lib/str.hpp"

namespace mb2 {

struct MemoryRegion {
    uint64_t base, length;
    uint32_t type; // 1 available, 3 ACPI reclaimable, 4 NVS, 5 bad; others reserved
};

struct Module {
    uint32_t start, end; // physical, end exclusive
    Str cmdline;
};

struct Framebuffer {
    uint64_t address;
    uint32_t pitch, width, height;
    uint8_t bpp, type; // type 0 indexed, 1 RGB, 2 EGA text
    // Meaningful only for type 1 (RGB); zero otherwise.
    uint8_t red_position, red_size, green_position, green_size, blue_position, blue_size;
};

constexpr size_t kMaxRegions = 256, kMaxModules = 32;
constexpr uint32_t kMaxTotalSize = 1024 * 1024;

struct BootInfo {
    uint32_t total_size;
    Str cmdline; // views point into the MBI: keep it mapped while these are used
    Str bootloader_name;
    MemoryRegion memory[kMaxRegions];
    size_t memory_count;
    Module modules[kMaxModules];
    size_t module_count;
    const uint8_t* rsdp; // copy of the RSDP inside the MBI; new (ACPI 2.0+) tag 15 over old tag 14
    size_t rsdp_length;
    bool booted_from_efi; // any EFI-only tag (11, 12, 17, 18, 19, 20) was present
    bool has_framebuffer;
    Framebuffer framebuffer;
    uint32_t basic_mem_lower_kib, basic_mem_upper_kib;
    char error[128]; // parse() formats its error message here
};

// nullptr on success, else a precise error message, which lives in out.error.
// Unknown tag types are skipped; when a single-instance tag repeats, the later one wins.
const char* parse(const void* mbi, BootInfo& out);

} // namespace mb2
