// Loads a guest kernel into its RAM the way GRUB's `multiboot`/`multiboot2` commands and QEMU's
// -kernel do (Multiboot 0.6.96, Multiboot2 2.0), and real-mode flat binaries at the reset vector.
//
// Protocol: with Protocol::automatic a valid Multiboot2 header wins over a Multiboot v1 header
// (richer boot information, 64-bit memory map); Protocol::v1 / ::v2 use only that header, like
// GRUB's two commands (QEMU's -kernel knows only v1).
//
// Image: the header's address fields (v1 flags bit 16, §3.1.3; v2 address tag, §3.1.5) win over
// ELF, as the specs say and GRUB and QEMU do; otherwise an ELF32 (EM_386) or ELF64 (EM_X86_64)
// little-endian ET_EXEC/ET_DYN image whose PT_LOAD segments are copied to p_paddr (p_filesz bytes,
// zero up to p_memsz). Segments must lie in guest RAM as guest_memory::build_layout(ram.size, 0)
// lays it out: [0, 636 KiB) or [1 MiB, size), never the ACPI region [636 KiB, 640 KiB) (the EBDA
// with the VM's firmware tables, reserved in the memory map) nor the VGA/BIOS hole. The entry
// point is e_entry translated from the segment whose virtual range holds it to that segment's
// physical address (GRUB's rule, which higher-half kernels rely on), or the v2 entry address tag;
// it must be inside a loaded segment and, the guest starting in 32-bit protected mode, below 4 GiB.
//
// Placement: the boot information (structure, memory map, module list and strings, one block)
// goes at 0x9000 like QEMU's, or at the first free 4 KiB-aligned RAM above it; modules follow the
// kernel, each 4 KiB-aligned (what v1 flags bit 0 and the v2 module alignment tag ask for, done
// always). Nothing overlaps the kernel, the ACPI region or the hole. Nothing is written to guest
// RAM unless the whole load is valid. The loader never writes the ACPI region, nor the BIOS data
// area words guest_acpi::build_acpi_tables sets there, unless a kernel segment itself covers
// [0x400, 0x500) (GRUB would load such a kernel over the BDA too).
//
// Boot information: both protocols give the command line, the boot loader name, the modules,
// the basic memory information and the memory map (the layout's: the ACPI region is reserved, so
// mem_lower is 636 KiB). Multiboot2 adds the "ACPI new RSDP" tag (type 15, a copy of the RSDP)
// when the request carries one; v1 has no such field, its guests scan the BIOS areas for the RSDP.
// The hypervisor writes the tables before loading (the RSDP copy comes from that), so a kernel
// that answers tag 15 and one that scans find the same tables. Hardware-independent.
#pragma once
#include <cstddef>
#include <cstdint>

#include "lib/str.hpp"
#include "vmx/guest_ram.hpp"

namespace multiboot {

constexpr uint32_t kV1HeaderMagic = 0x1BADB002, kV1BootloaderMagic = 0x2BADB002; // 0.6.96 §3.1.2, §3.2
constexpr uint32_t kV2HeaderMagic = 0xE85250D6, kV2BootloaderMagic = 0x36d76289; // Multiboot2 §3.1.2, §3.3
constexpr size_t kV1SearchBytes = 8192, kV2SearchBytes = 32768;
constexpr uint64_t kInfoBase = 0x9000;
constexpr size_t kMaxSegments = 32, kMaxModules = 16;
constexpr size_t kMinRsdpBytes = 20, kMaxRsdpBytes = 256; // ACPI 1.0 RSDP; a generous bound on later ones
constexpr const char* kBootloaderName = "Matryoshka";

enum class Protocol : uint8_t { automatic, v1, v2 };

// A file to list as a module: copied into guest RAM, with `cmdline` as its string.
struct ModuleImage {
    const uint8_t* data;
    size_t size;
    Str cmdline;
};

struct LoadRequest {
    GuestRam ram; // its size: a valid guest_memory layout size
    const uint8_t* image;
    size_t image_size;
    Str cmdline; // the kernel's command line, passed as is
    const ModuleImage* modules;
    size_t module_count; // at most kMaxModules
    Protocol protocol = Protocol::automatic;
    Str guest_name; // errors start with "guest '<name>': " when not empty
    // Optional: the RSDP's bytes (guest_acpi::AcpiTables::rsdp, rsdp_length), copied into the
    // Multiboot2 information as tag 15 (8 + length bytes). Ignored for v1. 20 to kMaxRsdpBytes.
    const uint8_t* acpi_rsdp = nullptr;
    size_t acpi_rsdp_length = 0;
};

// The vCPU starts in 32-bit protected mode, paging off, EIP = entry, EAX = eax_magic,
// EBX = ebx_info (v1 §3.2, v2 §3.3).
struct LoadResult {
    uint32_t entry;
    uint32_t eax_magic; // kV1BootloaderMagic or kV2BootloaderMagic
    uint32_t ebx_info;  // guest-physical address of the boot information
    uint64_t highest_used; // end (exclusive) of what the loader placed: kernel, info, modules (as listed)
    Protocol protocol;     // v1 or v2: the header used
    uint64_t kernel_start, kernel_end; // lowest loaded byte and end (exclusive) of the kernel
    const char* warning; // nullptr, or a request the loader ignored (video mode, framebuffer)
};

// False with a precise message in `error` (always NUL-terminated when error_size > 0).
bool load_multiboot(const LoadRequest& request, LoadResult& out, char* error, size_t error_size);

// kind=realmode: the binary (16 bytes to 128 KiB) ends at 0x100000, so its last 16 bytes hold
// the code at the reset vector 0xFFFF0, like a PC BIOS ROM; the rest of the firmware region
// (guest_memory::firmware_region_bytes) is zeroed. The vCPU starts in real mode at CS:IP
// F000:FFF0, with CS base cs_base (0xF0000, consistent with the selector) or, if the hypervisor
// maps the layout's firmware alias, reset_cs_base (0xFFFF0000, the architectural reset state;
// both reach the same bytes).
struct RealModeStart {
    uint16_t cs_selector; // 0xF000
    uint16_t ip;          // 0xFFF0
    uint32_t cs_base;       // 0xF0000
    uint32_t reset_cs_base; // 0xFFFF0000
    uint32_t load_base;     // first byte of the binary: 0x100000 - size
    uint64_t firmware_bytes; // pass to guest_memory::build_layout
};

bool load_flat_binary(GuestRam ram, const uint8_t* data, size_t size, Str guest_name, RealModeStart& out,
                      char* error, size_t error_size);

} // namespace multiboot
