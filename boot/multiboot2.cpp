#include "boot/multiboot2.hpp"

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

// Formats into a fixed buffer, truncating; always NUL-terminated.
class Message {
public:
    Message(char* buffer, size_t capacity) : buffer_(buffer), capacity_(capacity) { buffer_[0] = 0; }

    Message& text(Str s)
    {
        for (char c : s) put(c);
        return *this;
    }
    Message& number(uint64_t v)
    {
        char digits[20];
        size_t n = 0;
        do {
            digits[n++] = char('0' + v % 10);
            v /= 10;
        } while (v);
        while (n) put(digits[--n]);
        return *this;
    }
    Message& hex(uint64_t v)
    {
        text("0x");
        int shift = 60;
        while (shift > 0 && ((v >> shift) & 0xf) == 0) shift -= 4;
        for (; shift >= 0; shift -= 4) put("0123456789abcdef"[(v >> shift) & 0xf]);
        return *this;
    }
    const char* done() const { return buffer_; }

private:
    void put(char c)
    {
        if (length_ + 1 >= capacity_) return;
        buffer_[length_++] = c;
        buffer_[length_] = 0;
    }

    char* buffer_;
    size_t capacity_;
    size_t length_ = 0;
};

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
    Message msg(out.error, sizeof out.error);
    if (!mbi) return msg.text("MBI pointer is null").done();
    auto address = reinterpret_cast<uintptr_t>(mbi);
    // "Its start is 8-bytes aligned" and each tag starts 8-byte aligned (spec §3.6), so aligning
    // the MBI aligns every tag offset computed below.
    if (address % 8) return msg.text("MBI at ").hex(address).text(" is not 8-byte aligned").done();

    auto base = static_cast<const uint8_t*>(mbi);
    uint32_t total = read_u32(base);
    if (total < 2 * kHeaderSize)
        return msg.text("MBI total_size ").number(total)
            .text(" is smaller than its 8-byte header plus the 8-byte end tag").done();
    if (total > kMaxTotalSize)
        return msg.text("MBI total_size ").number(total).text(" exceeds the limit of ")
            .number(kMaxTotalSize).done();
    out.total_size = total;

    bool have_new_rsdp = false;
    uint32_t offset = kHeaderSize;
    for (;;) {
        if (offset > total || total - offset < kHeaderSize)
            return msg.text("MBI has no end tag within its total_size ").number(total).done();
        const uint8_t* tag = base + offset;
        uint32_t type = read_u32(tag);
        uint32_t size = read_u32(tag + 4);
        if (size < kHeaderSize)
            return msg.text("tag ").number(type).text(" at offset ").number(offset).text(" has size ")
                .number(size).text(", smaller than its 8-byte header").done();
        if (size > total - offset)
            return msg.text("tag ").number(type).text(" at offset ").number(offset)
                .text(" runs past the end of the MBI (size ").number(size).text(", total_size ")
                .number(total).text(")").done();
        // "Tags are terminated by a tag of type '0' and size '8'" (spec §3.6).
        if (type == tag_end) {
            if (size != kHeaderSize)
                return msg.text("end tag at offset ").number(offset).text(" has size ").number(size)
                    .text(", not 8").done();
            return nullptr;
        }
        if (size < minimum_size(type))
            return msg.text(tag_name(type)).text(" tag (type ").number(type).text(") has size ")
                .number(size).text(", smaller than its minimum ").number(minimum_size(type)).done();

        switch (type) {
        case tag_cmdline:
        case tag_bootloader_name: {
            Str& field = type == tag_cmdline ? out.cmdline : out.bootloader_name;
            if (!tag_string(tag, kHeaderSize, size, field))
                return msg.text(tag_name(type)).text(" tag (type ").number(type)
                    .text(") string is not NUL-terminated within the tag").done();
            break;
        }
        case tag_module: {
            size_t index = out.module_count;
            if (index == kMaxModules)
                return msg.text("more than ").number(kMaxModules).text(" modules").done();
            Module& m = out.modules[index];
            m.start = read_u32(tag + 8);
            m.end = read_u32(tag + 12);
            if (m.end < m.start)
                return msg.text("module ").number(index).text(" ends (").hex(m.end)
                    .text(") before it starts (").hex(m.start).text(")").done();
            if (!tag_string(tag, 16, size, m.cmdline))
                return msg.text("module ").number(index)
                    .text(" command line is not NUL-terminated within its tag").done();
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
                return msg.text("memory map entry_size ").number(entry_size)
                    .text(" is smaller than ").number(kMmapEntryMin).done();
            uint32_t bytes = size - 16;
            if (bytes % entry_size)
                return msg.text("memory map tag size ").number(size)
                    .text(" is not 16 plus a whole number of ").number(entry_size)
                    .text("-byte entries").done();
            uint32_t count = bytes / entry_size;
            if (count > kMaxRegions)
                return msg.text("more than ").number(kMaxRegions).text(" memory regions (memory map has ")
                    .number(count).text(")").done();
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
                    return msg.text("framebuffer tag of RGB type has size ").number(size)
                        .text(", smaller than the ").number(needed).text(" that hold its color fields").done();
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
