#include "vmx/multiboot_loader.hpp"

#include "lib/format.hpp"
#include "lib/little_endian.hpp"
#include "vmx/guest_memory_map.hpp"
#include "vmx/load_error.hpp"

namespace multiboot {
namespace {

using guest_memory::Layout;
using guest_memory::kHighRamBase;
using guest_memory::kLowRamEnd;
using guest_memory::RegionType;

constexpr uint64_t kPage = 4096;

using le::read_u16, le::read_u32, le::read_u64, le::write_u32, le::write_u64;

constexpr uint64_t align_up(uint64_t value, uint64_t align) { return (value + align - 1) & ~(align - 1); }

// Where a load goes in guest memory, and where its bytes come from in the image.
struct Segment {
    uint64_t dest, file_offset, file_size, mem_size;
    uint64_t end() const { return dest + mem_size; }
};

struct Range {
    uint64_t base, end;
};

bool overlap(Range a, Range b) { return a.base < b.end && b.base < a.end; }

class Loader {
public:
    Loader(const LoadRequest& request, char* error, size_t error_size)
        : req_(request), image_(request.image), size_(request.image ? request.image_size : 0),
          error_(request.guest_name, error, error_size)
    {
    }

    bool run(LoadResult& out);

    // Formats "guest 'name': " and the message into the caller's buffer; returns false.
    template <class... Args>
    bool fail(Str pattern, const Args&... args) const
    {
        return error_.fail(pattern, args...);
    }

private:
    enum class Fit : uint8_t { ok, hole, acpi, outside };
    Fit fit(uint64_t base, uint64_t size) const;
    template <class... Args>
    bool check_fit(uint64_t base, uint64_t size, Str what_pattern, const Args&... args);

    bool find_headers();
    bool load_v1();
    bool load_v2();
    bool load_address_fields(const char* what, size_t header_offset, uint32_t header_addr, uint32_t load_addr,
                             uint32_t load_end_addr, uint32_t bss_end_addr, uint32_t entry_addr);
    bool load_elf(bool need_entry);
    bool entry_in_segment(uint64_t entry) const;
    bool place(uint64_t from, uint64_t size, uint64_t& out) const;
    bool has_rsdp() const { return req_.acpi_rsdp_length != 0; }
    bool info_tag_provided(uint32_t type) const;
    uint64_t v1_info_size() const;
    uint64_t v2_info_size() const;
    void write_v1_info(uint8_t* block, uint64_t base) const;
    void write_v2_info(uint8_t* block, uint64_t base) const;

    const LoadRequest& req_;
    const uint8_t* image_;
    size_t size_;
    LoadError error_;
    Layout layout_{};

    // Headers found by find_headers(): offset of the magic, or SIZE_MAX.
    size_t v1_offset_ = SIZE_MAX, v2_offset_ = SIZE_MAX;
    size_t v1_bad_offset_ = SIZE_MAX, v2_bad_offset_ = SIZE_MAX;
    uint32_t v1_bad_sum_ = 0, v2_bad_sum_ = 0;

    Protocol protocol_ = Protocol::automatic;
    Segment segments_[kMaxSegments];
    size_t segment_count_ = 0;
    uint32_t entry_ = 0;
    const char* warning_ = nullptr;

    Range used_[kMaxSegments + 1 + kMaxModules];
    size_t used_count_ = 0;
    uint64_t module_base_[kMaxModules];
};

Loader::Fit Loader::fit(uint64_t base, uint64_t size) const
{
    if (base > layout_.ram_bytes || size > layout_.ram_bytes - base) return Fit::outside;
    if (overlap(Range{base, base + size}, Range{kLowRamEnd, kHighRamBase})) return Fit::hole;
    // A zero-size range touching the hole is still not RAM to put anything in.
    if (size == 0 && base >= kLowRamEnd && base < kHighRamBase) return Fit::hole;
    Range acpi{layout_.acpi_base, layout_.acpi_base + layout_.acpi_bytes};
    if (overlap(Range{base, base + size}, acpi) || (size == 0 && base >= acpi.base && base < acpi.end))
        return Fit::acpi;
    return Fit::ok;
}

// what_pattern/args name the range, e.g. "ELF program header {}".
template <class... Args>
bool Loader::check_fit(uint64_t base, uint64_t size, Str what_pattern, const Args&... args)
{
    Fit f = fit(base, size);
    if (f == Fit::ok) return true;
    char what[64];
    format_to(what, sizeof what, what_pattern, args...);
    if (f == Fit::outside)
        return fail("{} ({:#x}+{:#x}) does not fit in {} of guest RAM", what, base, size, Bytes{layout_.ram_bytes});
    if (f == Fit::acpi)
        return fail("{} ({:#x}+{:#x}) overlaps the ACPI region [{:#x}, {:#x}), the EBDA that holds the guest's "
                    "firmware tables",
                    what, base, size, layout_.acpi_base, layout_.acpi_base + layout_.acpi_bytes);
    return fail("{} ({:#x}+{:#x}) overlaps the VGA/BIOS hole [{:#x}, {:#x}), which is not RAM", what, base, size,
                kLowRamEnd, kHighRamBase);
}

// v1: the magic 4-byte aligned with the whole 12-byte header in the first 8192 bytes (0.6.96
// §3.1.1); v2: 8-byte aligned, header in the first 32768 bytes (Multiboot2 §3.1.1). The first
// header whose checksum holds counts; a bad checksum is remembered for the error text.
bool Loader::find_headers()
{
    for (size_t off = 0; off + 12 <= size_ && off + 12 <= kV1SearchBytes; off += 4) {
        if (read_u32(image_ + off) != kV1HeaderMagic) continue;
        uint32_t sum = kV1HeaderMagic + read_u32(image_ + off + 4) + read_u32(image_ + off + 8);
        if (sum == 0) {
            v1_offset_ = off;
            break;
        }
        if (v1_bad_offset_ == SIZE_MAX) v1_bad_offset_ = off, v1_bad_sum_ = sum;
    }
    for (size_t off = 0; off + 16 <= size_ && off + 16 <= kV2SearchBytes; off += 8) {
        if (read_u32(image_ + off) != kV2HeaderMagic) continue;
        uint32_t sum = kV2HeaderMagic + read_u32(image_ + off + 4) + read_u32(image_ + off + 8) +
                       read_u32(image_ + off + 12);
        if (sum == 0) {
            v2_offset_ = off;
            break;
        }
        if (v2_bad_offset_ == SIZE_MAX) v2_bad_offset_ = off, v2_bad_sum_ = sum;
    }

    bool want_v1 = req_.protocol != Protocol::v2, want_v2 = req_.protocol != Protocol::v1;
    if (want_v2 && v2_offset_ != SIZE_MAX) protocol_ = Protocol::v2;
    else if (want_v1 && v1_offset_ != SIZE_MAX) protocol_ = Protocol::v1;
    if (protocol_ != Protocol::automatic) return true;

    if (want_v2 && v2_bad_offset_ != SIZE_MAX)
        return fail("Multiboot2 header at offset {:#x} has a bad checksum (magic + architecture + header_length + "
                    "checksum = {:#x}, must be 0)",
                    v2_bad_offset_, v2_bad_sum_);
    if (want_v1 && v1_bad_offset_ != SIZE_MAX)
        return fail("Multiboot header at offset {:#x} has a bad checksum (magic + flags + checksum = {:#x}, must be 0)",
                    v1_bad_offset_, v1_bad_sum_);
    if (req_.protocol == Protocol::v1)
        return fail("no Multiboot header (magic {:#x}, 4-byte aligned, in the first {} bytes) in the {}-byte image",
                    kV1HeaderMagic, kV1SearchBytes, size_);
    if (req_.protocol == Protocol::v2)
        return fail("no Multiboot2 header (magic {:#x}, 8-byte aligned, in the first {} bytes) in the {}-byte image",
                    kV2HeaderMagic, kV2SearchBytes, size_);
    return fail("no Multiboot header in the {}-byte image (magic {:#x}, 4-byte aligned, in the first {} bytes, or "
                "Multiboot2 magic {:#x}, 8-byte aligned, in the first {} bytes)",
                size_, kV1HeaderMagic, kV1SearchBytes, kV2HeaderMagic, kV2SearchBytes);
}

// Multiboot 0.6.96 §3.1.2-§3.1.3.
bool Loader::load_v1()
{
    const uint8_t* h = image_ + v1_offset_;
    uint32_t flags = read_u32(h + 4);
    // Bits 0-15 are requirements: a loader must refuse one it does not understand (§3.1.2).
    if (flags & 0xFFF8)
        return fail("Multiboot header flags {:#x} require features this loader does not know (bits 3-15: {:#x})", flags,
                    flags & 0xFFF8);
    // Bit 0 (page-aligned modules) is always honoured; bit 1 (memory information) always given.
    if (flags & 4)
        warning_ = "the Multiboot header asks for a video mode (flags bit 2); ignored, the guest gets no video "
                   "information";
    if (!(flags & 0x10000)) return load_elf(true);
    if (v1_offset_ + 32 > size_)
        return fail("Multiboot header at offset {:#x} is cut off: its address fields (flags bit 16) need 32 bytes, "
                    "the image ends at {:#x}",
                    v1_offset_, size_);
    return load_address_fields("Multiboot header address fields", v1_offset_, read_u32(h + 12), read_u32(h + 16),
                               read_u32(h + 20), read_u32(h + 24), read_u32(h + 28));
}

// Header tags (Multiboot2 §3.1.3-§3.1.13).
enum HeaderTag : uint16_t {
    htag_end = 0,
    htag_information_request = 1,
    htag_address = 2,
    htag_entry_address = 3,
    htag_flags = 4,
    htag_framebuffer = 5,
    htag_module_align = 6,
    htag_efi_boot_services = 7,
    htag_efi_i386_entry = 8,
    htag_efi_amd64_entry = 9,
    htag_relocatable = 10,
};
constexpr uint16_t kTagOptional = 1;

struct HeaderTagInfo {
    const char* name;
    uint32_t min_size;
};

HeaderTagInfo header_tag_info(uint16_t type)
{
    switch (type) {
    case htag_end: return {"end", 8};
    case htag_information_request: return {"information request", 8};
    case htag_address: return {"address", 24};
    case htag_entry_address: return {"entry address", 12};
    case htag_flags: return {"flags", 12};
    case htag_framebuffer: return {"framebuffer", 20};
    case htag_module_align: return {"module alignment", 8};
    case htag_efi_boot_services: return {"EFI boot services", 8};
    case htag_efi_i386_entry: return {"EFI i386 entry address", 12};
    case htag_efi_amd64_entry: return {"EFI amd64 entry address", 12};
    case htag_relocatable: return {"relocatable", 24};
    default: return {"unknown", 8};
    }
}

// Boot information tag types (Multiboot2 §3.6), for information requests.
const char* info_tag_name(uint32_t type)
{
    static const char* const names[] = {
        "end", "command line", "boot loader name", "modules", "basic memory information", "BIOS boot device",
        "memory map", "VBE info", "framebuffer info", "ELF sections", "APM table", "EFI 32-bit system table",
        "EFI 64-bit system table", "SMBIOS tables", "ACPI old RSDP", "ACPI new RSDP", "networking information",
        "EFI memory map", "EFI boot services not terminated", "EFI 32-bit image handle", "EFI 64-bit image handle",
        "image load base physical address",
    };
    return type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

bool Loader::info_tag_provided(uint32_t type) const
{
    return type == 0 || type == 1 || type == 2 || type == 3 || type == 4 || type == 6 || (type == 15 && has_rsdp());
}

bool Loader::load_v2()
{
    size_t off = v2_offset_;
    const uint8_t* h = image_ + off;
    uint32_t architecture = read_u32(h + 4), header_length = read_u32(h + 8);
    if (architecture != 0)
        return fail("Multiboot2 header architecture {}{} is not i386 (0)", architecture,
                    architecture == 4 ? " (MIPS)" : "");
    if (header_length < 16 + 8 || header_length > kV2SearchBytes - off || header_length > size_ - off)
        return fail("Multiboot2 header at offset {:#x} has header_length {}: it must hold the 16-byte header and an "
                    "end tag and end within the image and its first {} bytes",
                    off, header_length, kV2SearchBytes);

    bool has_address = false, has_entry = false, ended = false;
    uint32_t address[4] = {}; // header_addr, load_addr, load_end_addr, bss_end_addr
    uint32_t entry = 0;
    size_t end = off + header_length;
    for (size_t p = off + 16; p + 8 <= end; p += align_up(read_u32(image_ + p + 4), 8)) {
        const uint8_t* t = image_ + p;
        uint16_t type = read_u16(t), flags = read_u16(t + 2);
        uint32_t tag_size = read_u32(t + 4);
        HeaderTagInfo info = header_tag_info(type);
        bool optional = flags & kTagOptional;
        if (tag_size < info.min_size || tag_size > end - p)
            return fail("Multiboot2 header tag type {} ({}) at offset {:#x} has size {}: it needs {} and must end "
                        "within header_length",
                        type, info.name, p, tag_size, info.min_size);
        switch (type) {
        case htag_end: ended = true; break;
        case htag_information_request:
            // An optional request may go unanswered; a required one must be answered in full (§3.1.4).
            if (optional) break;
            for (uint32_t i = 8; i + 4 <= tag_size; i += 4) {
                uint32_t wanted = read_u32(t + i);
                if (!info_tag_provided(wanted))
                    return fail("Multiboot2 header requires boot information tag {} ({}), which this loader does not "
                                "provide (it gives command line, boot loader name, modules, basic memory information"
                                "{})",
                                wanted, info_tag_name(wanted),
                                has_rsdp() ? ", memory map and ACPI new RSDP" : " and memory map");
            }
            break;
        case htag_address:
            has_address = true;
            for (int i = 0; i < 4; ++i) address[i] = read_u32(t + 8 + 4 * i);
            break;
        case htag_entry_address:
            has_entry = true;
            entry = read_u32(t + 8);
            break;
        case htag_flags:
            // console_flags bit 0: a console must be described in the MBI (§3.1.9). Guests get none.
            if (read_u32(t + 8) & 1)
                return fail("Multiboot2 header requires a console (flags tag, console_flags bit 0); this loader "
                            "describes none");
            break;
        case htag_framebuffer:
            if (!optional)
                return fail("Multiboot2 header requires a framebuffer (framebuffer tag not optional); this loader "
                            "provides none");
            warning_ = "the Multiboot2 header asks for a framebuffer (optional tag); ignored, the guest gets none";
            break;
        case htag_module_align: break; // modules are always page-aligned
        case htag_efi_boot_services:
        case htag_efi_i386_entry:
        case htag_efi_amd64_entry:
            if (!optional)
                return fail("Multiboot2 header tag type {} ({}) needs EFI, which guests do not have", type, info.name);
            break;
        case htag_relocatable: break; // the image is loaded at its link address, which it accepts too
        default:
            if (!optional)
                return fail("Multiboot2 header tag type {} at offset {:#x} is not optional and unknown to this loader",
                            type, p);
            break;
        }
        if (ended) break;
    }
    if (!ended) return fail("Multiboot2 header at offset {:#x} has no end tag within its header_length {}", off,
                            header_length);

    if (has_address) {
        if (!has_entry) return fail("Multiboot2 header has an address tag but no entry address tag");
        return load_address_fields("Multiboot2 address tag", off, address[0], address[1], address[2], address[3], entry);
    }
    if (!load_elf(!has_entry)) return false;
    if (has_entry) {
        if (!entry_in_segment(entry))
            return fail("entry address {:#x} (Multiboot2 entry address tag) is not inside any loaded segment", entry);
        entry_ = entry;
    }
    return true;
}

bool Loader::entry_in_segment(uint64_t entry) const
{
    for (size_t i = 0; i < segment_count_; ++i)
        if (entry >= segments_[i].dest && entry < segments_[i].end()) return true;
    return false;
}

// The a.out kludge (0.6.96 §3.1.3, Multiboot2 §3.1.5): the file from header_offset - (header_addr -
// load_addr) is loaded at load_addr, up to load_end_addr (0: the end of the file), then zeros up
// to bss_end_addr (0: none). Multiboot2's load_addr -1 loads the file from its beginning.
bool Loader::load_address_fields(const char* what, size_t header_offset, uint32_t header_addr, uint32_t load_addr,
                                 uint32_t load_end_addr, uint32_t bss_end_addr, uint32_t entry_addr)
{
    uint64_t file_offset;
    if (protocol_ == Protocol::v2 && load_addr == 0xFFFFFFFF) {
        if (header_addr < header_offset)
            return fail("{}: header_addr {:#x} is below the header's offset {:#x} in the file, so the file cannot be "
                        "loaded from its beginning (load_addr -1)",
                        what, header_addr, header_offset);
        file_offset = 0;
        load_addr = uint32_t(header_addr - header_offset);
    } else {
        if (load_addr > header_addr)
            return fail("{}: load_addr {:#x} is above header_addr {:#x}", what, load_addr, header_addr);
        if (header_addr - load_addr > header_offset)
            return fail("{}: header_addr - load_addr = {:#x} is more than the header's offset {:#x} in the file", what,
                        header_addr - load_addr, header_offset);
        file_offset = header_offset - (header_addr - load_addr);
    }
    uint64_t load_size;
    if (load_end_addr == 0) {
        load_size = size_ - file_offset;
    } else {
        if (load_end_addr < load_addr)
            return fail("{}: load_end_addr {:#x} is below load_addr {:#x}", what, load_end_addr, load_addr);
        load_size = load_end_addr - load_addr;
        if (load_size > size_ - file_offset)
            return fail("{}: the load range (file offset {:#x}, {:#x} bytes) is past the end of the {}-byte file", what,
                        file_offset, load_size, size_);
    }
    uint64_t mem_size = load_size;
    if (bss_end_addr) {
        if (bss_end_addr < load_addr + load_size)
            return fail("{}: bss_end_addr {:#x} is below the end of the loaded data {:#x}", what, bss_end_addr,
                        load_addr + load_size);
        mem_size = bss_end_addr - load_addr;
    }
    if (mem_size == 0) return fail("{}: nothing to load", what);
    if (!check_fit(load_addr, mem_size, "the image loaded by the {}", what)) return false;
    segments_[0] = Segment{load_addr, file_offset, load_size, mem_size};
    segment_count_ = 1;
    if (!entry_in_segment(entry_addr))
        return fail("entry address {:#x} is outside the loaded image [{:#x}, {:#x})", entry_addr, load_addr,
                    load_addr + mem_size);
    entry_ = entry_addr;
    return true;
}

// ELF header and program headers: TIS ELF 1.2 Book I §1 ("ELF Header", "Program Header") and
// the ELF-64 Object File Format. Offsets below are those of e_* / p_* fields in each class.
bool Loader::load_elf(bool need_entry)
{
    if (size_ < 16 || image_[0] != 0x7F || image_[1] != 'E' || image_[2] != 'L' || image_[3] != 'F') {
        const char* where = protocol_ == Protocol::v1 ? "its Multiboot header has no address fields (flags bit 16)"
                                                      : "its Multiboot2 header has no address tag";
        return fail("the image is not ELF (no \\x7fELF magic) and {}", where);
    }
    uint8_t elf_class = image_[4], data = image_[5], version = image_[6];
    if (elf_class != 1 && elf_class != 2)
        return fail("ELF class {} is neither ELFCLASS32 (1) nor ELFCLASS64 (2)", elf_class);
    bool is64 = elf_class == 2;
    if (data != 1) return fail("ELF data encoding {} is not little-endian (ELFDATA2LSB, 1)", data);
    if (version != 1) return fail("ELF version {} is not EV_CURRENT (1)", version);
    size_t header_size = is64 ? 64 : 52;
    if (size_ < header_size)
        return fail("ELF header is cut off: the file has {} bytes, an ELF{} header needs {}", size_, is64 ? 64 : 32,
                    header_size);
    uint16_t type = read_u16(image_ + 16), machine = read_u16(image_ + 18);
    if (type != 2 && type != 3) return fail("ELF type {} is not an executable (ET_EXEC 2 or ET_DYN 3)", type);
    if (machine != (is64 ? 62 : 3))
        return fail("ELF machine {} is not {}", machine, is64 ? "x86-64 (EM_X86_64, 62) for ELF64" : "x86 (EM_386, 3) for ELF32");
    if (read_u32(image_ + 20) != 1) return fail("ELF e_version {} is not EV_CURRENT (1)", read_u32(image_ + 20));
    uint64_t e_entry = is64 ? read_u64(image_ + 24) : read_u32(image_ + 24);
    uint64_t phoff = is64 ? read_u64(image_ + 32) : read_u32(image_ + 28);
    uint16_t phentsize = read_u16(image_ + (is64 ? 54 : 42)), phnum = read_u16(image_ + (is64 ? 56 : 44));
    uint32_t min_phentsize = is64 ? 56 : 32;
    if (phnum == 0) return fail("ELF has no program headers");
    if (phnum == 0xFFFF) return fail("ELF e_phnum 0xffff (extended numbering) is not supported");
    if (phentsize < min_phentsize)
        return fail("ELF e_phentsize {} is smaller than an ELF{} program header ({})", phentsize, is64 ? 64 : 32,
                    min_phentsize);
    uint64_t table = uint64_t(phnum) * phentsize;
    if (phoff > size_ || table > size_ - phoff)
        return fail("ELF program header table (offset {:#x}, {} entries of {} bytes) is past the end of the {}-byte file",
                    phoff, phnum, phentsize, size_);

    size_t index_of[kMaxSegments];
    bool entry_found = false;
    for (uint16_t i = 0; i < phnum; ++i) {
        const uint8_t* ph = image_ + phoff + uint64_t(i) * phentsize;
        if (read_u32(ph) != 1) continue; // PT_LOAD
        uint64_t offset, vaddr, paddr, filesz, memsz;
        if (is64) {
            offset = read_u64(ph + 8), vaddr = read_u64(ph + 16), paddr = read_u64(ph + 24);
            filesz = read_u64(ph + 32), memsz = read_u64(ph + 40);
        } else {
            offset = read_u32(ph + 4), vaddr = read_u32(ph + 8), paddr = read_u32(ph + 12);
            filesz = read_u32(ph + 16), memsz = read_u32(ph + 20);
        }
        if (filesz > memsz)
            return fail("ELF program header {}: p_filesz {:#x} is larger than p_memsz {:#x}", i, filesz, memsz);
        if (offset > size_ || filesz > size_ - offset)
            return fail("ELF program header {}: its file bytes (offset {:#x}, {:#x} bytes) are past the end of the "
                        "{}-byte file",
                        i, offset, filesz, size_);
        if (need_entry && !entry_found && e_entry >= vaddr && e_entry - vaddr < memsz) {
            entry_found = true;
            uint64_t entry = paddr + (e_entry - vaddr);
            if (entry > 0xFFFFFFFF)
                return fail("ELF entry point {:#x} is at physical address {:#x}, above 4 GiB: the guest starts in "
                            "32-bit protected mode",
                            e_entry, entry);
            entry_ = uint32_t(entry);
        }
        if (memsz == 0) continue;
        if (!check_fit(paddr, memsz, "ELF program header {}", i)) return false;
        if (segment_count_ == kMaxSegments)
            return fail("ELF has more than {} loadable segments (PT_LOAD)", kMaxSegments);
        for (size_t j = 0; j < segment_count_; ++j) {
            const Segment& s = segments_[j];
            if (overlap(Range{paddr, paddr + memsz}, Range{s.dest, s.end()}))
                return fail("ELF program headers {} ({:#x}+{:#x}) and {} ({:#x}+{:#x}) overlap in guest memory",
                            index_of[j], s.dest, s.mem_size, i, paddr, memsz);
        }
        index_of[segment_count_] = i;
        segments_[segment_count_++] = Segment{paddr, offset, filesz, memsz};
    }
    if (segment_count_ == 0) return fail("ELF has no loadable segment (PT_LOAD with p_memsz > 0)");
    if (need_entry && !entry_found) {
        if (e_entry > 0xFFFFFFFF)
            return fail("ELF entry point {:#x} is above 4 GiB (the guest starts in 32-bit protected mode) and no "
                        "loadable segment's virtual range holds it to translate it to a physical address",
                        e_entry);
        return fail("ELF entry point {:#x} is not inside any loadable segment", e_entry);
    }
    return true;
}

// First 4 KiB-aligned address at or above `from` where `size` bytes are RAM and overlap nothing
// placed so far. Each step moves strictly upward, past a used range or to the next RAM region
// (out of the ACPI region and the hole).
bool Loader::place(uint64_t from, uint64_t size, uint64_t& out) const
{
    uint64_t a = align_up(from, kPage);
    for (;;) {
        if (a > layout_.ram_bytes || size > layout_.ram_bytes - a) return false;
        Fit f = fit(a, size);
        if (f == Fit::hole || f == Fit::acpi) {
            uint64_t next = a;
            for (size_t i = 0; i < layout_.region_count && next == a; ++i)
                if (layout_.regions[i].type == RegionType::ram && layout_.regions[i].base > a)
                    next = layout_.regions[i].base;
            if (next == a) return false;
            a = next;
            continue;
        }
        bool moved = false;
        for (size_t i = 0; i < used_count_; ++i) {
            if (overlap(Range{a, a + size}, used_[i]) || (size == 0 && a >= used_[i].base && a < used_[i].end)) {
                a = align_up(used_[i].end, kPage);
                moved = true;
                break;
            }
        }
        if (!moved) {
            out = a;
            return true;
        }
    }
}

// Multiboot v1 boot information (0.6.96 §3.3): the 116-byte structure (padded to 120), the memory
// map entries (size 20 + 4-byte size field each), the module list (16 bytes each), then strings.
constexpr uint64_t kV1InfoBytes = 120, kV1MmapEntry = 24, kV1Module = 16;
constexpr uint32_t kV1FlagMemory = 1u << 0, kV1FlagCmdline = 1u << 2, kV1FlagModules = 1u << 3,
                   kV1FlagMmap = 1u << 6, kV1FlagLoaderName = 1u << 9;

uint64_t Loader::v1_info_size() const
{
    uint64_t n = kV1InfoBytes + kV1MmapEntry * layout_.region_count + kV1Module * req_.module_count;
    n += req_.cmdline.size + 1 + Str(kBootloaderName).size + 1;
    for (size_t i = 0; i < req_.module_count; ++i) n += req_.modules[i].cmdline.size + 1;
    return n;
}

void Loader::write_v1_info(uint8_t* block, uint64_t base) const
{
    uint64_t mmap = kV1InfoBytes, mods = mmap + kV1MmapEntry * layout_.region_count;
    uint64_t strings = mods + kV1Module * req_.module_count;
    auto put_string = [&](Str s) -> uint32_t {
        uint64_t at = strings;
        for (size_t i = 0; i < s.size; ++i) block[strings++] = uint8_t(s[i]);
        block[strings++] = 0;
        return uint32_t(base + at);
    };
    write_u32(block + 0, kV1FlagMemory | kV1FlagCmdline | kV1FlagModules | kV1FlagMmap | kV1FlagLoaderName);
    write_u32(block + 4, layout_.mem_lower_kib);
    write_u32(block + 8, layout_.mem_upper_kib);
    write_u32(block + 16, put_string(req_.cmdline));
    write_u32(block + 20, uint32_t(req_.module_count));
    write_u32(block + 24, uint32_t(base + mods));
    write_u32(block + 44, uint32_t(kV1MmapEntry * layout_.region_count));
    write_u32(block + 48, uint32_t(base + mmap));
    write_u32(block + 64, put_string(kBootloaderName));
    for (size_t i = 0; i < layout_.region_count; ++i) {
        uint8_t* e = block + mmap + kV1MmapEntry * i;
        const guest_memory::Region& r = layout_.regions[i];
        write_u32(e, 20); // size of the entry after this field
        write_u64(e + 4, r.base);
        write_u64(e + 12, r.length);
        write_u32(e + 20, uint32_t(r.type));
    }
    for (size_t i = 0; i < req_.module_count; ++i) {
        uint8_t* m = block + mods + kV1Module * i;
        write_u32(m, uint32_t(module_base_[i]));
        write_u32(m + 4, uint32_t(module_base_[i] + req_.modules[i].size)); // end, exclusive (as GRUB and QEMU)
        write_u32(m + 8, put_string(req_.modules[i].cmdline));
    }
}

// Multiboot2 boot information (§3.6): total_size, reserved, then 8-byte aligned tags.
enum InfoTag : uint32_t { itag_end = 0, itag_cmdline = 1, itag_loader_name = 2, itag_module = 3, itag_basic_memory = 4,
                          itag_mmap = 6, itag_acpi_new = 15 };
constexpr uint64_t kV2MmapEntry = 24;

uint64_t Loader::v2_info_size() const
{
    uint64_t n = 8;
    n += align_up(8 + req_.cmdline.size + 1, 8);
    n += align_up(8 + Str(kBootloaderName).size + 1, 8);
    for (size_t i = 0; i < req_.module_count; ++i) n += align_up(16 + req_.modules[i].cmdline.size + 1, 8);
    n += 16;
    n += 16 + kV2MmapEntry * layout_.region_count;
    if (has_rsdp()) n += align_up(8 + req_.acpi_rsdp_length, 8);
    n += 8;
    return n;
}

void Loader::write_v2_info(uint8_t* block, uint64_t /*base*/) const
{
    uint64_t p = 8;
    auto tag = [&](uint32_t type, uint64_t size) -> uint8_t* {
        uint8_t* t = block + p;
        write_u32(t, type);
        write_u32(t + 4, uint32_t(size));
        p += align_up(size, 8);
        return t;
    };
    auto string_tag = [&](uint32_t type, Str s, uint64_t header, uint8_t** out) {
        uint8_t* t = tag(type, header + s.size + 1);
        for (size_t i = 0; i < s.size; ++i) t[header + i] = uint8_t(s[i]);
        t[header + s.size] = 0;
        if (out) *out = t;
    };
    string_tag(itag_cmdline, req_.cmdline, 8, nullptr);
    string_tag(itag_loader_name, kBootloaderName, 8, nullptr);
    for (size_t i = 0; i < req_.module_count; ++i) {
        uint8_t* t;
        string_tag(itag_module, req_.modules[i].cmdline, 16, &t);
        write_u32(t + 8, uint32_t(module_base_[i]));
        write_u32(t + 12, uint32_t(module_base_[i] + req_.modules[i].size)); // end, exclusive (as GRUB)
    }
    uint8_t* memory = tag(itag_basic_memory, 16);
    write_u32(memory + 8, layout_.mem_lower_kib);
    write_u32(memory + 12, layout_.mem_upper_kib);
    uint8_t* mmap = tag(itag_mmap, 16 + kV2MmapEntry * layout_.region_count);
    write_u32(mmap + 8, uint32_t(kV2MmapEntry)); // entry_size
    write_u32(mmap + 12, 0);                     // entry_version
    for (size_t i = 0; i < layout_.region_count; ++i) {
        uint8_t* e = mmap + 16 + kV2MmapEntry * i;
        write_u64(e, layout_.regions[i].base);
        write_u64(e + 8, layout_.regions[i].length);
        write_u32(e + 16, uint32_t(layout_.regions[i].type));
        write_u32(e + 20, 0);
    }
    // The "ACPI new RSDP" tag: a copy of the RSDP (the tables themselves are in the ACPI region).
    if (has_rsdp()) {
        uint8_t* rsdp = tag(itag_acpi_new, 8 + req_.acpi_rsdp_length);
        __builtin_memcpy(rsdp + 8, req_.acpi_rsdp, req_.acpi_rsdp_length);
    }
    tag(itag_end, 8);
    write_u32(block, uint32_t(p)); // total_size
    write_u32(block + 4, 0);
}

bool Loader::run(LoadResult& out)
{
    out = LoadResult{};
    if (!req_.ram.host) return fail("guest RAM is not allocated");
    char layout_error[128];
    if (!guest_memory::build_layout(req_.ram.size, 0, layout_, layout_error, sizeof layout_error))
        return fail("{}", layout_error);
    if (!image_ || size_ == 0) return fail("the kernel image is empty");
    if (req_.module_count > kMaxModules)
        return fail("{} modules are more than the {} a guest can have", req_.module_count, kMaxModules);
    if (req_.module_count && !req_.modules) return fail("module list is missing");
    if (has_rsdp() && !req_.acpi_rsdp) return fail("the ACPI RSDP copy is missing");
    if (has_rsdp() && (req_.acpi_rsdp_length < kMinRsdpBytes || req_.acpi_rsdp_length > kMaxRsdpBytes))
        return fail("the ACPI RSDP copy of {} bytes is not {} to {} bytes long", req_.acpi_rsdp_length, kMinRsdpBytes,
                    kMaxRsdpBytes);

    if (!find_headers()) return false;
    if (protocol_ == Protocol::v2 ? !load_v2() : !load_v1()) return false;

    // Placement, all before the first write.
    uint64_t kernel_start = UINT64_MAX, kernel_end = 0;
    for (size_t i = 0; i < segment_count_; ++i) {
        const Segment& s = segments_[i];
        used_[used_count_++] = Range{s.dest, s.end()};
        if (s.dest < kernel_start) kernel_start = s.dest;
        if (s.end() > kernel_end) kernel_end = s.end();
    }
    uint64_t info_size = protocol_ == Protocol::v2 ? v2_info_size() : v1_info_size();
    uint64_t info_base;
    if (!place(kInfoBase, info_size, info_base))
        return fail("no room in {} of guest RAM for the boot information ({} bytes)", Bytes{layout_.ram_bytes},
                    info_size);
    used_[used_count_++] = Range{info_base, info_base + info_size};
    uint64_t highest = kernel_end > info_base + info_size ? kernel_end : info_base + info_size;
    for (size_t i = 0; i < req_.module_count; ++i) {
        const ModuleImage& m = req_.modules[i];
        if (m.size && !m.data) return fail("module {} has no data", i + 1);
        if (!place(kernel_end, m.size, module_base_[i]))
            return fail("no room in {} of guest RAM for module {} ({} bytes) above the kernel (which ends at {:#x})",
                        Bytes{layout_.ram_bytes}, i + 1, m.size, kernel_end);
        used_[used_count_++] = Range{module_base_[i], module_base_[i] + m.size};
        if (module_base_[i] + m.size > highest) highest = module_base_[i] + m.size;
    }

    // Writes. Every range was checked against the layout, whose RAM is ram.size bytes.
    for (size_t i = 0; i < segment_count_; ++i) {
        const Segment& s = segments_[i];
        uint8_t* dest = req_.ram.at(s.dest, s.mem_size);
        __builtin_memcpy(dest, image_ + s.file_offset, s.file_size);
        __builtin_memset(dest + s.file_size, 0, s.mem_size - s.file_size);
    }
    uint8_t* block = req_.ram.at(info_base, info_size);
    __builtin_memset(block, 0, info_size);
    if (protocol_ == Protocol::v2) write_v2_info(block, info_base);
    else write_v1_info(block, info_base);
    for (size_t i = 0; i < req_.module_count; ++i)
        if (req_.modules[i].size)
            __builtin_memcpy(req_.ram.at(module_base_[i], req_.modules[i].size), req_.modules[i].data,
                             req_.modules[i].size);

    out.entry = entry_;
    out.eax_magic = protocol_ == Protocol::v2 ? kV2BootloaderMagic : kV1BootloaderMagic;
    out.ebx_info = uint32_t(info_base);
    out.highest_used = highest;
    out.protocol = protocol_;
    out.kernel_start = kernel_start;
    out.kernel_end = kernel_end;
    out.warning = warning_;
    return true;
}

} // namespace

bool load_multiboot(const LoadRequest& request, LoadResult& out, char* error, size_t error_size)
{
    Loader loader(request, error, error_size);
    return loader.run(out);
}

bool load_flat_binary(GuestRam ram, const uint8_t* data, size_t size, Str guest_name, RealModeStart& out,
                      char* error, size_t error_size)
{
    out = RealModeStart{};
    LoadError load_error(guest_name, error, error_size);
    auto fail = [&](Str pattern, const auto&... args) { return load_error.fail(pattern, args...); };
    if (!ram.host || ram.size < kHighRamBase) return fail("a real-mode guest needs at least 1 MiB of guest RAM");
    if (!data || size < 16)
        return fail("flat binary of {} bytes is smaller than 16 bytes: its last 16 bytes are the code at the reset "
                    "vector 0xffff0",
                    data ? size : 0);
    uint64_t firmware = guest_memory::firmware_region_bytes(size);
    if (!firmware)
        return fail("flat binary of {} bytes is larger than {}, the most that fits below 1 MiB as firmware", size,
                    Bytes{guest_memory::kFirmwareLargeBytes});
    uint8_t* region = ram.at(kHighRamBase - firmware, firmware);
    __builtin_memset(region, 0, firmware - size);
    __builtin_memcpy(region + (firmware - size), data, size);
    out.cs_selector = 0xF000;
    out.ip = 0xFFF0;
    out.cs_base = 0xF0000;
    out.reset_cs_base = 0xFFFF0000;
    out.load_base = uint32_t(kHighRamBase - size);
    out.firmware_bytes = firmware;
    return true;
}

} // namespace multiboot
