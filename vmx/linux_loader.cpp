#include "vmx/linux_loader.hpp"

#include "lib/format.hpp"
#include "lib/little_endian.hpp"
#include "vmx/guest_memory_map.hpp"
#include "vmx/load_error.hpp"

namespace linux_boot {
namespace {

using le::read_u16, le::read_u32, le::read_u64, le::write_u16, le::write_u32, le::write_u64;

constexpr uint64_t kPage = 4096, kLargePage = 2ull << 20;
constexpr uint64_t kSectorBytes = 512;
constexpr uint8_t kDefaultSetupSects = 4;  // boot.rst: "If this field is 0, the real value is 4"
constexpr size_t kHeaderEndLimit = 0x290;   // boot_params: the setup header ends before edd_mbr_sig_buffer
// Flat 4 GiB descriptors (SDM Vol. 3A 3.4.5): 64-bit code (L=1, D=0, type 0xb: execute/read,
// accessed), 32-bit code (L=0, D=1) and data (D/B=1, type 3: read/write, accessed), DPL 0, G=1.
constexpr uint64_t kCode64Descriptor = 0x00af9b000000ffffull, kCode32Descriptor = 0x00cf9b000000ffffull,
                   kDataDescriptor = 0x00cf93000000ffffull;
constexpr uint64_t kPresent = 1, kWritable = 2, kLargePageBit = 0x80;

constexpr uint64_t align_up(uint64_t value, uint64_t align) { return (value + align - 1) & ~(align - 1); }

class Loader {
public:
    Loader(const LoadRequest& request, char* error, size_t error_size)
        : req_(request), image_(request.image), size_(request.image ? request.image_size : 0),
          error_(request.guest_name, error, error_size)
    {
    }

    bool run(LoadResult& out);

private:
    template <class... Args>
    bool fail(Str pattern, const Args&... args) const
    {
        return error_.fail(pattern, args...);
    }

    bool parse_header();
    bool place_kernel();
    bool place_initrd();
    void write_identity_tables() const;
    void write_boot_structures() const;
    void write_zero_page(uint8_t* zero_page) const;

    const LoadRequest& req_;
    const uint8_t* image_;
    size_t size_;
    LoadError error_;
    guest_memory::Layout layout_{};

    size_t setup_bytes_ = 0, header_end_ = 0;
    uint64_t kernel_bytes_ = 0;  // the protected-mode kernel in the file
    uint16_t version_ = 0;
    uint32_t init_size_ = 0, alignment_ = 0, initrd_addr_max_ = 0, cmdline_size_ = 0;
    bool relocatable_ = false;
    bool long_mode_ = false;
    uint64_t pref_address_ = 0;
    uint64_t load_ = 0, initrd_ = 0;
};

bool Loader::parse_header()
{
    if (size_ < hdr::version + 2 || read_u16(image_ + hdr::boot_flag) != kBootFlag ||
        read_u32(image_ + hdr::header) != kHeaderMagic)
        return fail("not a Linux bzImage (no boot_flag 0xAA55 and \"HdrS\" setup header at 0x1fe/0x202)");
    version_ = read_u16(image_ + hdr::version);
    if (version_ < kMinVersion)
        return fail("Linux boot protocol {}.{} is too old (need 2.12 or later: xloadflags)", version_ >> 8,
                    version_ & 0xff);
    header_end_ = hdr::header + image_[hdr::jump + 1];  // boot.rst: 0x202 + the jump's offset byte
    if (header_end_ <= hdr::init_size + 4 || header_end_ > kHeaderEndLimit)
        return fail("setup header ends at {:#x} (the jump at 0x200): expected {:#x} to {:#x} for protocol 2.12+",
                    header_end_, hdr::init_size + 4, kHeaderEndLimit);
    uint8_t sects = image_[hdr::setup_sects] ? image_[hdr::setup_sects] : kDefaultSetupSects;
    setup_bytes_ = (sects + 1) * kSectorBytes;
    if (setup_bytes_ < header_end_ || setup_bytes_ >= size_)
        return fail("setup_sects {} puts the protected-mode kernel at {:#x}, beyond the {}-byte file", sects,
                    setup_bytes_, size_);
    kernel_bytes_ = size_ - setup_bytes_;
    uint64_t syssize_bytes = uint64_t(read_u32(image_ + hdr::syssize)) * 16;
    if (syssize_bytes == 0 || syssize_bytes > kernel_bytes_)
        return fail("syssize says {} bytes of protected-mode kernel, the file has {} after the setup", syssize_bytes,
                    kernel_bytes_);
    if (!(image_[hdr::loadflags] & kLoadedHigh)) return fail("a zImage (loadflags LOADED_HIGH clear): only bzImages load");
    bool has_entry64 = read_u16(image_ + hdr::xloadflags) & kXlfKernel64;
    if (req_.entry == guest_config::LinuxEntry::bits64 && !has_entry64)
        return fail("no 64-bit entry point (xloadflags XLF_KERNEL_64 clear): a 32-bit kernel (use entry=32)");
    long_mode_ = req_.entry == guest_config::LinuxEntry::bits64 ||
                 (req_.entry == guest_config::LinuxEntry::automatic && has_entry64);
    init_size_ = read_u32(image_ + hdr::init_size);
    if (init_size_ < kernel_bytes_)
        return fail("init_size {:#x} is smaller than the {:#x}-byte protected-mode kernel", init_size_, kernel_bytes_);
    relocatable_ = image_[hdr::relocatable_kernel] != 0;
    alignment_ = read_u32(image_ + hdr::kernel_alignment);
    if (relocatable_ && (alignment_ < kPage || (alignment_ & (alignment_ - 1))))
        return fail("kernel_alignment {:#x} is not a power of two of at least 4 KiB", alignment_);
    pref_address_ = read_u64(image_ + hdr::pref_address);
    initrd_addr_max_ = read_u32(image_ + hdr::initrd_addr_max);
    cmdline_size_ = read_u32(image_ + hdr::cmdline_size);
    return true;
}

bool Loader::place_kernel()
{
    auto fits = [&](uint64_t base) {
        return base >= guest_memory::kHighRamBase && base + init_size_ > base && layout_.is_ram(base, init_size_);
    };
    if (fits(pref_address_) && (!relocatable_ || pref_address_ % alignment_ == 0)) {
        load_ = pref_address_;
        return true;
    }
    if (relocatable_)
        for (uint64_t base = align_up(guest_memory::kHighRamBase, alignment_); base < req_.ram.size; base += alignment_)
            if (fits(base)) {
                load_ = base;
                return true;
            }
    return fail("the kernel needs {:#x} bytes (init_size) at {:#x}{}; the VM has {} of RAM", init_size_,
                pref_address_, relocatable_ ? " or an aligned address above 1 MiB" : "", Bytes{req_.ram.size});
}

bool Loader::place_initrd()
{
    uint64_t size = req_.initrd_size;
    if (!size) return true;
    // The RAM region from 1 MiB, up to initrd_addr_max: as high as possible above the kernel,
    // else below it (a relocatable kernel low in a small VM leaves room there).
    uint64_t limit = req_.ram.size;
    if (uint64_t(initrd_addr_max_) + 1 < limit) limit = uint64_t(initrd_addr_max_) + 1;
    uint64_t above = align_up(load_ + init_size_, kPage), below_end = load_ < limit ? load_ : limit;
    if (size <= limit && ((limit - size) & ~(kPage - 1)) >= above) {
        initrd_ = (limit - size) & ~(kPage - 1);
        return true;
    }
    if (size <= below_end && ((below_end - size) & ~(kPage - 1)) >= guest_memory::kHighRamBase) {
        initrd_ = (below_end - size) & ~(kPage - 1);
        return true;
    }
    return fail("the {}-byte initrd does not fit below {:#x} (end of RAM or initrd_addr_max): {} bytes free above "
                "the kernel [{:#x}, {:#x}), {} below",
                size, limit, limit > above ? limit - above : 0, load_, above,
                below_end > guest_memory::kHighRamBase ? below_end - guest_memory::kHighRamBase : 0);
}

void Loader::write_zero_page(uint8_t* zp) const
{
    for (size_t i = 0; i < zero_page::size; ++i) zp[i] = 0;
    for (size_t i = hdr::setup_sects; i < header_end_; ++i) zp[i] = image_[i];
    zp[hdr::type_of_loader] = kTypeOfLoaderUndefined;
    write_u32(zp + hdr::code32_start, uint32_t(load_));
    write_u32(zp + hdr::cmd_line_ptr, uint32_t(kCmdlineBase));
    write_u32(zp + zero_page::ext_cmd_line_ptr, uint32_t(kCmdlineBase >> 32));
    write_u32(zp + hdr::ramdisk_image, uint32_t(initrd_));
    write_u32(zp + zero_page::ext_ramdisk_image, uint32_t(initrd_ >> 32));
    write_u32(zp + hdr::ramdisk_size, uint32_t(req_.initrd_size));
    write_u32(zp + zero_page::ext_ramdisk_size, uint32_t(uint64_t(req_.initrd_size) >> 32));
    write_u64(zp + zero_page::acpi_rsdp_addr, req_.acpi_rsdp);
    zp[zero_page::e820_entries] = uint8_t(layout_.region_count);
    for (size_t i = 0; i < layout_.region_count; ++i) {
        uint8_t* e = zp + zero_page::e820_table + i * zero_page::e820_entry_bytes;
        write_u64(e, layout_.regions[i].base);
        write_u64(e + 8, layout_.regions[i].length);
        write_u32(e + 16, uint32_t(layout_.regions[i].type));
    }
}

// PML4 -> one PDPT -> four page directories of 2 MiB pages: the identity map of [0, 4 GiB).
void Loader::write_identity_tables() const
{
    constexpr uint64_t directories = kIdentityMapBytes >> 30;
    uint8_t* tables = req_.ram.at(kPageTableBase, (2 + directories) * kPage);
    for (size_t i = 0; i < (2 + directories) * kPage; ++i) tables[i] = 0;
    uint64_t pdpt = kPageTableBase + kPage, first_directory = pdpt + kPage;
    write_u64(tables, pdpt | kPresent | kWritable);
    for (uint64_t d = 0; d < directories; ++d) {
        write_u64(tables + kPage + d * 8, (first_directory + d * kPage) | kPresent | kWritable);
        for (uint64_t e = 0; e < 512; ++e)
            write_u64(tables + 2 * kPage + d * kPage + e * 8,
                      ((d << 30) + e * kLargePage) | kPresent | kWritable | kLargePageBit);
    }
}

void Loader::write_boot_structures() const
{
    const GuestRam& ram = req_.ram;
    uint8_t* gdt = ram.at(kGdtBase, kPage);
    for (size_t i = 0; i < kPage; ++i) gdt[i] = 0;
    write_u64(gdt + kBootCs, long_mode_ ? kCode64Descriptor : kCode32Descriptor);
    write_u64(gdt + kBootDs, kDataDescriptor);
    if (long_mode_) write_identity_tables();

    write_zero_page(ram.at(kZeroPage, zero_page::size));
    uint8_t* cmdline = ram.at(kCmdlineBase, req_.cmdline.size + 1);
    for (size_t i = 0; i < req_.cmdline.size; ++i) cmdline[i] = uint8_t(req_.cmdline[i]);
    cmdline[req_.cmdline.size] = 0;

    // Megabytes: the string instructions (lib/runtime.cpp) cost a fraction of byte loops.
    uint8_t* kernel = ram.at(load_, init_size_);
    __builtin_memcpy(kernel, image_ + setup_bytes_, kernel_bytes_);
    __builtin_memset(kernel + kernel_bytes_, 0, init_size_ - kernel_bytes_);
    if (req_.initrd_size) __builtin_memcpy(ram.at(initrd_, req_.initrd_size), req_.initrd, req_.initrd_size);
}

bool Loader::run(LoadResult& out)
{
    char layout_error[120];
    if (!guest_memory::build_layout(req_.ram.size, 0, layout_, layout_error, sizeof layout_error))
        return fail("{}", layout_error);
    if (!image_ || !size_) return fail("empty kernel image");
    if (req_.initrd_size && !req_.initrd) return fail("initrd has no bytes");
    if (!parse_header() || !place_kernel() || !place_initrd()) return false;
    // cmdline_size is the longest string without the NUL (boot.rst, protocol 2.06+).
    uint64_t cmdline_room = kPage - 1 < cmdline_size_ ? kPage - 1 : cmdline_size_;
    if (req_.cmdline.size > cmdline_room)
        return fail("command line of {} bytes is longer than the kernel's {} (cmdline_size)", req_.cmdline.size,
                    cmdline_room);
    if (!layout_.is_ram(kGdtBase, kCmdlineBase + kPage - kGdtBase))
        return fail("low RAM [{:#x}, {:#x}) for the boot structures is missing", kGdtBase, kCmdlineBase + kPage);
    write_boot_structures();
    out = LoadResult{};
    out.long_mode = long_mode_;
    out.entry = long_mode_ ? load_ + kEntry64Offset : load_;
    out.zero_page = kZeroPage;
    out.cr3 = long_mode_ ? kPageTableBase : 0;
    out.gdt_base = kGdtBase;
    out.gdt_limit = kGdtLimit;
    out.version = version_;
    out.kernel_start = load_;
    out.kernel_end = load_ + init_size_;
    out.initrd_start = initrd_;
    return true;
}

}  // namespace

bool load_bzimage(const LoadRequest& request, LoadResult& out, char* error, size_t error_size)
{
    return Loader(request, error, error_size).run(out);
}

}  // namespace linux_boot
