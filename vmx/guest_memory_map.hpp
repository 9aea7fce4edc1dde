// The guest-physical layout of a VM with S bytes of RAM, as data: the e820-style map the guest's
// boot information lists, and the ranges the hypervisor maps in EPT. GuestRam backs guest-physical
// [0, S) with one contiguous host range; every EPT range below names its offset in that range.
//
//   [0, 636 KiB)            RAM
//   [636 KiB, 640 KiB)      ACPI region ("EBDA"): reserved, mapped; the hypervisor's firmware
//                           tables (vmx/guest_acpi.hpp), found through the BDA word at 0x40E
//   [640 KiB, 1 MiB)        VGA/BIOS hole: reserved, not mapped: emulated device memory that reads
//                           all ones (vmx/vm_devices.hpp); GuestRam excludes its backing bytes
//   [1 MiB, S)              RAM
//   0xFEC00000, 0xFEE00000  IOAPIC and LAPIC pages: never RAM (S is at most 3 GiB)
//
// The ACPI region is guest RAM (GuestRam backs it, EPT maps it like RAM) that the memory map
// lists as reserved, like the EBDA a PC BIOS keeps at the top of conventional memory: the guest
// keeps its hands off it, so the tables stay intact, and mem_lower (636 KiB) ends below it.
//
// For a real-mode flat binary (kind=realmode) a firmware region of 64 or 128 KiB ends at 1 MiB,
// inside the hole, like a PC's BIOS ROM; it is mapped at its place and aliased just below 4 GiB so
// that both the architectural reset state (CS base 0xFFFF0000, IP 0xFFF0) and CS:IP F000:FFF0
// reach the same bytes. Hardware-independent.
#pragma once
#include <cstddef>
#include <cstdint>

namespace guest_memory {

constexpr uint64_t kKiB = 1024, kMiB = 1024 * kKiB, kGiB = 1024 * kMiB;

constexpr uint64_t kLowRamEnd = 640 * kKiB; // 0xA0000: where the VGA/BIOS hole starts
constexpr uint64_t kAcpiRegionBytes = 4 * kKiB;
constexpr uint64_t kAcpiRegionBase = kLowRamEnd - kAcpiRegionBytes; // 0x9F000, EBDA segment 0x9F00
constexpr uint64_t kHighRamBase = 1 * kMiB; // 0x100000
constexpr uint64_t kMinRamBytes = 1 * kMiB;
constexpr uint64_t kMaxRamBytes = 3 * kGiB; // RAM stays below the 32-bit device area
constexpr uint64_t kIoApicBase = 0xFEC00000, kLapicBase = 0xFEE00000;
constexpr uint64_t k4GiB = 4 * kGiB;
constexpr uint64_t kFirmwareSmallBytes = 64 * kKiB, kFirmwareLargeBytes = 128 * kKiB;
static_assert(kMaxRamBytes <= kIoApicBase && kMaxRamBytes <= k4GiB - kFirmwareLargeBytes);

// Memory map types shared by e820, the Multiboot v1 mmap (spec 0.6.96 §3.3) and the Multiboot2
// memory map tag (Multiboot2 spec §3.6.8): 1 available RAM, 2 reserved.
enum class RegionType : uint32_t { ram = 1, reserved = 2 };

struct Region {
    uint64_t base, length;
    RegionType type;
};

enum class EptKind : uint8_t {
    ram,            // guest RAM at its own address
    firmware,       // the real-mode firmware region at the top of the first MiB
    firmware_alias, // the same host pages again, ending at 4 GiB
    acpi,           // the ACPI region: RAM at its own address that the memory map lists as reserved
};

// Map guest-physical [guest_physical, +length) to GuestRam's host bytes [ram_offset, +length).
// All are read/write/execute guest memory; every field is a multiple of 4 KiB.
struct EptRange {
    uint64_t guest_physical, ram_offset, length;
    EptKind kind;
};

struct Layout {
    static constexpr size_t kMaxRegions = 5, kMaxEptRanges = 5;
    uint64_t ram_bytes;
    uint64_t firmware_bytes; // 0, or the size of the firmware region ending at 1 MiB
    uint64_t acpi_base, acpi_bytes; // the ACPI region: kAcpiRegionBase, kAcpiRegionBytes
    Region regions[kMaxRegions]; // sorted by base, no overlaps: the guest's memory map
    size_t region_count;
    EptRange ept[kMaxEptRanges]; // sorted by guest_physical
    size_t ept_count;
    // Multiboot "basic memory information" (v1 §3.3 mem_lower/mem_upper, v2 §3.6.3), in KiB:
    // RAM from 0 up to the ACPI region, and from 1 MiB up to the first hole.
    uint32_t mem_lower_kib, mem_upper_kib;

    // True when [base, base+length) lies entirely inside one RAM region (length 0: base inside
    // RAM or at a RAM region's end).
    bool is_ram(uint64_t base, uint64_t length) const;
};

// The firmware region for a flat binary of `binary_bytes`: 64 KiB up to 64 KiB, 128 KiB up to
// 128 KiB (what QEMU maps of its BIOS below 1 MiB), 0 for an empty or larger binary.
uint64_t firmware_region_bytes(uint64_t binary_bytes);

// Fills `out` for `ram_bytes` of RAM (a multiple of 4 KiB, from 1 MiB to 3 GiB) and a firmware
// region of `firmware_bytes` (0, 64 KiB or 128 KiB). False with a message in `error` otherwise.
bool build_layout(uint64_t ram_bytes, uint64_t firmware_bytes, Layout& out, char* error, size_t error_size);

} // namespace guest_memory
