#include "vmx/multiboot_loader.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "boot/multiboot2.hpp"
#include "vmx/guest_memory_map.hpp"

namespace {

using multiboot::LoadRequest;
using multiboot::LoadResult;
using multiboot::ModuleImage;
using multiboot::Protocol;
using Image = std::vector<uint8_t>;

constexpr uint64_t MiB = 1024 * 1024;

// ---- little-endian byte builders ------------------------------------------------------------

void put(Image& b, size_t off, uint64_t v, int bytes)
{
    if (b.size() < off + bytes) b.resize(off + bytes);
    for (int i = 0; i < bytes; ++i) b[off + i] = uint8_t(v >> (8 * i));
}
void put16(Image& b, size_t off, uint64_t v) { put(b, off, v, 2); }
void put32(Image& b, size_t off, uint64_t v) { put(b, off, v, 4); }
void put64(Image& b, size_t off, uint64_t v) { put(b, off, v, 8); }
void put_bytes(Image& b, size_t off, const Image& data)
{
    if (b.size() < off + data.size()) b.resize(off + data.size());
    std::copy(data.begin(), data.end(), b.begin() + off);
}

Image pattern(size_t n, uint8_t seed)
{
    Image v(n);
    for (size_t i = 0; i < n; ++i) v[i] = uint8_t(seed + i * 7 + (i >> 8));
    return v;
}

// Multiboot v1 header (0.6.96 §3.1.1): magic, flags, checksum, then the address fields when given.
struct AddressFields {
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

Image mb1(uint32_t flags, std::optional<AddressFields> a = std::nullopt)
{
    Image h;
    put32(h, 0, multiboot::kV1HeaderMagic);
    put32(h, 4, flags);
    put32(h, 8, uint32_t(0) - multiboot::kV1HeaderMagic - flags);
    if (a) {
        put32(h, 12, a->header_addr);
        put32(h, 16, a->load_addr);
        put32(h, 20, a->load_end_addr);
        put32(h, 24, a->bss_end_addr);
        put32(h, 28, a->entry_addr);
    }
    return h;
}

// A Multiboot2 header tag: type, flags, size, payload (u32 words), padded to 8.
Image tag(uint16_t type, uint16_t flags, const std::vector<uint32_t>& payload, int64_t size_override = -1)
{
    Image t;
    put16(t, 0, type);
    put16(t, 2, flags);
    put32(t, 4, size_override >= 0 ? uint64_t(size_override) : 8 + 4 * payload.size());
    for (size_t i = 0; i < payload.size(); ++i) put32(t, 8 + 4 * i, payload[i]);
    t.resize((t.size() + 7) / 8 * 8, 0);
    return t;
}

// Multiboot2 header (§3.1.1): magic, architecture, header_length, checksum, tags, end tag.
Image mb2(const std::vector<Image>& tags, uint32_t architecture = 0, bool end_tag = true)
{
    Image h(16);
    for (const Image& t : tags) h.insert(h.end(), t.begin(), t.end());
    if (end_tag) {
        Image e = tag(0, 0, {});
        h.insert(h.end(), e.begin(), e.end());
    }
    uint32_t length = uint32_t(h.size());
    put32(h, 0, multiboot::kV2HeaderMagic);
    put32(h, 4, architecture);
    put32(h, 8, length);
    put32(h, 12, uint32_t(0) - multiboot::kV2HeaderMagic - architecture - length);
    return h;
}

// ---- ELF builder -------------------------------------------------------------------------------

struct Seg {
    Seg(uint64_t p, Image d, uint64_t m) : paddr(p), data(std::move(d)), memsz(m) {}
    uint64_t paddr;
    Image data;
    uint64_t memsz;
    std::optional<uint64_t> vaddr; // default: paddr
    uint32_t type = 1;             // PT_LOAD
    std::optional<uint64_t> offset_override, filesz_override;
};

struct Elf {
    bool is64 = false;
    uint64_t entry = 0x100010;
    std::vector<Seg> segs;
    Image mb_header; // placed at mb_offset
    size_t mb_offset = 0x400;
    std::optional<uint16_t> machine, type;
};

size_t ehdr_size(bool is64) { return is64 ? 64 : 52; }
size_t phdr_size(bool is64) { return is64 ? 56 : 32; }
size_t phdr_offset(const Elf& e, size_t i) { return ehdr_size(e.is64) + i * phdr_size(e.is64); }

Image build(const Elf& e)
{
    Image b(0x1000, 0);
    b[0] = 0x7f, b[1] = 'E', b[2] = 'L', b[3] = 'F';
    b[4] = e.is64 ? 2 : 1; // class
    b[5] = 1;              // little-endian
    b[6] = 1;              // EV_CURRENT
    put16(b, 16, e.type.value_or(2));
    put16(b, 18, e.machine.value_or(e.is64 ? 62 : 3));
    put32(b, 20, 1);
    size_t phoff = ehdr_size(e.is64);
    if (e.is64) {
        put64(b, 24, e.entry);
        put64(b, 32, phoff);
        put16(b, 52, 64);
        put16(b, 54, 56);
        put16(b, 56, e.segs.size());
    } else {
        put32(b, 24, e.entry);
        put32(b, 28, phoff);
        put16(b, 40, 52);
        put16(b, 42, 32);
        put16(b, 44, e.segs.size());
    }
    if (!e.mb_header.empty()) put_bytes(b, e.mb_offset, e.mb_header);
    size_t data_offset = std::max<size_t>(0x1000, (b.size() + 15) / 16 * 16);
    for (size_t i = 0; i < e.segs.size(); ++i) {
        const Seg& s = e.segs[i];
        uint64_t offset = s.offset_override.value_or(data_offset);
        uint64_t filesz = s.filesz_override.value_or(s.data.size());
        if (!s.data.empty()) put_bytes(b, data_offset, s.data);
        data_offset += (s.data.size() + 15) / 16 * 16;
        size_t p = phdr_offset(e, i);
        uint64_t vaddr = s.vaddr.value_or(s.paddr);
        if (e.is64) {
            put32(b, p, s.type);
            put32(b, p + 4, 7);
            put64(b, p + 8, offset);
            put64(b, p + 16, vaddr);
            put64(b, p + 24, s.paddr);
            put64(b, p + 32, filesz);
            put64(b, p + 40, s.memsz);
            put64(b, p + 48, 0x1000);
        } else {
            put32(b, p, s.type);
            put32(b, p + 4, offset);
            put32(b, p + 8, vaddr);
            put32(b, p + 12, s.paddr);
            put32(b, p + 16, filesz);
            put32(b, p + 20, s.memsz);
            put32(b, p + 24, 7);
            put32(b, p + 28, 0x1000);
        }
    }
    if (b.size() < data_offset) b.resize(data_offset);
    return b;
}

// The usual kernel: text at 1 MiB, data with a bss after it.
Elf standard_elf(bool is64, Image mb_header)
{
    Elf e;
    e.is64 = is64;
    e.entry = 0x100010;
    e.segs.push_back(Seg{0x100000, pattern(0x1000, 1), 0x1000});
    e.segs.push_back(Seg{0x101000, pattern(0x800, 2), 0x3000}); // 0x2800 bytes of bss
    e.mb_header = std::move(mb_header);
    return e;
}

// ---- a guest with RAM, and the loader's call -----------------------------------------------------

struct Guest {
    std::vector<uint8_t> memory;
    GuestRam ram;
    explicit Guest(uint64_t size, uint8_t fill = 0xcc) : memory(size, fill), ram{memory.data(), size} {}

    uint32_t u32(uint64_t gpa) const
    {
        EXPECT_LE(gpa + 4, memory.size());
        if (gpa + 4 > memory.size()) return 0;
        uint32_t v;
        std::memcpy(&v, &memory[gpa], 4);
        return v;
    }
    uint64_t u64(uint64_t gpa) const { return u32(gpa) | uint64_t(u32(gpa + 4)) << 32; }
    std::string string(uint64_t gpa) const
    {
        std::string s;
        while (gpa < memory.size() && memory[gpa]) s += char(memory[gpa++]);
        EXPECT_LT(gpa, memory.size()) << "string runs off the end of RAM";
        return s;
    }
    Image bytes(uint64_t gpa, size_t n) const { return Image(memory.begin() + gpa, memory.begin() + gpa + n); }
};

struct Module {
    Image data;
    std::string cmdline;
};

struct Outcome {
    bool ok;
    LoadResult result;
    std::string error;
};

Outcome load(Guest& g, const Image& image, const std::string& cmdline = "", const std::vector<Module>& modules = {},
             Protocol protocol = Protocol::automatic, const std::string& name = "", const Image* rsdp = nullptr)
{
    std::vector<ModuleImage> list;
    for (const Module& m : modules)
        list.push_back(ModuleImage{m.data.data(), m.data.size(), Str(m.cmdline.data(), m.cmdline.size())});
    LoadRequest r;
    r.ram = g.ram;
    r.image = image.data();
    r.image_size = image.size();
    r.cmdline = Str(cmdline.data(), cmdline.size());
    r.modules = list.data();
    r.module_count = list.size();
    r.protocol = protocol;
    r.guest_name = Str(name.data(), name.size());
    if (rsdp) {
        r.acpi_rsdp = rsdp->data();
        r.acpi_rsdp_length = rsdp->size();
    }
    Outcome o;
    char error[256];
    std::memset(error, 'x', sizeof error);
    o.ok = multiboot::load_multiboot(r, o.result, error, sizeof error);
    o.error = error;
    if (o.ok) {
        EXPECT_EQ(o.error, "");
    }
    return o;
}

std::string load_error(const Image& image, uint64_t ram = 16 * MiB, Protocol protocol = Protocol::automatic)
{
    Guest g(ram);
    Outcome o = load(g, image, "", {}, protocol);
    EXPECT_FALSE(o.ok);
    return o.error;
}

// ---- the guest's view of the boot information ----------------------------------------------------

struct MmapEntry {
    uint64_t base, length;
    uint32_t type;
    bool operator==(const MmapEntry&) const = default;
};
struct ModuleEntry {
    uint32_t start, end;
    std::string cmdline;
    bool operator==(const ModuleEntry&) const = default;
};
struct Info {
    uint32_t flags = 0, mem_lower = 0, mem_upper = 0;
    std::string cmdline, loader;
    std::vector<ModuleEntry> modules;
    std::vector<MmapEntry> mmap;
    std::vector<uint32_t> tag_order; // v2
    uint32_t total_size = 0;         // v2
    Image rsdp;                      // v2 tag 15
};

// Multiboot v1 (0.6.96 §3.3), read the way a kernel does: only fields whose flag is set.
Info walk_v1(const Guest& g, uint32_t mbi)
{
    Info info;
    info.flags = g.u32(mbi);
    if (info.flags & 1) info.mem_lower = g.u32(mbi + 4), info.mem_upper = g.u32(mbi + 8);
    if (info.flags & 4) info.cmdline = g.string(g.u32(mbi + 16));
    if (info.flags & 8) {
        uint32_t count = g.u32(mbi + 20), addr = g.u32(mbi + 24);
        for (uint32_t i = 0; i < count; ++i)
            info.modules.push_back({g.u32(addr + 16 * i), g.u32(addr + 16 * i + 4), g.string(g.u32(addr + 16 * i + 8))});
    }
    if (info.flags & 64) {
        uint32_t length = g.u32(mbi + 44), addr = g.u32(mbi + 48);
        // "size" precedes each entry and does not count itself.
        for (uint32_t p = addr; p < addr + length; p += g.u32(p) + 4) {
            EXPECT_EQ(g.u32(p), 20u);
            info.mmap.push_back({g.u64(p + 4), g.u64(p + 12), g.u32(p + 20)});
        }
    }
    if (info.flags & 512) info.loader = g.string(g.u32(mbi + 64));
    return info;
}

// Multiboot2 (§3.6): 8-aligned start, tags 8-aligned, end tag last.
Info walk_v2(const Guest& g, uint32_t mbi)
{
    Info info;
    EXPECT_EQ(mbi % 8, 0u);
    info.total_size = g.u32(mbi);
    EXPECT_EQ(g.u32(mbi + 4), 0u);
    uint32_t p = mbi + 8;
    for (;;) {
        EXPECT_EQ(p % 8, 0u);
        EXPECT_LE(p + 8, mbi + info.total_size);
        if (p + 8 > mbi + info.total_size) break;
        uint32_t type = g.u32(p), size = g.u32(p + 4);
        info.tag_order.push_back(type);
        if (type == 0) {
            EXPECT_EQ(size, 8u);
            EXPECT_EQ(p + 8, mbi + info.total_size);
            break;
        }
        switch (type) {
        case 1:
            info.cmdline = g.string(p + 8);
            EXPECT_EQ(size, 8 + info.cmdline.size() + 1);
            break;
        case 2:
            info.loader = g.string(p + 8);
            EXPECT_EQ(size, 8 + info.loader.size() + 1);
            break;
        case 3: {
            ModuleEntry m{g.u32(p + 8), g.u32(p + 12), g.string(p + 16)};
            EXPECT_EQ(size, 16 + m.cmdline.size() + 1);
            info.modules.push_back(m);
            break;
        }
        case 4:
            EXPECT_EQ(size, 16u);
            info.mem_lower = g.u32(p + 8), info.mem_upper = g.u32(p + 12);
            break;
        case 6: {
            uint32_t entry_size = g.u32(p + 8);
            EXPECT_EQ(entry_size, 24u);
            EXPECT_EQ(g.u32(p + 12), 0u); // entry_version
            for (uint32_t e = p + 16; e + entry_size <= p + size; e += entry_size) {
                info.mmap.push_back({g.u64(e), g.u64(e + 8), g.u32(e + 16)});
                EXPECT_EQ(g.u32(e + 20), 0u);
            }
            break;
        }
        case 15:
            EXPECT_GE(size, 8u);
            info.rsdp = g.bytes(p + 8, size - 8);
            break;
        default: ADD_FAILURE() << "unexpected tag " << type;
        }
        p += (size + 7) / 8 * 8;
    }
    return info;
}

std::vector<MmapEntry> expected_mmap(uint64_t ram)
{
    return {{0, 0x9F000, 1}, {0x9F000, 0x1000, 2}, {0xA0000, 0x60000, 2}, {0x100000, ram - 0x100000, 1}};
}

bool all_bytes(const Guest& g, uint64_t from, uint64_t to, uint8_t v)
{
    for (uint64_t a = from; a < to; ++a)
        if (g.memory[a] != v) return false;
    return true;
}

void expect_kernel_loaded(const Guest& g)
{
    EXPECT_EQ(g.bytes(0x100000, 0x1000), pattern(0x1000, 1));
    EXPECT_EQ(g.bytes(0x101000, 0x800), pattern(0x800, 2));
    EXPECT_TRUE(all_bytes(g, 0x101800, 0x104000, 0)) << "bss not zeroed";
}

// ---- successful loads ----------------------------------------------------------------------------

TEST(MultibootLoader, Elf32V1LoadsSegmentsAndInfo)
{
    Guest g(16 * MiB);
    std::vector<Module> mods = {{pattern(5000, 3), "mod one"}, {pattern(0x2000, 4), ""}};
    Outcome o = load(g, build(standard_elf(false, mb1(0x3))), "console=ttyS0 debug", mods);
    ASSERT_TRUE(o.ok) << o.error;
    const LoadResult& r = o.result;
    EXPECT_EQ(r.protocol, Protocol::v1);
    EXPECT_EQ(r.entry, 0x100010u);
    EXPECT_EQ(r.eax_magic, 0x2BADB002u);
    EXPECT_EQ(r.ebx_info, 0x9000u);
    EXPECT_EQ(r.kernel_start, 0x100000u);
    EXPECT_EQ(r.kernel_end, 0x104000u);
    EXPECT_EQ(r.warning, nullptr);
    expect_kernel_loaded(g);
    EXPECT_EQ(g.u32(0x104000 - 4), 0u);

    Info info = walk_v1(g, r.ebx_info);
    EXPECT_EQ(info.flags, 1u | 4 | 8 | 64 | 512);
    EXPECT_EQ(info.mem_lower, 636u); // up to the ACPI region
    EXPECT_EQ(info.mem_upper, (16 * MiB - MiB) / 1024);
    EXPECT_EQ(info.cmdline, "console=ttyS0 debug");
    EXPECT_EQ(info.loader, "Matryoshka");
    EXPECT_EQ(info.mmap, expected_mmap(16 * MiB));
    // Modules follow the kernel, page-aligned, end exclusive.
    std::vector<ModuleEntry> want = {{0x104000, 0x104000 + 5000, "mod one"}, {0x106000, 0x108000, ""}};
    EXPECT_EQ(info.modules, want);
    EXPECT_EQ(g.bytes(0x104000, 5000), mods[0].data);
    EXPECT_EQ(g.bytes(0x106000, 0x2000), mods[1].data);
    EXPECT_EQ(r.highest_used, 0x108000u);
}

// The v1 block byte for byte: structure, mmap, module list, strings, in that order.
TEST(MultibootLoader, V1InfoByteExact)
{
    Guest g(32 * MiB);
    std::vector<Module> mods = {{pattern(100, 5), "m"}};
    Outcome o = load(g, build(standard_elf(false, mb1(0))), "ab", mods);
    ASSERT_TRUE(o.ok) << o.error;
    Image want(120, 0);
    put32(want, 0, 0x24d);           // flags: mem, cmdline, mods, mmap, loader name
    put32(want, 4, 636);             // mem_lower: up to the ACPI region
    put32(want, 8, 31 * 1024);       // mem_upper
    put32(want, 16, 0x9000 + 232);   // cmdline
    put32(want, 20, 1);              // mods_count
    put32(want, 24, 0x9000 + 216);   // mods_addr
    put32(want, 44, 96);             // mmap_length
    put32(want, 48, 0x9000 + 120);   // mmap_addr
    put32(want, 64, 0x9000 + 235);   // boot_loader_name
    const MmapEntry map[] = {{0, 0x9F000, 1}, {0x9F000, 0x1000, 2}, {0xA0000, 0x60000, 2}, {0x100000, 31 * MiB, 1}};
    for (const MmapEntry& m : map) {
        size_t at = want.size();
        put32(want, at, 20);
        put64(want, at + 4, m.base);
        put64(want, at + 12, m.length);
        put32(want, at + 20, m.type);
    }
    put32(want, 216, 0x104000);
    put32(want, 220, 0x104000 + 100);
    put32(want, 224, 0x9000 + 246);
    put32(want, 228, 0);
    for (char c : std::string("ab\0Matryoshka\0m\0", 16)) want.push_back(uint8_t(c));
    ASSERT_EQ(want.size(), 248u);
    EXPECT_EQ(g.bytes(0x9000, want.size()), want);
    EXPECT_EQ(g.memory[0x9000 + want.size()], 0xcc);
}

TEST(MultibootLoader, Elf64V2LoadsSegmentsAndInfo)
{
    Guest g(64 * MiB);
    std::vector<Module> mods = {{pattern(0x1234, 6), "initrd root=/dev/ram"}, {Image{}, "empty"}};
    Image header = mb2({tag(1, 0, {1, 2, 3, 4, 6}), tag(6, 0, {})});
    Outcome o = load(g, build(standard_elf(true, header)), "quiet", mods);
    ASSERT_TRUE(o.ok) << o.error;
    const LoadResult& r = o.result;
    EXPECT_EQ(r.protocol, Protocol::v2);
    EXPECT_EQ(r.entry, 0x100010u);
    EXPECT_EQ(r.eax_magic, 0x36d76289u);
    EXPECT_EQ(r.ebx_info, 0x9000u);
    expect_kernel_loaded(g);

    Info info = walk_v2(g, r.ebx_info);
    EXPECT_EQ(info.tag_order, (std::vector<uint32_t>{1, 2, 3, 3, 4, 6, 0}));
    EXPECT_EQ(info.cmdline, "quiet");
    EXPECT_EQ(info.loader, "Matryoshka");
    EXPECT_EQ(info.mem_lower, 636u); // up to the ACPI region
    EXPECT_EQ(info.mem_upper, 63u * 1024);
    EXPECT_EQ(info.mmap, expected_mmap(64 * MiB));
    std::vector<ModuleEntry> want = {{0x104000, 0x105234, "initrd root=/dev/ram"}, {0x106000, 0x106000, "empty"}};
    EXPECT_EQ(info.modules, want);
    EXPECT_EQ(g.bytes(0x104000, 0x1234), mods[0].data);
    EXPECT_EQ(r.highest_used, 0x106000u); // the empty module's end counts: the guest sees it listed

    // The hypervisor's own MBI parser reads the same thing.
    auto parsed = std::make_unique<mb2::BootInfo>();
    const char* error = mb2::parse(&g.memory[r.ebx_info], *parsed);
    ASSERT_EQ(error, nullptr) << error;
    EXPECT_EQ(parsed->total_size, info.total_size);
    EXPECT_EQ(std::string(parsed->cmdline.data, parsed->cmdline.size), "quiet");
    EXPECT_EQ(std::string(parsed->bootloader_name.data, parsed->bootloader_name.size), "Matryoshka");
    ASSERT_EQ(parsed->module_count, 2u);
    EXPECT_EQ(parsed->modules[0].start, 0x104000u);
    EXPECT_EQ(parsed->modules[1].end, 0x106000u);
    ASSERT_EQ(parsed->memory_count, 4u);
    EXPECT_EQ(parsed->memory[1].base, 0x9F000u);
    EXPECT_EQ(parsed->memory[1].type, 2u);
    EXPECT_EQ(parsed->memory[3].length, 63 * MiB);
    EXPECT_EQ(parsed->basic_mem_lower_kib, 636u);
    EXPECT_EQ(parsed->rsdp, nullptr); // no RSDP in the request, no tag 15
    EXPECT_EQ(parsed->basic_mem_upper_kib, 63u * 1024);
}

TEST(MultibootLoader, V2InfoByteExact)
{
    Guest g(8 * MiB);
    std::vector<Module> mods = {{pattern(16, 7), "x"}};
    Outcome o = load(g, build(standard_elf(false, mb2({}))), "", mods);
    ASSERT_TRUE(o.ok) << o.error;
    Image want;
    put32(want, 8, 1), put32(want, 12, 9);              // cmdline "" (size 9, padded to 16)
    put32(want, 24, 2), put32(want, 28, 19);            // loader name
    for (char c : std::string("Matryoshka")) want.push_back(uint8_t(c));
    want.resize(48, 0);
    put32(want, 48, 3), put32(want, 52, 18);            // module
    put32(want, 56, 0x104000), put32(want, 60, 0x104010);
    want.push_back('x');
    want.resize(72, 0);
    put32(want, 72, 4), put32(want, 76, 16), put32(want, 80, 636), put32(want, 84, 7 * 1024);
    put32(want, 88, 6), put32(want, 92, 16 + 96), put32(want, 96, 24), put32(want, 100, 0);
    const MmapEntry map[] = {{0, 0x9F000, 1}, {0x9F000, 0x1000, 2}, {0xA0000, 0x60000, 2}, {0x100000, 7 * MiB, 1}};
    for (size_t i = 0; i < 4; ++i) {
        put64(want, 104 + 24 * i, map[i].base);
        put64(want, 112 + 24 * i, map[i].length);
        put32(want, 120 + 24 * i, map[i].type);
        put32(want, 124 + 24 * i, 0);
    }
    Image without_rsdp = want;
    put32(without_rsdp, 200, 0), put32(without_rsdp, 204, 8); // end tag
    put32(without_rsdp, 0, 208), put32(without_rsdp, 4, 0);
    ASSERT_EQ(without_rsdp.size(), 208u);
    EXPECT_EQ(g.bytes(0x9000, without_rsdp.size()), without_rsdp);

    // With an RSDP copy: tag 15 (8 + 36 bytes, padded to 48) between the memory map and the end tag.
    Guest g2(8 * MiB);
    Image rsdp = pattern(36, 8);
    o = load(g2, build(standard_elf(false, mb2({}))), "", mods, Protocol::automatic, "", &rsdp);
    ASSERT_TRUE(o.ok) << o.error;
    Image with_rsdp = want;
    put32(with_rsdp, 200, 15), put32(with_rsdp, 204, 8 + 36);
    put_bytes(with_rsdp, 208, rsdp);
    with_rsdp.resize(248, 0);
    put32(with_rsdp, 248, 0), put32(with_rsdp, 252, 8); // end tag
    put32(with_rsdp, 0, 256), put32(with_rsdp, 4, 0);
    ASSERT_EQ(with_rsdp.size(), 256u);
    EXPECT_EQ(g2.bytes(0x9000, with_rsdp.size()), with_rsdp);
}

TEST(MultibootLoader, AcpiRsdpTag)
{
    Image rsdp = pattern(36, 9);
    Image header = mb2({tag(1, 0, {1, 6, 15})}); // tag 15 required: given when the request has an RSDP
    Guest g(16 * MiB);
    Outcome o = load(g, build(standard_elf(true, header)), "c", {}, Protocol::automatic, "", &rsdp);
    ASSERT_TRUE(o.ok) << o.error;
    Info info = walk_v2(g, o.result.ebx_info);
    EXPECT_EQ(info.tag_order, (std::vector<uint32_t>{1, 2, 4, 6, 15, 0}));
    EXPECT_EQ(info.rsdp, rsdp);
    auto parsed = std::make_unique<mb2::BootInfo>();
    const char* error = mb2::parse(&g.memory[o.result.ebx_info], *parsed);
    ASSERT_EQ(error, nullptr) << error;
    ASSERT_EQ(parsed->rsdp_length, 36u);
    EXPECT_EQ(Image(parsed->rsdp, parsed->rsdp + parsed->rsdp_length), rsdp);

    // A 20-byte (ACPI 1.0) copy: tag size 28, padded to 32.
    Image old = pattern(20, 10);
    Guest g20(16 * MiB);
    o = load(g20, build(standard_elf(true, mb2({}))), "", {}, Protocol::automatic, "", &old);
    ASSERT_TRUE(o.ok) << o.error;
    info = walk_v2(g20, o.result.ebx_info);
    EXPECT_EQ(info.rsdp, old);

    // Without an RSDP a required tag 15 is refused; v1 has no place for it and ignores it.
    EXPECT_EQ(load_error(build(standard_elf(true, header))),
              "Multiboot2 header requires boot information tag 15 (ACPI new RSDP), which this loader does not provide "
              "(it gives command line, boot loader name, modules, basic memory information and memory map)");
    Guest v1(16 * MiB);
    o = load(v1, build(standard_elf(false, mb1(0))), "", {}, Protocol::automatic, "", &rsdp);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(walk_v1(v1, o.result.ebx_info).mmap, expected_mmap(16 * MiB));
    EXPECT_EQ(o.result.highest_used, 0x104000u);

    // With an RSDP, the list of what the loader gives names it.
    Guest g3(16 * MiB);
    o = load(g3, build(standard_elf(true, mb2({tag(1, 0, {14})}))), "", {}, Protocol::automatic, "", &rsdp);
    EXPECT_EQ(o.error, "Multiboot2 header requires boot information tag 14 (ACPI old RSDP), which this loader does not "
                       "provide (it gives command line, boot loader name, modules, basic memory information, memory map "
                       "and ACPI new RSDP)");

    // Malformed copies.
    Image image = build(standard_elf(true, mb2({})));
    Image short_rsdp = pattern(19, 1), long_rsdp = pattern(257, 1);
    Guest e(16 * MiB);
    EXPECT_EQ(load(e, image, "", {}, Protocol::automatic, "", &short_rsdp).error,
              "the ACPI RSDP copy of 19 bytes is not 20 to 256 bytes long");
    EXPECT_EQ(load(e, image, "", {}, Protocol::automatic, "", &long_rsdp).error,
              "the ACPI RSDP copy of 257 bytes is not 20 to 256 bytes long");
    LoadRequest r{};
    r.ram = e.ram;
    r.image = image.data();
    r.image_size = image.size();
    r.acpi_rsdp_length = 36;
    LoadResult result;
    char message[128];
    EXPECT_FALSE(multiboot::load_multiboot(r, result, message, sizeof message));
    EXPECT_STREQ(message, "the ACPI RSDP copy is missing");
    EXPECT_TRUE(all_bytes(e, 0, 16 * MiB, 0xcc));
}

// The ACPI region [0x9F000, 0xA0000) is reserved: nothing is loaded or placed there.
TEST(MultibootLoader, AcpiRegionIsNeverUsed)
{
    // A low kernel ending just below it: the boot information (over 4 KiB with this command line)
    // and the module both go above 1 MiB instead of straddling it.
    Elf e;
    e.entry = 0x8000;
    e.segs.push_back(Seg{0x8000, pattern(0x100, 1), 0x96000}); // [0x8000, 0x9E000) covers 0x9000
    e.mb_header = mb1(0);
    Guest g(4 * MiB);
    std::vector<Module> mods = {{pattern(0x800, 3), "m"}};
    std::string cmdline(5000, 'c');
    Outcome o = load(g, build(e), cmdline, mods);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.ebx_info, 0x100000u);
    Info info = walk_v1(g, o.result.ebx_info);
    EXPECT_EQ(info.cmdline, cmdline);
    ASSERT_EQ(info.modules.size(), 1u);
    EXPECT_EQ(info.modules[0].start, 0x9E000u); // the page below the region still fits it
    EXPECT_TRUE(all_bytes(g, 0x9F000, 0x100000, 0xcc));

    // A bigger module no longer fits below the region and moves above the boot information.
    Guest g2(4 * MiB);
    std::vector<Module> big = {{pattern(0x1800, 4), ""}};
    o = load(g2, build(e), cmdline, big);
    ASSERT_TRUE(o.ok) << o.error;
    info = walk_v1(g2, o.result.ebx_info);
    ASSERT_EQ(info.modules.size(), 1u);
    EXPECT_EQ(info.modules[0].start, 0x102000u);
    EXPECT_TRUE(all_bytes(g2, 0x9F000, 0x100000, 0xcc));

    // Segments and flat images there are refused.
    Elf over = standard_elf(false, mb1(0));
    over.segs.push_back(Seg{0x9E800, pattern(16, 5), 0x1000});
    EXPECT_EQ(load_error(build(over)), "ELF program header 2 (0x9e800+0x1000) overlaps the ACPI region [0x9f000, "
                                       "0xa0000), the EBDA that holds the guest's firmware tables");
    Elf inside = standard_elf(false, mb1(0));
    inside.segs.push_back(Seg{0x9FFF0, pattern(16, 5), 16});
    EXPECT_EQ(load_error(build(inside)), "ELF program header 2 (0x9fff0+0x10) overlaps the ACPI region [0x9f000, "
                                         "0xa0000), the EBDA that holds the guest's firmware tables");
    Image flat = pattern(0x800, 6);
    put_bytes(flat, 0x40, mb1(0x10000, AddressFields{0x9F040, 0x9F000, 0, 0, 0x9F000}));
    EXPECT_EQ(load_error(flat), "the image loaded by the Multiboot header address fields (0x9f000+0x800) overlaps the "
                                "ACPI region [0x9f000, 0xa0000), the EBDA that holds the guest's firmware tables");
}

TEST(MultibootLoader, V2PreferredOverV1UnlessAsked)
{
    Elf e = standard_elf(false, mb1(0));
    Image v2 = mb2({});
    put_bytes(e.mb_header, 16, v2); // v1 at 0x400, v2 at 0x410 (8-aligned)
    Image image = build(e);
    Guest g(16 * MiB);
    EXPECT_EQ(load(g, image).result.protocol, Protocol::v2);
    Outcome v1 = load(g, image, "", {}, Protocol::v1);
    ASSERT_TRUE(v1.ok) << v1.error;
    EXPECT_EQ(v1.result.protocol, Protocol::v1);
    EXPECT_EQ(v1.result.eax_magic, 0x2BADB002u);
    Outcome v2only = load(g, build(standard_elf(false, mb1(0))), "", {}, Protocol::v2);
    EXPECT_FALSE(v2only.ok);
    EXPECT_EQ(v2only.error, "no Multiboot2 header (magic 0xe85250d6, 8-byte aligned, in the first 32768 bytes) in the "
                            "10240-byte image");
}

TEST(MultibootLoader, HigherHalfEntryIsTranslated)
{
    Elf e = standard_elf(false, mb1(0));
    e.segs[0].vaddr = 0xC0100000;
    e.segs[1].vaddr = 0xC0101000;
    e.entry = 0xC0100020;
    Guest g(16 * MiB);
    Outcome o = load(g, build(e));
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.entry, 0x100020u);

    Elf e64 = standard_elf(true, mb2({}));
    e64.segs[0].vaddr = 0xFFFFFFFF80100000;
    e64.segs[1].vaddr = 0xFFFFFFFF80101000;
    e64.entry = 0xFFFFFFFF80100040;
    Guest g64(16 * MiB);
    Outcome o64 = load(g64, build(e64));
    ASSERT_TRUE(o64.ok) << o64.error;
    EXPECT_EQ(o64.result.entry, 0x100040u);
}

TEST(MultibootLoader, V2EntryTagOverridesElfEntry)
{
    Elf e = standard_elf(true, mb2({tag(3, 0, {0x100800})}));
    e.entry = 0x5555555555; // not used
    Guest g(16 * MiB);
    Outcome o = load(g, build(e));
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.entry, 0x100800u);

    Elf outside = standard_elf(true, mb2({tag(3, 0, {0x200000})}));
    EXPECT_EQ(load_error(build(outside)),
              "entry address 0x200000 (Multiboot2 entry address tag) is not inside any loaded segment");
}

// a.out kludge: a flat image whose header says where it goes (0.6.96 §3.1.3).
TEST(MultibootLoader, V1AddressFieldsLoadFlatImage)
{
    // The header sits at file offset 0x40; the file from offset 0 goes to 0x200000.
    Image image = pattern(0x3000, 9);
    put_bytes(image, 0x40, mb1(0x10000, AddressFields{0x200040, 0x200000, 0x202000, 0x205000, 0x200100}));
    Guest g(16 * MiB);
    Outcome o = load(g, image, "k");
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.entry, 0x200100u);
    EXPECT_EQ(o.result.kernel_start, 0x200000u);
    EXPECT_EQ(o.result.kernel_end, 0x205000u);
    EXPECT_EQ(g.bytes(0x200000, 0x2000), Image(image.begin(), image.begin() + 0x2000)); // up to load_end_addr
    EXPECT_TRUE(all_bytes(g, 0x202000, 0x205000, 0));                                  // bss
    EXPECT_EQ(g.memory[0x205000], 0xcc);

    // load_end_addr 0: the rest of the file; bss_end_addr 0: no bss. Loading from offset 0x20.
    Image whole = pattern(0x1000, 10);
    put_bytes(whole, 0x40, mb1(0x10000, AddressFields{0x300020, 0x300000, 0, 0, 0x300000}));
    Guest g2(16 * MiB);
    Outcome o2 = load(g2, whole);
    ASSERT_TRUE(o2.ok) << o2.error;
    EXPECT_EQ(g2.bytes(0x300000, 0x1000 - 0x20), Image(whole.begin() + 0x20, whole.end()));
    EXPECT_EQ(o2.result.kernel_end, 0x300000u + 0x1000 - 0x20);
}

TEST(MultibootLoader, V1AddressFieldsWinOverElf)
{
    Elf e = standard_elf(false, {});
    Image image = build(e);
    // Header at 0x400 claims the file from offset 0 loads at 0x400000.
    put_bytes(image, 0x400, mb1(0x10000, AddressFields{0x400400, 0x400000, 0, 0x401000 + 0x2000, 0x400000}));
    Guest g(16 * MiB);
    Outcome o = load(g, image);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.kernel_start, 0x400000u);
    EXPECT_EQ(g.bytes(0x400000, image.size()), image);
    EXPECT_EQ(g.memory[0x100000], 0xcc) << "ELF segments must not be loaded";
}

TEST(MultibootLoader, V2AddressTag)
{
    // header at 0x40; load_addr -1: the file from its beginning, so the header lands at header_addr.
    Image header = mb2({tag(2, 0, {0x200040, 0xFFFFFFFF, 0, 0x203000}), tag(3, 0, {0x200000})});
    Image image = pattern(0x2000, 11);
    put_bytes(image, 0x40, header);
    Guest g(16 * MiB);
    Outcome o = load(g, image);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.kernel_start, 0x200000u);
    EXPECT_EQ(o.result.kernel_end, 0x203000u);
    EXPECT_EQ(g.bytes(0x200000, 0x2000), image);
    EXPECT_TRUE(all_bytes(g, 0x202000, 0x203000, 0));

    Image no_entry = pattern(0x2000, 11);
    put_bytes(no_entry, 0x40, mb2({tag(2, 0, {0x200040, 0x200000, 0, 0})}));
    EXPECT_EQ(load_error(no_entry), "Multiboot2 header has an address tag but no entry address tag");
}

TEST(MultibootLoader, InfoMovesWhenKernelIsAtItsPlace)
{
    Elf e = standard_elf(false, mb1(0));
    e.segs.push_back(Seg{0x8000, pattern(0x100, 12), 0x3000}); // [0x8000, 0xB000) covers 0x9000
    Guest g(16 * MiB);
    std::vector<Module> mods = {{pattern(10, 1), "a"}};
    Outcome o = load(g, build(e), "", mods);
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.ebx_info, 0xB000u);
    EXPECT_EQ(o.result.kernel_start, 0x8000u);
    Info info = walk_v1(g, o.result.ebx_info);
    ASSERT_EQ(info.modules.size(), 1u);
    EXPECT_EQ(info.modules[0].start, 0x104000u);
}

TEST(MultibootLoader, LowKernelAndModulesSkipTheHole)
{
    // A kernel in low memory ending at 0x9F000: the 8 KiB module does not fit below the ACPI
    // region and the hole.
    Elf e;
    e.entry = 0x20000;
    e.segs.push_back(Seg{0x20000, pattern(0x100, 1), 0x7F000});
    e.mb_header = mb1(0);
    Guest g(4 * MiB);
    std::vector<Module> mods = {{pattern(0x2000, 2), ""}};
    Outcome o = load(g, build(e), "", mods);
    ASSERT_TRUE(o.ok) << o.error;
    Info info = walk_v1(g, o.result.ebx_info);
    ASSERT_EQ(info.modules.size(), 1u);
    EXPECT_EQ(info.modules[0].start, 0x100000u);
    EXPECT_EQ(o.result.ebx_info, 0x9000u);
    EXPECT_TRUE(all_bytes(g, 0xA0000, 0x100000, 0xcc));
}

TEST(MultibootLoader, Warnings)
{
    Guest g(16 * MiB);
    Outcome v1 = load(g, build(standard_elf(false, mb1(0x4))));
    ASSERT_TRUE(v1.ok) << v1.error;
    ASSERT_NE(v1.result.warning, nullptr);
    EXPECT_EQ(std::string(v1.result.warning),
              "the Multiboot header asks for a video mode (flags bit 2); ignored, the guest gets no video information");
    Outcome v2 = load(g, build(standard_elf(false, mb2({tag(5, 1, {1024, 768, 32})}))));
    ASSERT_TRUE(v2.ok) << v2.error;
    ASSERT_NE(v2.result.warning, nullptr);
    EXPECT_EQ(std::string(v2.result.warning),
              "the Multiboot2 header asks for a framebuffer (optional tag); ignored, the guest gets none");
}

TEST(MultibootLoader, OptionalTagsAreIgnored)
{
    Image header = mb2({tag(1, 1, {8, 21}), tag(7, 1, {}), tag(9, 1, {0x100000}), tag(42, 1, {1, 2}),
                        tag(10, 0, {0x100000, 0x1000000, 0x1000, 0}), tag(4, 0, {2})});
    Guest g(16 * MiB);
    Outcome o = load(g, build(standard_elf(false, header)));
    ASSERT_TRUE(o.ok) << o.error;
    EXPECT_EQ(o.result.warning, nullptr);
}

TEST(MultibootLoader, GuestNamePrefixesErrors)
{
    Guest g(16 * MiB);
    Elf e = standard_elf(false, mb1(0));
    e.segs[1].paddr = 0x1000000 - 0x1000;
    Outcome o = load(g, build(e), "", {}, Protocol::automatic, "a");
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.error, "guest 'a': ELF program header 1 (0xfff000+0x3000) does not fit in 16 MiB of guest RAM");
}

TEST(MultibootLoader, NothingWrittenOnError)
{
    Guest g(16 * MiB);
    Elf e = standard_elf(false, mb1(0));
    e.segs.push_back(Seg{0x2000000, pattern(16, 1), 16}); // beyond RAM, after two good segments
    std::vector<Module> mods = {{pattern(100, 1), "m"}};
    Outcome o = load(g, build(e), "x", mods);
    EXPECT_FALSE(o.ok);
    EXPECT_TRUE(all_bytes(g, 0, 16 * MiB, 0xcc));
}

// ---- errors -----------------------------------------------------------------------------------------

TEST(MultibootLoaderErrors, Headers)
{
    EXPECT_EQ(load_error(pattern(0x3000, 0)),
              "no Multiboot header in the 12288-byte image (magic 0x1badb002, 4-byte aligned, in the first 8192 "
              "bytes, or Multiboot2 magic 0xe85250d6, 8-byte aligned, in the first 32768 bytes)");
    // Past the search window.
    Image late(0x3000, 0);
    put_bytes(late, 8192, mb1(0));
    EXPECT_EQ(load_error(late, 16 * MiB, Protocol::v1),
              "no Multiboot header (magic 0x1badb002, 4-byte aligned, in the first 8192 bytes) in the 12288-byte image");
    // Misaligned.
    Image misaligned(0x1000, 0);
    put_bytes(misaligned, 0x42, mb1(0));
    EXPECT_EQ(load_error(misaligned, 16 * MiB, Protocol::v1),
              "no Multiboot header (magic 0x1badb002, 4-byte aligned, in the first 8192 bytes) in the 4096-byte image");

    Image bad1 = mb1(0);
    put32(bad1, 8, 5);
    Image img1(0x1000, 0);
    put_bytes(img1, 0x100, bad1);
    EXPECT_EQ(load_error(img1),
              "Multiboot header at offset 0x100 has a bad checksum (magic + flags + checksum = 0x1badb007, must be 0)");

    Image bad2 = mb2({});
    put32(bad2, 12, 0);
    Image img2(0x1000, 0);
    put_bytes(img2, 0x200, bad2);
    EXPECT_EQ(load_error(img2), "Multiboot2 header at offset 0x200 has a bad checksum (magic + architecture + "
                                "header_length + checksum = 0xe85250ee, must be 0)");

    EXPECT_EQ(load_error(build(standard_elf(false, mb1(0x8)))),
              "Multiboot header flags 0x8 require features this loader does not know (bits 3-15: 0x8)");
    Image cut = mb1(0x10000);
    Image img3(0x400, 0);
    put_bytes(img3, 0x400 - 12, cut);
    EXPECT_EQ(load_error(img3), "Multiboot header at offset 0x3f4 is cut off: its address fields (flags bit 16) need 32 "
                                "bytes, the image ends at 0x400");
}

TEST(MultibootLoaderErrors, V2Tags)
{
    auto err = [](const Image& header) { return load_error(build(standard_elf(false, header))); };
    EXPECT_EQ(err(mb2({}, 4)), "Multiboot2 header architecture 4 (MIPS) is not i386 (0)");
    EXPECT_EQ(err(mb2({}, 1)), "Multiboot2 header architecture 1 is not i386 (0)");
    EXPECT_EQ(err(mb2({tag(1, 0, {1, 8, 6})})),
              "Multiboot2 header requires boot information tag 8 (framebuffer info), which this loader does not provide "
              "(it gives command line, boot loader name, modules, basic memory information and memory map)");
    EXPECT_EQ(err(mb2({tag(1, 0, {0x77})})),
              "Multiboot2 header requires boot information tag 119 (unknown), which this loader does not provide (it "
              "gives command line, boot loader name, modules, basic memory information and memory map)");
    EXPECT_EQ(err(mb2({tag(5, 0, {1024, 768, 32})})),
              "Multiboot2 header requires a framebuffer (framebuffer tag not optional); this loader provides none");
    EXPECT_EQ(err(mb2({tag(4, 0, {1})})),
              "Multiboot2 header requires a console (flags tag, console_flags bit 0); this loader describes none");
    EXPECT_EQ(err(mb2({tag(7, 0, {})})), "Multiboot2 header tag type 7 (EFI boot services) needs EFI, which guests do "
                                         "not have");
    EXPECT_EQ(err(mb2({tag(9, 0, {0x100000})})),
              "Multiboot2 header tag type 9 (EFI amd64 entry address) needs EFI, which guests do not have");
    EXPECT_EQ(err(mb2({tag(42, 0, {})})),
              "Multiboot2 header tag type 42 at offset 0x410 is not optional and unknown to this loader");
    EXPECT_EQ(err(mb2({tag(2, 0, {0x100000, 0x100000})})),
              "Multiboot2 header tag type 2 (address) at offset 0x410 has size 16: it needs 24 and must end within "
              "header_length");
    EXPECT_EQ(err(mb2({tag(1, 0, {}, 0x100)})),
              "Multiboot2 header tag type 1 (information request) at offset 0x410 has size 256: it needs 8 and must "
              "end within header_length");
    EXPECT_EQ(err(mb2({tag(6, 0, {})}, 0, false)),
              "Multiboot2 header at offset 0x400 has no end tag within its header_length 24");
    Image short_header = mb2({}, 0, false); // 16 bytes: no room for an end tag
    EXPECT_EQ(err(short_header), "Multiboot2 header at offset 0x400 has header_length 16: it must hold the 16-byte "
                                 "header and an end tag and end within the image and its first 32768 bytes");
}

TEST(MultibootLoaderErrors, ElfHeader)
{
    auto with = [](auto change) {
        Image image = build(standard_elf(false, mb1(0)));
        change(image);
        return load_error(image);
    };
    Image not_elf(0x1000, 0x90);
    put_bytes(not_elf, 0, mb1(0));
    EXPECT_EQ(load_error(not_elf),
              "the image is not ELF (no \\x7fELF magic) and its Multiboot header has no address fields (flags bit 16)");
    Image not_elf2(0x1000, 0x90);
    put_bytes(not_elf2, 8, mb2({}));
    EXPECT_EQ(load_error(not_elf2), "the image is not ELF (no \\x7fELF magic) and its Multiboot2 header has no address tag");

    EXPECT_EQ(with([](Image& b) { b[4] = 3; }), "ELF class 3 is neither ELFCLASS32 (1) nor ELFCLASS64 (2)");
    EXPECT_EQ(with([](Image& b) { b[5] = 2; }), "ELF data encoding 2 is not little-endian (ELFDATA2LSB, 1)");
    EXPECT_EQ(with([](Image& b) { b[6] = 0; }), "ELF version 0 is not EV_CURRENT (1)");
    EXPECT_EQ(with([](Image& b) { put16(b, 16, 1); }), "ELF type 1 is not an executable (ET_EXEC 2 or ET_DYN 3)");
    EXPECT_EQ(with([](Image& b) { put16(b, 18, 62); }), "ELF machine 62 is not x86 (EM_386, 3) for ELF32");
    EXPECT_EQ(with([](Image& b) { b[4] = 2; }), "ELF machine 3 is not x86-64 (EM_X86_64, 62) for ELF64");
    EXPECT_EQ(with([](Image& b) { put32(b, 20, 2); }), "ELF e_version 2 is not EV_CURRENT (1)");
    EXPECT_EQ(with([](Image& b) { put16(b, 44, 0); }), "ELF has no program headers");
    EXPECT_EQ(with([](Image& b) { put16(b, 44, 0xFFFF); }), "ELF e_phnum 0xffff (extended numbering) is not supported");
    EXPECT_EQ(with([](Image& b) { put16(b, 42, 16); }), "ELF e_phentsize 16 is smaller than an ELF32 program header (32)");
    EXPECT_EQ(with([](Image& b) { put32(b, 28, 0x27F0); }),
              "ELF program header table (offset 0x27f0, 2 entries of 32 bytes) is past the end of the 10240-byte file");
    EXPECT_EQ(with([](Image& b) { put32(b, 28, 0xFFFFFFF0); }),
              "ELF program header table (offset 0xfffffff0, 2 entries of 32 bytes) is past the end of the 10240-byte "
              "file");

    // Truncated: a Multiboot header found in the first bytes, the ELF header cut at 40 bytes.
    Image truncated = build(standard_elf(false, {}));
    truncated.resize(40);
    put_bytes(truncated, 28, mb1(0));
    EXPECT_EQ(load_error(truncated), "ELF header is cut off: the file has 40 bytes, an ELF32 header needs 52");
    Image truncated64 = build(standard_elf(true, {}));
    truncated64.resize(56);
    put_bytes(truncated64, 40, mb1(0));
    EXPECT_EQ(load_error(truncated64), "ELF header is cut off: the file has 56 bytes, an ELF64 header needs 64");
}

TEST(MultibootLoaderErrors, Segments)
{
    auto err = [](Elf e, uint64_t ram = 16 * MiB) { return load_error(build(e), ram); };
    Elf e = standard_elf(false, mb1(0));

    Elf past_end = e;
    past_end.segs[1].offset_override = 0x2400;
    EXPECT_EQ(err(past_end), "ELF program header 1: its file bytes (offset 0x2400, 0x800 bytes) are past the end of the "
                             "10240-byte file");
    Elf huge_offset = e;
    huge_offset.segs[0].offset_override = 0xFFFFFFFF;
    EXPECT_EQ(err(huge_offset), "ELF program header 0: its file bytes (offset 0xffffffff, 0x1000 bytes) are past the end "
                                "of the 10240-byte file");
    Elf filesz = e;
    filesz.segs[1].memsz = 0x700;
    EXPECT_EQ(err(filesz), "ELF program header 1: p_filesz 0x800 is larger than p_memsz 0x700");

    Elf beyond = e;
    beyond.segs[1].paddr = 0x1000000 - 0x1000;
    EXPECT_EQ(err(beyond), "ELF program header 1 (0xfff000+0x3000) does not fit in 16 MiB of guest RAM");
    Elf far = e;
    far.segs[0].paddr = 0xFFFFF000;
    far.entry = 0x101000;
    EXPECT_EQ(err(far), "ELF program header 0 (0xfffff000+0x1000) does not fit in 16 MiB of guest RAM");
    Elf wrap = standard_elf(true, mb1(0));
    wrap.segs[1].paddr = 0xFFFFFFFFFFFFF000;
    EXPECT_EQ(err(wrap), "ELF program header 1 (0xfffffffffffff000+0x3000) does not fit in 16 MiB of guest RAM");

    Elf hole = e;
    hole.segs[0].paddr = 0x9F800;
    hole.entry = 0x101000;
    EXPECT_EQ(err(hole), "ELF program header 0 (0x9f800+0x1000) overlaps the VGA/BIOS hole [0xa0000, 0x100000), which "
                         "is not RAM");
    Elf bios = e;
    bios.segs[0].paddr = 0xF0000;
    bios.entry = 0x101000;
    EXPECT_EQ(err(bios), "ELF program header 0 (0xf0000+0x1000) overlaps the VGA/BIOS hole [0xa0000, 0x100000), which "
                         "is not RAM");

    Elf overlapping = e;
    overlapping.segs[1].paddr = 0x100800;
    EXPECT_EQ(err(overlapping), "ELF program headers 0 (0x100000+0x1000) and 1 (0x100800+0x3000) overlap in guest memory");

    Elf no_load = e;
    for (Seg& s : no_load.segs) s.type = 4; // PT_NOTE
    EXPECT_EQ(err(no_load), "ELF has no loadable segment (PT_LOAD with p_memsz > 0)");

    Elf bad_entry = e;
    bad_entry.entry = 0x200000;
    EXPECT_EQ(err(bad_entry), "ELF entry point 0x200000 is not inside any loadable segment");

    Elf high64 = standard_elf(true, mb2({}));
    high64.entry = 0x100100000;
    EXPECT_EQ(err(high64), "ELF entry point 0x100100000 is above 4 GiB (the guest starts in 32-bit protected mode) and "
                           "no loadable segment's virtual range holds it to translate it to a physical address");
    Elf phys64 = standard_elf(true, mb2({}));
    phys64.segs[0].paddr = 0x100000000;
    phys64.segs[0].vaddr = 0x100000;
    EXPECT_EQ(err(phys64), "ELF entry point 0x100010 is at physical address 0x100000010, above 4 GiB: the guest starts "
                           "in 32-bit protected mode");

    Elf many = e;
    many.segs.clear();
    many.mb_offset = 0x800; // after 33 program headers
    for (int i = 0; i < 33; ++i) many.segs.push_back(Seg{0x100000 + 0x1000u * i, {}, 0x10});
    EXPECT_EQ(err(many), "ELF has more than 32 loadable segments (PT_LOAD)");
}

TEST(MultibootLoaderErrors, AddressFields)
{
    auto err = [](AddressFields a, size_t offset = 0x40, size_t size = 0x1000) {
        Image image = pattern(size, 3);
        put_bytes(image, offset, mb1(0x10000, a));
        return load_error(image);
    };
    EXPECT_EQ(err({0x200040, 0x200080, 0, 0, 0x200080}),
              "Multiboot header address fields: load_addr 0x200080 is above header_addr 0x200040");
    EXPECT_EQ(err({0x200080, 0x200000, 0, 0, 0x200000}),
              "Multiboot header address fields: header_addr - load_addr = 0x80 is more than the header's offset 0x40 in "
              "the file");
    EXPECT_EQ(err({0x200040, 0x200000, 0x100000, 0, 0x200000}),
              "Multiboot header address fields: load_end_addr 0x100000 is below load_addr 0x200000");
    EXPECT_EQ(err({0x200040, 0x200000, 0x202000, 0, 0x200000}),
              "Multiboot header address fields: the load range (file offset 0x0, 0x2000 bytes) is past the end of the "
              "4096-byte file");
    EXPECT_EQ(err({0x200040, 0x200000, 0x200800, 0x200400, 0x200000}),
              "Multiboot header address fields: bss_end_addr 0x200400 is below the end of the loaded data 0x200800");
    EXPECT_EQ(err({0xA0040, 0xA0000, 0, 0, 0xA0000}),
              "the image loaded by the Multiboot header address fields (0xa0000+0x1000) overlaps the VGA/BIOS hole "
              "[0xa0000, 0x100000), which is not RAM");
    EXPECT_EQ(err({0xFFF040, 0xFFF000, 0, 0x1001000, 0xFFF000}),
              "the image loaded by the Multiboot header address fields (0xfff000+0x2000) does not fit in 16 MiB of "
              "guest RAM");
    EXPECT_EQ(err({0x200040, 0x200000, 0, 0, 0x300000}),
              "entry address 0x300000 is outside the loaded image [0x200000, 0x201000)");
    Image v2 = pattern(0x1000, 3);
    put_bytes(v2, 0x10, mb2({tag(2, 0, {0x8, 0xFFFFFFFF, 0, 0}), tag(3, 0, {0})}));
    EXPECT_EQ(load_error(v2), "Multiboot2 address tag: header_addr 0x8 is below the header's offset 0x10 in the file, so "
                              "the file cannot be loaded from its beginning (load_addr -1)");
}

TEST(MultibootLoaderErrors, RequestAndPlacement)
{
    Image image = build(standard_elf(false, mb1(0)));
    Guest g(16 * MiB);
    std::vector<Module> too_many(17, Module{pattern(1, 1), ""});
    Outcome o = load(g, image, "", too_many);
    EXPECT_EQ(o.error, "17 modules are more than the 16 a guest can have");

    std::vector<Module> big = {{Image(15 * MiB), "big"}};
    o = load(g, image, "", big);
    EXPECT_EQ(o.error, "no room in 16 MiB of guest RAM for module 1 (15728640 bytes) above the kernel (which ends at "
                       "0x104000)");

    Guest odd(16 * MiB + 100);
    EXPECT_EQ(load(odd, image).error, "guest RAM of 16777316 bytes is not a multiple of 4 KiB from 1 MiB to 3 GiB");

    Guest tiny(16 * MiB);
    EXPECT_EQ(load(tiny, Image{}).error, "the kernel image is empty");

    // The info block cannot fit: a kernel filling all RAM.
    Elf full;
    full.entry = 0x100000;
    full.segs = {Seg{0, {}, 0x9F000}, Seg{0x100000, pattern(16, 1), 0x100000}};
    full.mb_header = mb1(0);
    Guest two(2 * MiB);
    EXPECT_EQ(load(two, build(full)).error, "no room in 2 MiB of guest RAM for the boot information (228 bytes)");
}

// ---- robustness: random mutations of valid images never crash or write outside RAM ----------------

void mutate_and_load(const Image& valid, uint32_t seed, const Image* rsdp = nullptr)
{
    std::mt19937 rng(seed);
    Guest g(2 * MiB, 0x5a);
    std::vector<Module> mods = {{pattern(300, 1), "m1"}, {pattern(5000, 2), "module two"}};
    const uint32_t interesting[] = {0,          1,          0x7f,       0x80,       0xFFFF,    0x10000,
                                    0x100000,   0xA0000,    0xFFFFFFFF, 0x80000000, 0x1000,    0x1FFFFF,
                                    0xFFFFFFF0, 0x7FFFFFFF, 0x200000,   0x9FFFF,    0x1BADB002, 0xE85250D6};
    size_t successes = 0;
    for (int i = 0; i < 5000; ++i) {
        Image image = valid;
        int changes = 1 + int(rng() % 4);
        for (int c = 0; c < changes; ++c) {
            size_t hot = std::min<size_t>(image.size(), 0x600); // headers and program headers
            switch (rng() % 5) {
            case 0: image[rng() % image.size()] = uint8_t(rng()); break;
            case 1: image[rng() % hot] = uint8_t(rng()); break;
            case 2: {
                size_t off = (rng() % hot) & ~size_t(3);
                if (off + 4 <= image.size()) put32(image, off, interesting[rng() % std::size(interesting)]);
                break;
            }
            case 3: image.resize(rng() % (image.size() + 1)); break;
            case 4: {
                size_t off = rng() % hot;
                if (off + 8 <= image.size()) put64(image, off, uint64_t(rng()) << 32 | rng());
                break;
            }
            }
            if (image.empty()) image.push_back(0);
        }
        Outcome o = load(g, image, "cmd", mods, Protocol::automatic, "", rsdp);
        if (o.ok) {
            ++successes;
            EXPECT_LT(o.result.entry, 2 * MiB);
            EXPECT_LE(o.result.highest_used, 2 * MiB);
            EXPECT_LT(o.result.ebx_info, 2 * MiB);
            EXPECT_FALSE(o.result.entry >= 0xA0000 && o.result.entry < 0x100000);
            EXPECT_TRUE(all_bytes(g, 0x9F000, 0x100000, 0x5a))
                << "wrote into the ACPI region or the hole, seed " << seed << " #" << i;
        } else {
            EXPECT_FALSE(o.error.empty());
            EXPECT_LT(o.error.size(), 256u);
        }
    }
    EXPECT_GT(successes, 0u); // some mutations are harmless
}

TEST(MultibootLoaderRobustness, MutatedElf32V1)
{
    Elf e = standard_elf(false, mb1(0x3));
    mutate_and_load(build(e), 1);
}

TEST(MultibootLoaderRobustness, MutatedElf64V2)
{
    Elf e = standard_elf(true, mb2({tag(1, 0, {1, 3, 6, 15}), tag(3, 1, {0x100010}), tag(6, 0, {})}));
    Image rsdp = pattern(36, 12);
    mutate_and_load(build(e), 2, &rsdp);
}

TEST(MultibootLoaderRobustness, MutatedAddressTag)
{
    Image image = pattern(0x3000, 9);
    put_bytes(image, 0x40, mb2({tag(2, 0, {0x100040, 0x100000, 0x102000, 0x104000}), tag(3, 0, {0x100100})}));
    mutate_and_load(image, 3);
}

// ---- real-mode flat binaries ---------------------------------------------------------------------

TEST(FlatBinary, EndsAtOneMiB)
{
    Guest g(2 * MiB);
    Image bin = pattern(512, 4);
    multiboot::RealModeStart s;
    char error[128];
    ASSERT_TRUE(multiboot::load_flat_binary(g.ram, bin.data(), bin.size(), "r", s, error, sizeof error)) << error;
    EXPECT_STREQ(error, "");
    EXPECT_EQ(s.cs_selector, 0xF000);
    EXPECT_EQ(s.ip, 0xFFF0);
    EXPECT_EQ(s.cs_base, 0xF0000u);
    EXPECT_EQ(s.reset_cs_base, 0xFFFF0000u);
    EXPECT_EQ(s.cs_base + s.ip, 0xFFFF0u);
    EXPECT_EQ(s.load_base, 0x100000u - 512);
    EXPECT_EQ(s.firmware_bytes, 64 * 1024u);
    EXPECT_EQ(g.bytes(0xFFE00, 512), bin);
    EXPECT_EQ(g.bytes(0xFFFF0, 16), Image(bin.end() - 16, bin.end())); // reset vector: last 16 bytes
    EXPECT_TRUE(all_bytes(g, 0xF0000, 0xFFE00, 0));
    EXPECT_EQ(g.memory[0xEFFFF], 0xcc);
    EXPECT_EQ(g.memory[0x100000], 0xcc);

    // The architectural reset address reaches the same byte through the layout's alias.
    guest_memory::Layout layout;
    char layout_error[128];
    ASSERT_TRUE(guest_memory::build_layout(g.ram.size, s.firmware_bytes, layout, layout_error, sizeof layout_error));
    uint64_t reset = uint64_t(s.reset_cs_base) + s.ip;
    bool found = false;
    for (size_t i = 0; i < layout.ept_count; ++i) {
        const auto& r = layout.ept[i];
        if (reset >= r.guest_physical && reset < r.guest_physical + r.length) {
            EXPECT_EQ(r.ram_offset + (reset - r.guest_physical), 0xFFFF0u);
            found = true;
        }
    }
    EXPECT_TRUE(found);
}

TEST(FlatBinary, SizesAndErrors)
{
    multiboot::RealModeStart s;
    char error[128];
    Guest g(1 * MiB);
    Image bin = pattern(100 * 1024, 5);
    ASSERT_TRUE(multiboot::load_flat_binary(g.ram, bin.data(), bin.size(), "", s, error, sizeof error)) << error;
    EXPECT_EQ(s.firmware_bytes, 128 * 1024u);
    EXPECT_EQ(g.bytes(0x100000 - bin.size(), bin.size()), bin);
    EXPECT_TRUE(all_bytes(g, 0xE0000, 0x100000 - bin.size(), 0));

    Image exact = pattern(128 * 1024, 6);
    EXPECT_TRUE(multiboot::load_flat_binary(g.ram, exact.data(), exact.size(), "", s, error, sizeof error));
    Image big(128 * 1024 + 1);
    EXPECT_FALSE(multiboot::load_flat_binary(g.ram, big.data(), big.size(), "r", s, error, sizeof error));
    EXPECT_STREQ(error, "guest 'r': flat binary of 131073 bytes is larger than 128 KiB, the most that fits below 1 MiB "
                        "as firmware");
    Image small(15);
    EXPECT_FALSE(multiboot::load_flat_binary(g.ram, small.data(), small.size(), "", s, error, sizeof error));
    EXPECT_STREQ(error, "flat binary of 15 bytes is smaller than 16 bytes: its last 16 bytes are the code at the reset "
                        "vector 0xffff0");
    Guest low(512 * 1024);
    EXPECT_FALSE(multiboot::load_flat_binary(low.ram, bin.data(), bin.size(), "", s, error, sizeof error));
    EXPECT_STREQ(error, "a real-mode guest needs at least 1 MiB of guest RAM");
}

} // namespace
