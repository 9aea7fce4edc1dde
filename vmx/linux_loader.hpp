// Loads a Linux bzImage into a guest's RAM the way a boot loader using the 64-bit or the 32-bit
// boot protocol does (Linux Documentation/arch/x86/boot.rst, "The Linux/x86 Boot Protocol"),
// kind=linux guests.
//
// Accepted images: the real-mode setup (boot sector and setup_sects sectors, 4 when the field is
// 0) followed by the protected-mode kernel, with boot_flag 0xAA55 and "HdrS" in the setup
// header, protocol 2.12 or later (xloadflags, the first to say whether a 64-bit entry exists),
// LOADED_HIGH set (a bzImage, not a zImage), XLF_KERNEL_64 set for the 64-bit entry, syssize and
// init_size that agree with the file, and a kernel_alignment that is a power of two when the
// kernel is relocatable.
//
// Placement, in guest RAM laid out by guest_memory::build_layout(ram.size, 0):
//   0x1000            the boot GDT: __BOOT_CS (0x10) a flat code segment (64-bit for the 64-bit
//                     entry, 32-bit for the 32-bit one), __BOOT_DS (0x18) a flat data segment, as
//                     boot.rst asks of both protocols
//   0x2000..0x7fff    64-bit entry only: identity page tables for [0, 4 GiB) with 2 MiB pages
//                     (PML4, PDPT, 4 PDs)
//   0x8000            the zero page (struct boot_params): the image's setup header, e820 map
//                     (the layout's regions), command line and initrd pointers, ACPI RSDP
//   0x9000            the command line (at most cmdline_size - 1 bytes)
//   pref_address      the protected-mode kernel; it needs init_size bytes of RAM there. A
//                     relocatable kernel whose pref_address does not fit goes to the lowest
//                     kernel_alignment-aligned address from 1 MiB where it does
//   top of RAM        the initrd, page-aligned, ending below initrd_addr_max and the end of RAM,
//                     above the kernel's init_size bytes, or else just below the kernel
// Linux reserves the first 64 KiB and copies boot_params and the command line before it reuses
// low memory, so these pages only need to live until the kernel's own page tables are loaded.
// Nothing is written to guest RAM unless the whole load is valid.
//
// 64-bit entry: the vCPU starts at load address + 0x200 in long mode with the page tables and
// GDT above, CS = 0x10, DS = ES = SS = 0x18, interrupts off, RSI = the zero page.
// 32-bit entry (boot.rst "32-bit BOOT PROTOCOL"): at code32_start, which the loader sets to the
// load address, in protected mode with paging off, the same selectors, interrupts off, ESI = the
// zero page and EBP = EDI = EBX = 0. Which one: LoadRequest::entry; automatic takes the 64-bit
// entry when the kernel has one (a 64-bit kernel), else the 32-bit one (a 32-bit kernel).
// Hardware-independent.
#pragma once
#include <cstddef>
#include <cstdint>

#include "lib/str.hpp"
#include "vmx/guest_config.hpp"
#include "vmx/guest_ram.hpp"

namespace linux_boot {

// boot.rst "THE REAL-MODE KERNEL HEADER": offsets into the image and into boot_params.
namespace hdr {
constexpr size_t setup_sects = 0x1f1, syssize = 0x1f4, boot_flag = 0x1fe, jump = 0x200, header = 0x202,
                 version = 0x206, type_of_loader = 0x210, loadflags = 0x211, code32_start = 0x214, ramdisk_image = 0x218,
                 ramdisk_size = 0x21c, cmd_line_ptr = 0x228, initrd_addr_max = 0x22c, kernel_alignment = 0x230,
                 relocatable_kernel = 0x234, xloadflags = 0x236, cmdline_size = 0x238, pref_address = 0x258,
                 init_size = 0x260;
}  // namespace hdr
// boot.rst "ZERO PAGE" (zero-page.rst): the fields outside the setup header the loader fills.
namespace zero_page {
constexpr size_t acpi_rsdp_addr = 0x070, ext_ramdisk_image = 0x0c0, ext_ramdisk_size = 0x0c4,
                 ext_cmd_line_ptr = 0x0c8, e820_entries = 0x1e8, e820_table = 0x2d0, size = 0x1000;
constexpr size_t e820_entry_bytes = 20, e820_max_entries = 128;
}  // namespace zero_page

constexpr uint32_t kHeaderMagic = 0x53726448;  // "HdrS"
constexpr uint16_t kBootFlag = 0xAA55;
constexpr uint16_t kMinVersion = 0x020c;  // 2.12: xloadflags
constexpr uint8_t kLoadedHigh = 1 << 0;   // loadflags: the protected-mode code is loaded at 1 MiB or above
constexpr uint16_t kXlfKernel64 = 1 << 0; // xloadflags: a 64-bit entry at load address + 0x200
constexpr uint8_t kTypeOfLoaderUndefined = 0xff;
constexpr uint64_t kEntry64Offset = 0x200;
constexpr uint16_t kBootCs = 0x10, kBootDs = 0x18;
constexpr uint64_t kGdtBase = 0x1000, kPageTableBase = 0x2000, kZeroPage = 0x8000, kCmdlineBase = 0x9000;
constexpr uint16_t kGdtLimit = 4 * 8 - 1;
constexpr uint64_t kIdentityMapBytes = 4ull << 30;

struct LoadRequest {
    GuestRam ram; // its size: a valid guest_memory layout size
    const uint8_t* image;
    size_t image_size;
    Str cmdline;
    const uint8_t* initrd = nullptr; // optional
    size_t initrd_size = 0;
    uint64_t acpi_rsdp = 0; // guest-physical address of the RSDP, 0 if none
    Str guest_name;         // errors start with "guest '<name>': " when not empty
    guest_config::LinuxEntry entry = guest_config::LinuxEntry::automatic;
};

struct LoadResult {
    bool long_mode;     // the 64-bit entry was taken, else the 32-bit one
    uint64_t entry;     // 64-bit: kernel_start + 0x200; 32-bit: kernel_start (code32_start)
    uint64_t zero_page; // for RSI
    uint64_t cr3;       // 64-bit: the identity page tables' PML4; 32-bit: 0 (paging off)
    uint64_t gdt_base;
    uint16_t gdt_limit;
    uint16_t version;   // the image's boot protocol version, e.g. 0x020f
    uint64_t kernel_start, kernel_end; // kernel_end = kernel_start + init_size
    uint64_t initrd_start;             // 0 without an initrd
};

// False with a precise message in `error` (always NUL-terminated when error_size > 0), and guest
// RAM untouched.
bool load_bzimage(const LoadRequest& request, LoadResult& out, char* error, size_t error_size);

}  // namespace linux_boot
