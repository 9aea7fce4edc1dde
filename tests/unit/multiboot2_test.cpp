#include "boot/multiboot2.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace {

// Little-endian payload bytes of one tag.
struct Bytes {
    std::vector<uint8_t> data;

    Bytes& u8(uint8_t v)
    {
        data.push_back(v);
        return *this;
    }
    Bytes& u16(uint16_t v) { return u8(uint8_t(v)).u8(uint8_t(v >> 8)); }
    Bytes& u32(uint32_t v) { return u16(uint16_t(v)).u16(uint16_t(v >> 16)); }
    Bytes& u64(uint64_t v) { return u32(uint32_t(v)).u32(uint32_t(v >> 32)); }
    Bytes& str(const std::string& s, bool terminate = true)
    {
        for (char c : s) u8(uint8_t(c));
        if (terminate) u8(0);
        return *this;
    }
    Bytes& fill(size_t n, uint8_t v)
    {
        data.insert(data.end(), n, v);
        return *this;
    }
};

// Builds an MBI the way a boot loader lays it out (spec §3.6): 8-byte header, tags padded to
// 8 bytes, end tag. Knobs let tests break each rule.
class MbiBuilder {
public:
    MbiBuilder() { bytes_.resize(8); }

    // size_override replaces the size field (the bytes written stay the payload).
    MbiBuilder& tag(uint32_t type, const Bytes& payload, int64_t size_override = -1)
    {
        uint32_t size = size_override >= 0 ? uint32_t(size_override) : uint32_t(8 + payload.data.size());
        Bytes header;
        header.u32(type).u32(size);
        append(header.data);
        append(payload.data);
        pad();
        return *this;
    }
    MbiBuilder& end_tag(uint32_t size = 8) { return tag(0, Bytes{}, size); }

    // Finishes with total_size = bytes so far, or total_override.
    std::vector<uint64_t> build(int64_t total_override = -1) const
    {
        std::vector<uint8_t> b = bytes_;
        uint32_t total = total_override >= 0 ? uint32_t(total_override) : uint32_t(b.size());
        std::memcpy(b.data(), &total, 4);
        std::vector<uint64_t> words((b.size() + 7) / 8);
        std::memcpy(words.data(), b.data(), b.size());
        return words;
    }

private:
    void append(const std::vector<uint8_t>& v) { bytes_.insert(bytes_.end(), v.begin(), v.end()); }
    void pad()
    {
        while (bytes_.size() % 8) bytes_.push_back(0xcc); // padding is not zero on purpose
    }

    std::vector<uint8_t> bytes_;
};

Bytes mmap_payload(uint32_t entry_size, uint32_t count)
{
    Bytes b;
    b.u32(entry_size).u32(0);
    for (uint32_t i = 0; i < count; ++i) {
        b.u64(0x100000ull * i).u64(0x1000 + i).u32(i % 5 + 1).u32(0);
        b.fill(entry_size - 24, 0xee);
    }
    return b;
}

Bytes module_payload(uint32_t start, uint32_t end, const std::string& cmdline)
{
    return Bytes{}.u32(start).u32(end).str(cmdline);
}

Bytes rsdp_payload(const char* signature_tag, size_t length)
{
    Bytes b;
    b.str("RSD PTR ", false).str(signature_tag, false);
    b.fill(length - b.data.size(), 0);
    return b;
}

// BootInfo is ~8 KiB: keep it off the test's stack. Its views point into the MBI, so callers keep
// the MBI vector alive while they look at them.
struct Parsed {
    std::unique_ptr<mb2::BootInfo> info = std::make_unique<mb2::BootInfo>();
    const char* error = nullptr;
};

Parsed parse(const std::vector<uint64_t>& mbi)
{
    Parsed p;
    std::memset(static_cast<void*>(p.info.get()), 0xa5, sizeof *p.info); // catch fields parse() forgets to reset
    p.error = mb2::parse(mbi.data(), *p.info);
    return p;
}

std::string str(Str s) { return std::string(s.data, s.size); }

const char* raw(const std::vector<uint64_t>& mbi, size_t offset)
{
    return reinterpret_cast<const char*>(mbi.data()) + offset;
}

TEST(Multiboot2, MinimalMbiHasNothing)
{
    auto mbi = MbiBuilder().end_tag().build();
    auto p = parse(mbi);
    ASSERT_EQ(p.error, nullptr);
    const mb2::BootInfo& b = *p.info;
    EXPECT_EQ(b.total_size, 16u);
    EXPECT_TRUE(b.cmdline.empty());
    EXPECT_TRUE(b.bootloader_name.empty());
    EXPECT_EQ(b.memory_count, 0u);
    EXPECT_EQ(b.module_count, 0u);
    EXPECT_EQ(b.rsdp, nullptr);
    EXPECT_EQ(b.rsdp_length, 0u);
    EXPECT_FALSE(b.booted_from_efi);
    EXPECT_FALSE(b.has_framebuffer);
    EXPECT_EQ(b.basic_mem_lower_kib, 0u);
    EXPECT_EQ(b.basic_mem_upper_kib, 0u);
    EXPECT_STREQ(b.error, "");
}

TEST(Multiboot2, ParsesEveryTag)
{
    Bytes fb;
    fb.u64(0xfd000000).u32(4096).u32(1024).u32(768).u8(32).u8(1).u16(0);
    fb.u8(16).u8(8).u8(8).u8(8).u8(0).u8(8);
    auto mbi = MbiBuilder()
                   .tag(1, Bytes{}.str("serial=com2 cpus=4"))          // offset 8, size 27
                   .tag(2, Bytes{}.str("GRUB 2.06"))                   // offset 40
                   .tag(4, Bytes{}.u32(639).u32(523264))               // offset 64
                   .tag(3, module_payload(0x200000, 0x300000, "guest name=a"))
                   .tag(3, module_payload(0x300000, 0x300000, ""))     // empty module, empty line
                   .tag(6, mmap_payload(24, 3))
                   .tag(8, fb)
                   .tag(14, rsdp_payload("OLD", 20))
                   .tag(12, Bytes{}.u64(0x7fe00000))
                   .tag(21, Bytes{}.u32(0x100000))                      // image load base: ignored
                   .tag(99, Bytes{}.fill(5, 0x11))                      // unknown: skipped
                   .end_tag()
                   .build();
    auto p = parse(mbi);
    ASSERT_EQ(p.error, nullptr) << p.error;
    const mb2::BootInfo& b = *p.info;

    EXPECT_EQ(b.total_size, mbi.size() * 8);
    EXPECT_EQ(str(b.cmdline), "serial=com2 cpus=4");
    EXPECT_EQ(b.cmdline.data, raw(mbi, 16)); // views point into the MBI
    EXPECT_EQ(str(b.bootloader_name), "GRUB 2.06");
    EXPECT_EQ(b.bootloader_name.data, raw(mbi, 48));
    EXPECT_EQ(b.basic_mem_lower_kib, 639u);
    EXPECT_EQ(b.basic_mem_upper_kib, 523264u);

    ASSERT_EQ(b.module_count, 2u);
    EXPECT_EQ(b.modules[0].start, 0x200000u);
    EXPECT_EQ(b.modules[0].end, 0x300000u);
    EXPECT_EQ(str(b.modules[0].cmdline), "guest name=a");
    EXPECT_EQ(b.modules[1].start, 0x300000u);
    EXPECT_EQ(b.modules[1].end, 0x300000u);
    EXPECT_TRUE(b.modules[1].cmdline.empty());

    ASSERT_EQ(b.memory_count, 3u);
    for (uint32_t i = 0; i < 3; ++i) {
        EXPECT_EQ(b.memory[i].base, 0x100000ull * i);
        EXPECT_EQ(b.memory[i].length, 0x1000u + i);
        EXPECT_EQ(b.memory[i].type, i + 1);
    }

    ASSERT_TRUE(b.has_framebuffer);
    EXPECT_EQ(b.framebuffer.address, 0xfd000000u);
    EXPECT_EQ(b.framebuffer.pitch, 4096u);
    EXPECT_EQ(b.framebuffer.width, 1024u);
    EXPECT_EQ(b.framebuffer.height, 768u);
    EXPECT_EQ(b.framebuffer.bpp, 32);
    EXPECT_EQ(b.framebuffer.type, 1);
    EXPECT_EQ(b.framebuffer.red_position, 16);
    EXPECT_EQ(b.framebuffer.red_size, 8);
    EXPECT_EQ(b.framebuffer.green_position, 8);
    EXPECT_EQ(b.framebuffer.green_size, 8);
    EXPECT_EQ(b.framebuffer.blue_position, 0);
    EXPECT_EQ(b.framebuffer.blue_size, 8);

    ASSERT_NE(b.rsdp, nullptr);
    EXPECT_EQ(b.rsdp_length, 20u);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.rsdp), 11), "RSD PTR OLD");
    EXPECT_TRUE(b.booted_from_efi);
}

TEST(Multiboot2, IndexedFramebufferHasNoColorFields)
{
    Bytes fb;
    fb.u64(0xa0000).u32(320).u32(320).u32(200).u8(8).u8(0).u16(0).u16(256).u16(0);
    fb.fill(6, 0x77); // two palette entries
    auto p = parse(MbiBuilder().tag(8, fb).end_tag().build());
    ASSERT_EQ(p.error, nullptr) << p.error;
    ASSERT_TRUE(p.info->has_framebuffer);
    EXPECT_EQ(p.info->framebuffer.type, 0);
    EXPECT_EQ(p.info->framebuffer.bpp, 8);
    EXPECT_EQ(p.info->framebuffer.height, 200u);
    EXPECT_EQ(p.info->framebuffer.red_position, 0);
    EXPECT_EQ(p.info->framebuffer.blue_size, 0);
}

TEST(Multiboot2, PrefersNewRsdpWhateverTheOrder)
{
    for (bool new_first : {true, false}) {
        MbiBuilder builder;
        if (new_first) builder.tag(15, rsdp_payload("NEW", 36)).tag(14, rsdp_payload("OLD", 20));
        else builder.tag(14, rsdp_payload("OLD", 20)).tag(15, rsdp_payload("NEW", 36));
        auto mbi = builder.end_tag().build();
        auto p = parse(mbi);
        ASSERT_EQ(p.error, nullptr) << p.error;
        ASSERT_NE(p.info->rsdp, nullptr);
        EXPECT_EQ(p.info->rsdp_length, 36u);
        EXPECT_EQ(std::string(reinterpret_cast<const char*>(p.info->rsdp), 11), "RSD PTR NEW");
        EXPECT_FALSE(p.info->booted_from_efi);
    }
}

TEST(Multiboot2, EfiDetectedFromAnyEfiTag)
{
    for (uint32_t type : {11u, 12u, 17u, 18u, 19u, 20u}) {
        Bytes payload;
        if (type == 11 || type == 19) payload.u32(0x1234);
        if (type == 12 || type == 20) payload.u64(0x1234);
        if (type == 17) payload.u32(48).u32(1).fill(48, 0);
        auto p = parse(MbiBuilder().tag(type, payload).end_tag().build());
        ASSERT_EQ(p.error, nullptr) << p.error;
        EXPECT_TRUE(p.info->booted_from_efi) << "tag " << type;
    }
}

TEST(Multiboot2, LargerMemoryMapEntriesReadByTheirFirstFields)
{
    auto p = parse(MbiBuilder().tag(6, mmap_payload(40, 2)).end_tag().build());
    ASSERT_EQ(p.error, nullptr) << p.error;
    ASSERT_EQ(p.info->memory_count, 2u);
    EXPECT_EQ(p.info->memory[1].base, 0x100000u);
    EXPECT_EQ(p.info->memory[1].length, 0x1001u);
    EXPECT_EQ(p.info->memory[1].type, 2u);
}

TEST(Multiboot2, ExactlyMaxRegionsAndModulesFit)
{
    MbiBuilder builder;
    builder.tag(6, mmap_payload(24, 256));
    for (uint32_t i = 0; i < 32; ++i) builder.tag(3, module_payload(i * 0x1000, i * 0x1000 + 1, "m"));
    auto p = parse(builder.end_tag().build());
    ASSERT_EQ(p.error, nullptr) << p.error;
    EXPECT_EQ(p.info->memory_count, 256u);
    EXPECT_EQ(p.info->memory[255].type, 255u % 5 + 1);
    EXPECT_EQ(p.info->module_count, 32u);
    EXPECT_EQ(p.info->modules[31].start, 31u * 0x1000);
}

TEST(Multiboot2, LaterMemoryMapReplacesEarlier)
{
    auto p = parse(MbiBuilder().tag(6, mmap_payload(24, 3)).tag(6, mmap_payload(24, 1)).end_tag().build());
    ASSERT_EQ(p.error, nullptr) << p.error;
    EXPECT_EQ(p.info->memory_count, 1u);
}

TEST(Multiboot2, StopsAtEndTagEvenIfTotalSizeIsLarger)
{
    // Garbage after the end tag is never looked at.
    auto mbi = MbiBuilder().end_tag().tag(1, Bytes{}.str("x", false), 4).build();
    auto p = parse(mbi);
    ASSERT_EQ(p.error, nullptr) << p.error;
    EXPECT_TRUE(p.info->cmdline.empty());
}

TEST(Multiboot2, ErrorMessageLivesInBootInfo)
{
    auto mbi = MbiBuilder().build(12);
    auto p = parse(mbi);
    EXPECT_EQ(p.error, p.info->error);
}

// ---- malformed MBIs ---------------------------------------------------------------------------

const char* error_of(const std::vector<uint64_t>& mbi)
{
    static mb2::BootInfo info;
    return mb2::parse(mbi.data(), info);
}

TEST(Multiboot2Errors, NullPointer)
{
    auto info = std::make_unique<mb2::BootInfo>();
    EXPECT_STREQ(mb2::parse(nullptr, *info), "MBI pointer is null");
}

TEST(Multiboot2Errors, MisalignedMbi)
{
    std::vector<uint64_t> words(4, 0);
    const char* misaligned = reinterpret_cast<const char*>(words.data()) + 4;
    char expected[64];
    std::snprintf(expected, sizeof expected, "MBI at %p is not 8-byte aligned", static_cast<const void*>(misaligned));
    auto info = std::make_unique<mb2::BootInfo>();
    EXPECT_STREQ(mb2::parse(misaligned, *info), expected);
}

TEST(Multiboot2Errors, TotalSizeTooSmall)
{
    EXPECT_STREQ(error_of(MbiBuilder().end_tag().build(12)),
                 "MBI total_size 12 is smaller than its 8-byte header plus the 8-byte end tag");
    EXPECT_STREQ(error_of(MbiBuilder().end_tag().build(0)),
                 "MBI total_size 0 is smaller than its 8-byte header plus the 8-byte end tag");
}

TEST(Multiboot2Errors, TotalSizeTooLarge)
{
    EXPECT_STREQ(error_of(MbiBuilder().end_tag().build(0x100001)),
                 "MBI total_size 1048577 exceeds the limit of 1048576");
    EXPECT_STREQ(error_of(MbiBuilder().end_tag().build(0xffffffff)),
                 "MBI total_size 4294967295 exceeds the limit of 1048576");
}

TEST(Multiboot2Errors, TruncatedBeforeEndTag)
{
    // The MBI claims to end right after the command line tag.
    auto mbi = MbiBuilder().tag(1, Bytes{}.str("abc")).end_tag().build(8 + 16);
    EXPECT_STREQ(error_of(mbi), "MBI has no end tag within its total_size 24");
}

TEST(Multiboot2Errors, MissingEndTag)
{
    EXPECT_STREQ(error_of(MbiBuilder().tag(4, Bytes{}.u32(1).u32(2)).build()),
                 "MBI has no end tag within its total_size 24");
}

TEST(Multiboot2Errors, LastTagPaddingReachesTotalSize)
{
    // total_size ends mid-padding of the last tag: no room left for an end tag.
    auto mbi = MbiBuilder().tag(1, Bytes{}.str("abc")).end_tag().build(8 + 12);
    EXPECT_STREQ(error_of(mbi), "MBI has no end tag within its total_size 20");
}

TEST(Multiboot2Errors, TagRunsPastEnd)
{
    auto mbi = MbiBuilder().tag(6, mmap_payload(24, 1), 64).end_tag().build();
    EXPECT_STREQ(error_of(mbi), "tag 6 at offset 8 runs past the end of the MBI (size 64, total_size 56)");
}

TEST(Multiboot2Errors, TagSizeSmallerThanHeader)
{
    EXPECT_STREQ(error_of(MbiBuilder().tag(1, Bytes{}, 4).end_tag().build()),
                 "tag 1 at offset 8 has size 4, smaller than its 8-byte header");
    EXPECT_STREQ(error_of(MbiBuilder().tag(7, Bytes{}, 0).end_tag().build()),
                 "tag 7 at offset 8 has size 0, smaller than its 8-byte header");
}

TEST(Multiboot2Errors, EndTagWithWrongSize)
{
    EXPECT_STREQ(error_of(MbiBuilder().tag(0, Bytes{}.u64(0), 16).build()),
                 "end tag at offset 8 has size 16, not 8");
}

TEST(Multiboot2Errors, TagsBelowTheirMinimumSize)
{
    EXPECT_STREQ(error_of(MbiBuilder().tag(1, Bytes{}).end_tag().build()),
                 "command line tag (type 1) has size 8, smaller than its minimum 9");
    EXPECT_STREQ(error_of(MbiBuilder().tag(3, Bytes{}.u32(0).u32(0)).end_tag().build()),
                 "module tag (type 3) has size 16, smaller than its minimum 17");
    EXPECT_STREQ(error_of(MbiBuilder().tag(4, Bytes{}.u32(0)).end_tag().build()),
                 "basic memory tag (type 4) has size 12, smaller than its minimum 16");
    EXPECT_STREQ(error_of(MbiBuilder().tag(6, Bytes{}.u32(24)).end_tag().build()),
                 "memory map tag (type 6) has size 12, smaller than its minimum 16");
    EXPECT_STREQ(error_of(MbiBuilder().tag(8, Bytes{}.u64(0).u32(0)).end_tag().build()),
                 "framebuffer tag (type 8) has size 20, smaller than its minimum 30");
    EXPECT_STREQ(error_of(MbiBuilder().tag(14, rsdp_payload("OLD", 19)).end_tag().build()),
                 "old ACPI RSDP tag (type 14) has size 27, smaller than its minimum 28");
    EXPECT_STREQ(error_of(MbiBuilder().tag(15, rsdp_payload("NEW", 20)).end_tag().build()),
                 "new ACPI RSDP tag (type 15) has size 28, smaller than its minimum 44");
}

TEST(Multiboot2Errors, RgbFramebufferWithoutColorFields)
{
    Bytes fb;
    fb.u64(0xfd000000).u32(4096).u32(1024).u32(768).u8(32).u8(1).u16(0);
    EXPECT_STREQ(error_of(MbiBuilder().tag(8, fb).end_tag().build()),
                 "framebuffer tag of RGB type has size 32, smaller than the 38 that hold its color fields");
}

TEST(Multiboot2Errors, MemoryMapEntrySizeTooSmall)
{
    Bytes b;
    b.u32(16).u32(0).u64(0).u64(0x1000);
    EXPECT_STREQ(error_of(MbiBuilder().tag(6, b).end_tag().build()), "memory map entry_size 16 is smaller than 24");
    EXPECT_STREQ(error_of(MbiBuilder().tag(6, Bytes{}.u32(0).u32(0)).end_tag().build()),
                 "memory map entry_size 0 is smaller than 24");
}

TEST(Multiboot2Errors, MemoryMapPartialEntry)
{
    Bytes b = mmap_payload(24, 2);
    b.data.resize(b.data.size() - 8);
    EXPECT_STREQ(error_of(MbiBuilder().tag(6, b).end_tag().build()),
                 "memory map tag size 56 is not 16 plus a whole number of 24-byte entries");
}

TEST(Multiboot2Errors, TooManyMemoryRegions)
{
    EXPECT_STREQ(error_of(MbiBuilder().tag(6, mmap_payload(24, 257)).end_tag().build()),
                 "more than 256 memory regions (memory map has 257)");
}

TEST(Multiboot2Errors, TooManyModules)
{
    MbiBuilder builder;
    for (uint32_t i = 0; i < 33; ++i) builder.tag(3, module_payload(0, 1, ""));
    EXPECT_STREQ(error_of(builder.end_tag().build()), "more than 32 modules");
}

TEST(Multiboot2Errors, ModuleEndsBeforeItStarts)
{
    auto mbi = MbiBuilder()
                   .tag(3, module_payload(0x1000, 0x2000, "a"))
                   .tag(3, module_payload(0x2000, 0x3000, "b"))
                   .tag(3, module_payload(0x5000, 0x4fff, "c"))
                   .end_tag()
                   .build();
    EXPECT_STREQ(error_of(mbi), "module 2 ends (0x4fff) before it starts (0x5000)");
}

TEST(Multiboot2Errors, StringsNotTerminatedWithinTheirTag)
{
    // The padding after the tag holds a zero byte: it must not count as the terminator.
    Bytes unterminated = Bytes{}.str("abc", false);
    auto with_zero_padding = [](uint32_t type, const Bytes& payload) {
        Bytes padded = payload;
        padded.fill(8 - (8 + payload.data.size()) % 8, 0);
        return MbiBuilder().tag(type, padded, int64_t(8 + payload.data.size())).end_tag().build();
    };
    EXPECT_STREQ(error_of(with_zero_padding(1, unterminated)),
                 "command line tag (type 1) string is not NUL-terminated within the tag");
    EXPECT_STREQ(error_of(with_zero_padding(2, unterminated)),
                 "boot loader name tag (type 2) string is not NUL-terminated within the tag");
    EXPECT_STREQ(error_of(with_zero_padding(3, Bytes{}.u32(0).u32(1).str("abc", false))),
                 "module 0 command line is not NUL-terminated within its tag");
}

TEST(Multiboot2Errors, StringStopsAtFirstNul)
{
    auto mbi = MbiBuilder().tag(1, Bytes{}.str("ab").str("cd")).end_tag().build();
    auto p = parse(mbi);
    ASSERT_EQ(p.error, nullptr) << p.error;
    EXPECT_EQ(str(p.info->cmdline), "ab");
}

} // namespace
