#include "boot/multiboot2.hpp"

#include "lib/format.hpp"

namespace mb2 {
namespace {

// Tag types (Multiboot2 spec §3.6 "Boot information format").
enum TagType : uint32_t {
    tag_end = 0,
    tag_cmdline = 1,
    tag_bootloader_name = 2,
    tag_module = 3,
    tag_basic_memory = 4,
    tag_memory_map = 6,
    tag_framebuffer = 8,
    tag_efi32_system_table = 11,
    tag_efi64_system_table = 12,
    tag_acpi_old = 14,
    tag_acpi_new = 15,
    tag_efi_memory_map = 17,
    tag_efi_boot_services = 18,
    tag_efi32_image_handle = 19,
    tag_efi64_image_handle = 20,
};

constexpr uint32_t kHeaderSize = 8; // total_size, reserved; every tag header is also 8 bytes
constexpr uint32_t kMmapEntryMin = 24; // base u64, length u64, type u32, reserved u32
constexpr uint32_t kRsdpV1Size = 20, kRsdpV2Size = 36; // ACPI 6.5 §5.2.5.3
// GRUB, the reference implementation, puts a u16 reserved after framebuffer_type, so the RGB
// color info starts at offset 32 (the spec text's u8 reserved would put it at 31).
constexpr uint32_t kFramebufferColorOffset = 32;

uint32_t read_u32(const uint8_t* p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

uint64_t read_u64(const uint8_t* p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

const char* tag_name(uint32_t type)
{
    switch (type) {
    case tag_cmdline: return "command line";
    case tag_bootloader_name: return "boot loader name";
    case tag_module: return "module";
    case tag_basic_memory: return "basic memory";
    case tag_memory_map: return "memory map";
    case tag_framebuffer: return "framebuffer";
    case tag_acpi_old: return "old ACPI RSDP";
    case tag_acpi_new: return "new ACPI RSDP";
    default: return "unknown";
    }
}

// Smallest size that holds the fields read from a tag; 0 for tags whose payload is not read.
uint32_t minimum_size(uint32_t type)
{
    switch (type) {
    case tag_cmdline:
    case tag_bootloader_name: return kHeaderSize + 1; // at least the NUL
    case tag_module: return kHeaderSize + 8 + 1;      // mod_start, mod_end, NUL
    case tag_basic_memory: return kHeaderSize + 8;    // mem_lower, mem_upper
    case tag_memory_map: return kHeaderSize + 8;      // entry_size, entry_version
    case tag_framebuffer: return 30;                  // up to framebuffer_type
    case tag_acpi_old: return kHeaderSize + kRsdpV1Size;
    case tag_acpi_new: return kHeaderSize + kRsdpV2Size;
    default: return 0;
    }
}

void reset(BootInfo& out)
{
    out.total_size = 0;
    out.cmdline = Str();
    out.bootloader_name = Str();
    out.memory_count = 0;
    out.module_count = 0;
    out.rsdp = nullptr;
    out.rsdp_length = 0;
    out.booted_from_efi = false;
    out.has_framebuffer = false;
    out.framebuffer = Framebuffer{};
    out.basic_mem_lower_kib = 0;
    out.basic_mem_upper_kib = 0;
    out.error[0] = 0;
}

// The string occupies the rest of the tag from `from` and must be NUL-terminated within it.
bool tag_string(const uint8_t* tag, uint32_t from, uint32_t size, Str& out)
{
    for (uint32_t i = from; i < size; ++i) {
        if (tag[i] == 0) {
            out = Str(reinterpret_cast<const char*>(tag + from), i - from);
            return true;
        }
    }
    return false;
}

} // namespace

const char* parse(const void* mbi, BootInfo& out)
{
    reset(out);
    // Formats the error into out.error (truncating) and returns it.
    auto error = [&out](Str pattern, const auto&... args) -> const char* {
        format_to(out.error, sizeof out.error, pattern, args...);
        return out.error;
    };
    if (!mbi) return error("MBI pointer is null");
    auto address = reinterpret_cast<uintptr_t>(mbi);
    // "Its start is 8-bytes aligned" and each tag starts 8-byte aligned (spec §3.6), so aligning
    // the MBI aligns every tag offset computed below.
    if (address % 8) return error("MBI at {:#x} is not 8-byte aligned", address);

    auto base = static_cast<const uint8_t*>(mbi);
    uint32_t total = read_u32(base);
    if (total < 2 * kHeaderSize)
        return error("MBI total_size {} is smaller than its 8-byte header plus the 8-byte end tag",
                     total);
    if (total > kMaxTotalSize)
        return error("MBI total_size {} exceeds the limit of {}", total, kMaxTotalSize);
    out.total_size = total;

    bool have_new_rsdp = false;
    uint32_t offset = kHeaderSize;
    for (;;) {
        if (offset > total || total - offset < kHeaderSize)
            return error("MBI has no end tag within its total_size {}", total);
        const uint8_t* tag = base + offset;
        uint32_t type = read_u32(tag);
        uint32_t size = read_u32(tag + 4);
        if (size < kHeaderSize)
            return error("tag {} at offset {} has size {}, smaller than its 8-byte header", type, offset,
                         size);
        if (size > total - offset)
            return error("tag {} at offset {} runs past the end of the MBI (size {}, total_size {})", type,
                         offset, size, total);
        // "Tags are terminated by a tag of type '0' and size '8'" (spec §3.6).
        if (type == tag_end) {
            if (size != kHeaderSize)
                return error("end tag at offset {} has size {}, not 8", offset, size);
            return nullptr;
        }
        if (size < minimum_size(type))
            return error("{} tag (type {}) has size {}, smaller than its minimum {}", tag_name(type), type,
                         size, minimum_size(type));

        switch (type) {
        case tag_cmdline:
        case tag_bootloader_name: {
            Str& field = type == tag_cmdline ? out.cmdline : out.bootloader_name;
            if (!tag_string(tag, kHeaderSize, size, field))
                return error("{} tag (type {}) string is not NUL-terminated within the tag",
                             tag_name(type), type);
            break;
        }
        case tag_module: {
            size_t index = out.module_count;
            if (index == kMaxModules)
                return error("more than {} modules", kMaxModules);
            Module& m = out.modules[index];
            m.start = read_u32(tag + 8);
            m.end = read_u32(tag + 12);
            if (m.end < m.start)
                return error("module {} ends ({:#x}) before it starts ({:#x})", index, m.end, m.start);
            if (!tag_string(tag, 16, size, m.cmdline))
                return error("module {} command line is not NUL-terminated within its tag", index);
            out.module_count = index + 1;
            break;
        }
        case tag_basic_memory:
            out.basic_mem_lower_kib = read_u32(tag + 8);
            out.basic_mem_upper_kib = read_u32(tag + 12);
            break;
        case tag_memory_map: {
            // "entry_size ... guaranteed to be a multiple of 8"; future versions only append
            // fields, so larger entries are read by their first 24 bytes (spec §3.6 "Memory map").
            uint32_t entry_size = read_u32(tag + 8);
            if (entry_size < kMmapEntryMin)
                return error("memory map entry_size {} is smaller than {}", entry_size, kMmapEntryMin);
            uint32_t bytes = size - 16;
            if (bytes % entry_size)
                return error("memory map tag size {} is not 16 plus a whole number of {}-byte entries", size,
                             entry_size);
            uint32_t count = bytes / entry_size;
            if (count > kMaxRegions)
                return error("more than {} memory regions (memory map has {})", kMaxRegions, count);
            for (uint32_t i = 0; i < count; ++i) {
                const uint8_t* entry = tag + 16 + size_t(i) * entry_size;
                out.memory[i] = MemoryRegion{read_u64(entry), read_u64(entry + 8), read_u32(entry + 16)};
            }
            out.memory_count = count;
            break;
        }
        case tag_framebuffer: {
            Framebuffer fb{};
            fb.address = read_u64(tag + 8);
            fb.pitch = read_u32(tag + 16);
            fb.width = read_u32(tag + 20);
            fb.height = read_u32(tag + 24);
            fb.bpp = tag[28];
            fb.type = tag[29];
            if (fb.type == 1) {
                const uint32_t needed = kFramebufferColorOffset + 6;
                if (size < needed)
                    return error("framebuffer tag of RGB type has size {}, smaller than the {} that hold "
                                 "its color fields", size, needed);
                const uint8_t* color = tag + kFramebufferColorOffset;
                fb.red_position = color[0];
                fb.red_size = color[1];
                fb.green_position = color[2];
                fb.green_size = color[3];
                fb.blue_position = color[4];
                fb.blue_size = color[5];
            }
            out.framebuffer = fb;
            out.has_framebuffer = true;
            break;
        }
        case tag_acpi_old:
        case tag_acpi_new:
            // The new tag copies the ACPI 2.0+ RSDP, which carries the XSDT: prefer it whatever
            // the tag order.
            if (type == tag_acpi_old && have_new_rsdp) break;
            have_new_rsdp = have_new_rsdp || type == tag_acpi_new;
            out.rsdp = tag + kHeaderSize;
            out.rsdp_length = size - kHeaderSize;
            break;
        case tag_efi32_system_table:
        case tag_efi64_system_table:
        case tag_efi_memory_map:
        case tag_efi_boot_services:
        case tag_efi32_image_handle:
        case tag_efi64_image_handle:
            out.booted_from_efi = true;
            break;
        default: // other tags carry nothing the hypervisor uses
            break;
        }
        // size excludes the padding to the next 8-byte boundary (spec §3.6).
        offset += (size + 7) & ~uint32_t(7);
    }
}

} // namespace mb2
