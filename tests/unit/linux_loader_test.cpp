#include "vmx/linux_loader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lib/little_endian.hpp"
#include "vmx/guest_memory_map.hpp"

namespace {

using linux_boot::LoadRequest;
using linux_boot::LoadResult;
namespace hdr = linux_boot::hdr;
namespace zp = linux_boot::zero_page;
using Bytes = std::vector<uint8_t>;

constexpr uint64_t MiB = 1024 * 1024;
constexpr size_t kSetupSects = 4, kSetupBytes = (kSetupSects + 1) * 512, kKernelBytes = 8192;
constexpr uint32_t kInitSize = 64 * 1024;

// A bzImage as Linux 6.1's arch/x86/boot/header.S lays it out, with a patterned protected-mode
// kernel: relocatable, 2 MiB aligned, preferring 16 MiB.
Bytes bzimage()
{
    Bytes b(kSetupBytes + kKernelBytes);
    b[hdr::setup_sects] = kSetupSects;
    le::write_u32(&b[hdr::syssize], kKernelBytes / 16);
    le::write_u16(&b[hdr::boot_flag], 0xAA55);
    b[hdr::jump] = 0xeb;
    b[hdr::jump + 1] = 0x6a;  // header ends at 0x26c
    le::write_u32(&b[hdr::header], linux_boot::kHeaderMagic);
    le::write_u16(&b[hdr::version], 0x020f);
    b[hdr::loadflags] = linux_boot::kLoadedHigh;
    le::write_u32(&b[hdr::initrd_addr_max], 0x7fffffff);
    le::write_u32(&b[hdr::kernel_alignment], 2 * MiB);
    b[hdr::relocatable_kernel] = 1;
    le::write_u16(&b[hdr::xloadflags], linux_boot::kXlfKernel64);
    le::write_u32(&b[hdr::cmdline_size], 2047);
    le::write_u64(&b[hdr::pref_address], 16 * MiB);
    le::write_u32(&b[hdr::init_size], kInitSize);
    for (size_t i = 0; i < kKernelBytes; ++i) b[kSetupBytes + i] = uint8_t(i * 13 + 1);
    return b;
}

struct Vm {
    explicit Vm(uint64_t size) : bytes(size, 0xcc), ram{bytes.data(), size} {}
    Bytes bytes;
    GuestRam ram;
    uint64_t u64(uint64_t gpa) const { return le::read_u64(&bytes[gpa]); }
    uint32_t u32(uint64_t gpa) const { return le::read_u32(&bytes[gpa]); }
};

struct Outcome {
    bool ok;
    LoadResult result;
    std::string error;
};

using guest_config::LinuxEntry;

Outcome load(Vm& vm, const Bytes& image, const std::string& cmdline = "console=ttyS0", const Bytes& initrd = {},
             LinuxEntry entry = LinuxEntry::automatic)
{
    LoadRequest request{};
    request.entry = entry;
    request.ram = vm.ram;
    request.image = image.data();
    request.image_size = image.size();
    request.cmdline = Str(cmdline.data(), cmdline.size());
    request.initrd = initrd.empty() ? nullptr : initrd.data();
    request.initrd_size = initrd.size();
    request.acpi_rsdp = 0x9f000;
    request.guest_name = Str("lx");
    Outcome o{};
    char error[256];
    o.ok = linux_boot::load_bzimage(request, o.result, error, sizeof error);
    o.error = error;
    return o;
}

// A rejected load writes nothing: RAM keeps its 0xcc fill.
void expect_rejected(const Bytes& image, const std::string& message, uint64_t ram = 64 * MiB,
                     const Bytes& initrd = {}, const std::string& cmdline = "console=ttyS0",
                     LinuxEntry entry = LinuxEntry::automatic)
{
    Vm vm(ram);
    Outcome o = load(vm, image, cmdline, initrd, entry);
    EXPECT_FALSE(o.ok);
    EXPECT_NE(o.error.find("guest 'lx': "), std::string::npos) << o.error;
    EXPECT_NE(o.error.find(message), std::string::npos) << o.error;
    EXPECT_TRUE(vm.bytes == Vm(ram).bytes) << "RAM written on a failed load";
}

TEST(LinuxLoader, LoadsTheKernelAtItsPreferredAddressAndEntersAt0x200)
{
    Vm vm(64 * MiB);
    Bytes image = bzimage();
    Outcome o = load(vm, image);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.kernel_start, 16 * MiB);
    EXPECT_EQ(o.result.kernel_end, 16 * MiB + kInitSize);
    EXPECT_EQ(o.result.entry, 16 * MiB + 0x200);
    EXPECT_EQ(o.result.version, 0x020f);
    EXPECT_TRUE(std::equal(image.begin() + kSetupBytes, image.end(), vm.bytes.begin() + 16 * MiB));
    for (uint64_t i = kKernelBytes; i < kInitSize; ++i) ASSERT_EQ(vm.bytes[16 * MiB + i], 0) << i;
}

TEST(LinuxLoader, ZeroPageCarriesTheHeaderCommandLineAcpiAndTheLayoutsE820Map)
{
    Vm vm(64 * MiB);
    Bytes image = bzimage();
    Outcome o = load(vm, image, "console=ttyS0 quiet");
    ASSERT_TRUE(o.ok) << o.error;
    uint64_t z = o.result.zero_page;
    EXPECT_EQ(vm.u32(z + hdr::header), linux_boot::kHeaderMagic);
    EXPECT_EQ(vm.bytes[z + hdr::type_of_loader], 0xff);
    EXPECT_EQ(vm.u32(z + hdr::init_size), kInitSize);  // the rest of the header as the image has it
    EXPECT_EQ(vm.bytes[z + 0x26c], 0);                   // past the header: zero
    uint32_t cmdline = vm.u32(z + hdr::cmd_line_ptr);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(&vm.bytes[cmdline])), "console=ttyS0 quiet");
    EXPECT_EQ(vm.u64(z + zp::acpi_rsdp_addr), 0x9f000u);
    EXPECT_EQ(vm.u32(z + hdr::ramdisk_image), 0u);
    EXPECT_EQ(vm.u32(z + hdr::ramdisk_size), 0u);

    guest_memory::Layout layout{};
    char error[100];
    ASSERT_TRUE(guest_memory::build_layout(64 * MiB, 0, layout, error, sizeof error));
    ASSERT_EQ(vm.bytes[z + zp::e820_entries], layout.region_count);
    for (size_t i = 0; i < layout.region_count; ++i) {
        uint64_t e = z + zp::e820_table + i * zp::e820_entry_bytes;
        EXPECT_EQ(vm.u64(e), layout.regions[i].base);
        EXPECT_EQ(vm.u64(e + 8), layout.regions[i].length);
        EXPECT_EQ(vm.u32(e + 16), uint32_t(layout.regions[i].type));
    }
}

TEST(LinuxLoader, IdentityMapsFourGibAndLoadsTheBootGdt)
{
    Vm vm(32 * MiB);
    Outcome o = load(vm, bzimage());
    ASSERT_TRUE(o.ok) << o.error;
    // Walk the tables for a few addresses: each maps to itself through a 2 MiB page.
    for (uint64_t address : {uint64_t(0), 16 * MiB + 0x200, uint64_t(0xfee00000), (uint64_t(4) << 30) - 1}) {
        uint64_t pml4e = vm.u64(o.result.cr3 + ((address >> 39) & 511) * 8);
        ASSERT_EQ(pml4e & 3, 3u);
        uint64_t pdpte = vm.u64((pml4e & ~0xfffull) + ((address >> 30) & 511) * 8);
        ASSERT_EQ(pdpte & 3, 3u);
        uint64_t pde = vm.u64((pdpte & ~0xfffull) + ((address >> 21) & 511) * 8);
        ASSERT_EQ(pde & 0x83, 0x83u);
        EXPECT_EQ((pde & ~0x1fffffull) | (address & 0x1fffff), address);
    }
    EXPECT_EQ(o.result.gdt_limit, 31);
    EXPECT_EQ(vm.u64(o.result.gdt_base + linux_boot::kBootCs), 0x00af9b000000ffffull);
    EXPECT_EQ(vm.u64(o.result.gdt_base + linux_boot::kBootDs), 0x00cf93000000ffffull);
}

TEST(LinuxLoader, PutsTheInitrdPageAlignedAtTheTopOfRam)
{
    Vm vm(64 * MiB);
    Bytes initrd(10000);
    for (size_t i = 0; i < initrd.size(); ++i) initrd[i] = uint8_t(i * 3);
    Outcome o = load(vm, bzimage(), "", initrd);
    ASSERT_TRUE(o.ok) << o.error;
    uint64_t expected = (64 * MiB - initrd.size()) & ~0xfffull;
    EXPECT_EQ(o.result.initrd_start, expected);
    EXPECT_TRUE(std::equal(initrd.begin(), initrd.end(), vm.bytes.begin() + expected));
    EXPECT_EQ(vm.u32(o.result.zero_page + hdr::ramdisk_image), expected);
    EXPECT_EQ(vm.u32(o.result.zero_page + hdr::ramdisk_size), initrd.size());
}

TEST(LinuxLoader, TheInitrdStaysBelowInitrdAddrMax)
{
    Vm vm(64 * MiB);
    Bytes image = bzimage();
    le::write_u32(&image[hdr::initrd_addr_max], 32 * MiB - 1);
    Outcome o = load(vm, image, "", Bytes(4096, 1));
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.initrd_start, 32 * MiB - 4096);
}

TEST(LinuxLoader, TheInitrdGoesBelowTheKernelWhenThereIsNoRoomAbove)
{
    Vm vm(17 * MiB);  // the kernel at 16 MiB leaves less than a page above it
    Outcome o = load(vm, bzimage(), "", Bytes(5 * MiB, 7));
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.kernel_start, 16 * MiB);
    EXPECT_EQ(o.result.initrd_start, 11 * MiB);
}

TEST(LinuxLoader, RelocatableKernelMovesDownWhenItsPreferredAddressIsNotRam)
{
    Vm vm(16 * MiB);
    Outcome o = load(vm, bzimage());
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.kernel_start, 2 * MiB);  // the first 2 MiB-aligned address from 1 MiB
}

// boot.rst "32-bit BOOT PROTOCOL": protected mode with paging off at code32_start (the load
// address, written back into the zero page), __BOOT_CS a flat 32-bit code segment, no page tables.
void expect_32bit_entry(const Bytes& image, LinuxEntry entry)
{
    Vm vm(64 * MiB);
    Outcome o = load(vm, image, "console=ttyS0", {}, entry);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_FALSE(o.result.long_mode);
    EXPECT_EQ(o.result.entry, 16 * MiB);
    EXPECT_EQ(o.result.cr3, 0u);
    EXPECT_EQ(vm.u32(o.result.zero_page + hdr::code32_start), 16 * MiB);
    EXPECT_EQ(vm.u64(o.result.gdt_base + linux_boot::kBootCs), 0x00cf9b000000ffffull);
    EXPECT_EQ(vm.u64(o.result.gdt_base + linux_boot::kBootDs), 0x00cf93000000ffffull);
    EXPECT_EQ(vm.u64(linux_boot::kPageTableBase), 0xccccccccccccccccull) << "page tables written for a 32-bit entry";
    EXPECT_TRUE(std::equal(image.begin() + kSetupBytes, image.end(), vm.bytes.begin() + 16 * MiB));
}

TEST(LinuxLoader, ThirtyTwoBitEntryForA32BitKernelOrWhenAsked)
{
    Bytes bits32 = bzimage();
    le::write_u16(&bits32[hdr::xloadflags], 0);
    expect_32bit_entry(bits32, LinuxEntry::automatic);
    expect_32bit_entry(bits32, LinuxEntry::bits32);
    expect_32bit_entry(bzimage(), LinuxEntry::bits32);
    Vm vm(64 * MiB);
    Outcome o = load(vm, bzimage(), "console=ttyS0", {}, LinuxEntry::bits64);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_TRUE(o.result.long_mode);
    EXPECT_EQ(vm.u64(o.result.gdt_base + linux_boot::kBootCs), 0x00af9b000000ffffull);
    EXPECT_EQ(vm.u32(o.result.zero_page + hdr::code32_start), 16 * MiB);
}

TEST(LinuxLoader, RejectsWhatIsNotABzImage)
{
    Bytes elf(4096);
    elf[0] = 0x7f, elf[1] = 'E', elf[2] = 'L', elf[3] = 'F';
    expect_rejected(elf, "not a Linux bzImage");
    expect_rejected(Bytes(100), "not a Linux bzImage");
    Bytes no_magic = bzimage();
    no_magic[hdr::header] = 'X';
    expect_rejected(no_magic, "not a Linux bzImage");
    // Cut inside the protocol version that follows "HdrS" (found by tests/fuzz/linux_loader).
    for (size_t size : {hdr::version, hdr::version + 1}) {
        Bytes cut = bzimage();
        cut.resize(size);
        cut.shrink_to_fit();  // so that AddressSanitizer sees a read past the end
        expect_rejected(cut, "not a Linux bzImage");
    }
}

TEST(LinuxLoader, RejectsBadHeaders)
{
    Bytes old = bzimage();
    le::write_u16(&old[hdr::version], 0x020b);
    expect_rejected(old, "boot protocol 2.11 is too old");
    Bytes zimage = bzimage();
    zimage[hdr::loadflags] = 0;
    expect_rejected(zimage, "zImage");
    Bytes bits32 = bzimage();
    le::write_u16(&bits32[hdr::xloadflags], 0);
    expect_rejected(bits32, "no 64-bit entry point (xloadflags XLF_KERNEL_64 clear): a 32-bit kernel (use entry=32)",
                    64 * MiB, {}, "console=ttyS0", LinuxEntry::bits64);
    Bytes syssize = bzimage();
    le::write_u32(&syssize[hdr::syssize], kKernelBytes / 16 + 1);
    expect_rejected(syssize, "syssize says 8208 bytes");
    Bytes sects = bzimage();
    sects[hdr::setup_sects] = 200;
    expect_rejected(sects, "setup_sects 200");
    Bytes short_header = bzimage();
    short_header[hdr::jump + 1] = 0x20;
    expect_rejected(short_header, "setup header ends at 0x222");
    Bytes init_size = bzimage();
    le::write_u32(&init_size[hdr::init_size], 100);
    expect_rejected(init_size, "init_size 0x64");
    Bytes alignment = bzimage();
    le::write_u32(&alignment[hdr::kernel_alignment], 3 * MiB);
    expect_rejected(alignment, "kernel_alignment 0x300000");
    Bytes truncated = bzimage();
    truncated.resize(kSetupBytes + kKernelBytes - 16);
    expect_rejected(truncated, "syssize");
}

TEST(LinuxLoader, RejectsAKernelOrInitrdThatDoesNotFit)
{
    Bytes fixed = bzimage();
    fixed[hdr::relocatable_kernel] = 0;
    expect_rejected(fixed, "the kernel needs 0x10000 bytes (init_size) at 0x1000000; the VM has 8 MiB", 8 * MiB);
    expect_rejected(bzimage(),
                    "the 50331648-byte initrd does not fit below 0x4000000 (end of RAM or initrd_addr_max): "
                    "50266112 bytes free above the kernel [0x1000000, 0x1010000), 15728640 below",
                    64 * MiB, Bytes(48 * MiB));
}

TEST(LinuxLoader, RejectsACommandLineLongerThanCmdlineSize)
{
    Bytes image = bzimage();
    le::write_u32(&image[hdr::cmdline_size], 10);
    expect_rejected(image, "command line of 13 bytes is longer than the kernel's 10", 64 * MiB, {}, "console=ttyS0");
    Vm vm(64 * MiB);
    EXPECT_TRUE(load(vm, image, "0123456789").ok);
}

}  // namespace
