#include "vmx/guest_acpi.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "boot/multiboot2.hpp"
#include "drivers/acpi.hpp"
#include "vmx/guest_memory_map.hpp"
#include "vmx/multiboot_loader.hpp"

namespace {

using guest_acpi::AcpiTables;
using Image = std::vector<uint8_t>;

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB;
constexpr uint64_t kBase = guest_memory::kAcpiRegionBase, kSize = guest_memory::kAcpiRegionBytes;

// A VM's RAM, and the hypervisor's ACPI parser reading it as physical memory. Like the
// hypervisor's own reader, one window: every map() hands out a fresh heap copy of exactly the
// bytes asked for and frees the previous one, so AddressSanitizer catches reads past a mapping
// and uses of a stale one.
struct Guest {
    std::vector<uint8_t> memory;
    GuestRam ram;
    std::unique_ptr<uint8_t[]> window;
    explicit Guest(uint64_t size, uint8_t fill = 0xcc) : memory(size, fill), ram{memory.data(), size} {}

    acpi::PhysicalReader reader() { return {&Guest::map, this}; }
    static const void* map(void* context, uint64_t phys, size_t length)
    {
        auto* g = static_cast<Guest*>(context);
        g->window.reset();
        if (length == 0 || phys > g->memory.size() || length > g->memory.size() - phys) return nullptr;
        g->window = std::make_unique<uint8_t[]>(length);
        std::memcpy(g->window.get(), &g->memory[phys], length);
        return g->window.get();
    }

    uint16_t u16(uint64_t gpa) const { return uint16_t(memory[gpa] | memory[gpa + 1] << 8); }
    uint32_t u32(uint64_t gpa) const { return u16(gpa) | uint32_t(u16(gpa + 2)) << 16; }
    uint64_t u64(uint64_t gpa) const { return u32(gpa) | uint64_t(u32(gpa + 4)) << 32; }
    std::string text(uint64_t gpa, size_t n) const { return std::string(memory.begin() + gpa, memory.begin() + gpa + n); }
    Image bytes(uint64_t gpa, size_t n) const { return Image(memory.begin() + gpa, memory.begin() + gpa + n); }
    uint8_t sum(uint64_t gpa, size_t n) const
    {
        uint8_t s = 0;
        for (size_t i = 0; i < n; ++i) s = uint8_t(s + memory[gpa + i]);
        return s;
    }
    bool all(uint64_t from, uint64_t to, uint8_t v) const
    {
        for (uint64_t a = from; a < to; ++a)
            if (memory[a] != v) return false;
        return true;
    }
};

AcpiTables build(Guest& g, uint32_t vcpus, uint64_t base = kBase, uint64_t size = kSize)
{
    AcpiTables t;
    char error[256];
    EXPECT_TRUE(guest_acpi::build_acpi_tables(g.ram, base, size, vcpus, t, error, sizeof error)) << error;
    EXPECT_STREQ(error, "");
    return t;
}

std::string build_error(Guest& g, uint32_t vcpus, uint64_t base = kBase, uint64_t size = kSize)
{
    AcpiTables t;
    char error[256];
    std::memset(error, 'x', sizeof error);
    EXPECT_FALSE(guest_acpi::build_acpi_tables(g.ram, base, size, vcpus, t, error, sizeof error));
    return error;
}

std::string warnings(const acpi::Platform& p)
{
    std::string s;
    for (size_t i = 0; i < p.warning_count; ++i) s += std::string(p.warnings[i].message) + "; ";
    return s;
}

// What the guest's OS sees: the scan finds the RSDP, the XSDT leads to a MADT listing vCPUs
// 0..n-1 by APIC ID and UID, all enabled, the local APIC at 0xFEE00000, the 8259s, the I/O APIC
// with the PC's two interrupt overrides and NMI on LINT1; the FADT with the PM block, the reset
// register and \_S5 from the DSDT.
void expect_cpus(const acpi::Platform& p, uint32_t n)
{
    EXPECT_TRUE(p.has_madt);
    EXPECT_EQ(p.local_apic_address, 0xFEE00000u);
    EXPECT_TRUE(p.has_legacy_pics);
    ASSERT_EQ(p.cpu_count, n);
    for (uint32_t i = 0; i < n; ++i) {
        EXPECT_EQ(p.cpus[i].apic_id, i);
        EXPECT_EQ(p.cpus[i].acpi_uid, i);
        EXPECT_TRUE(p.cpus[i].enabled);
        EXPECT_FALSE(p.cpus[i].online_capable);
        EXPECT_EQ(p.cpus[i].from_x2apic_entry, i >= 255) << i;
    }
    EXPECT_EQ(p.cpus_ignored, 0u);
    EXPECT_EQ(p.cpus_unusable, 0u);
    ASSERT_EQ(p.ioapic_count, 1u);
    EXPECT_EQ(p.ioapics[0].id, 0u);
    EXPECT_EQ(p.ioapics[0].address, 0xFEC00000u);
    EXPECT_EQ(p.ioapics[0].gsi_base, 0u);
    ASSERT_EQ(p.override_count, 2u);
    EXPECT_EQ(p.overrides[0].bus, 0);
    EXPECT_EQ(p.overrides[0].source, 0);
    EXPECT_EQ(p.overrides[0].gsi, 2u);
    EXPECT_EQ(p.overrides[0].flags, 0);
    EXPECT_EQ(p.overrides[1].source, 9);
    EXPECT_EQ(p.overrides[1].gsi, 9u);
    EXPECT_EQ(p.overrides[1].flags, 0xF);  // level, active low
    ASSERT_EQ(p.nmi_count, 1u);
    EXPECT_EQ(p.nmis[0].acpi_uid, acpi::kAllProcessors);
    EXPECT_EQ(p.nmis[0].lint, 1);

    ASSERT_TRUE(p.has_fadt);
    EXPECT_EQ(p.fadt_flags, 0x435u);  // WBINVD, PROC_C1, PWR_BUTTON, SLP_BUTTON, RESET_REG_SUP
    EXPECT_EQ(p.boot_arch_flags, acpi::kBootArchLegacyDevices | acpi::kBootArchVgaNotPresent);
    EXPECT_EQ(p.power.pm1a_control.space_id, acpi::kSpaceIo);
    EXPECT_EQ(p.power.pm1a_control.address, 0x604u);
    EXPECT_EQ(p.power.pm1a_control.bit_width, 16);
    EXPECT_EQ(p.power.pm1b_control.address, 0u);
    ASSERT_TRUE(p.power.has_s5);
    EXPECT_EQ(p.power.slp_typ_a, 7);
    EXPECT_EQ(p.power.slp_typ_b, 7);
    ASSERT_TRUE(p.power.reset_supported);
    EXPECT_EQ(p.power.reset_register.space_id, acpi::kSpaceIo);
    EXPECT_EQ(p.power.reset_register.address, 0xCF9u);
    EXPECT_EQ(p.power.reset_register.bit_width, 8);
    EXPECT_EQ(p.power.reset_value, 6);
    EXPECT_EQ(p.power.smi_command, 0u);
    EXPECT_FALSE(p.power.hardware_reduced);
    EXPECT_EQ(p.power.sci_interrupt, 9);
    EXPECT_EQ(p.pm_timer.block.space_id, acpi::kSpaceIo);
    EXPECT_EQ(p.pm_timer.block.address, 0x608u);
    EXPECT_FALSE(p.pm_timer.is_32bit);
}

void check_scan_and_parse(uint32_t vcpus)
{
    SCOPED_TRACE(vcpus);
    Guest g(2 * MiB);
    AcpiTables t = build(g, vcpus);
    EXPECT_EQ(t.rsdp_address, kBase + 0x10);
    EXPECT_EQ(t.rsdp_address % 16, 0u);
    EXPECT_LT(t.rsdp_address + 36, kBase + 1024); // in the EBDA's first KiB
    EXPECT_EQ(t.rsdp_length, 36u);
    EXPECT_EQ(Image(t.rsdp, t.rsdp + t.rsdp_length), g.bytes(t.rsdp_address, 36));
    EXPECT_EQ(t.madt_length, 44u + 8 * vcpus + 12 + 2 * 10 + 6);
    EXPECT_EQ(t.used_bytes, t.madt_address + t.madt_length - kBase);
    EXPECT_EQ(t.used_bytes, guest_acpi::tables_bytes(vcpus));
    EXPECT_LE(t.used_bytes, kSize);

    acpi::PhysicalReader reader = g.reader();
    uint64_t found = acpi::scan_bios_areas(reader);
    ASSERT_EQ(found, t.rsdp_address);
    EXPECT_EQ(acpi::validate_rsdp(t.rsdp, t.rsdp_length), nullptr);
    auto p = std::make_unique<acpi::Platform>();
    const char* error = acpi::parse_at(found, reader, *p);
    ASSERT_EQ(error, nullptr) << error;
    EXPECT_EQ(warnings(*p), "");
    EXPECT_EQ(p->warnings_dropped, 0u);
    EXPECT_EQ(p->rsdp_address, t.rsdp_address);
    EXPECT_EQ(p->revision, 2);
    EXPECT_STREQ(p->oem_id, "MATRYO");
    EXPECT_TRUE(p->uses_xsdt);
    EXPECT_EQ(p->root_table_address, t.xsdt_address);
    expect_cpus(*p, vcpus);
    EXPECT_EQ(p->dsdt_address, t.dsdt_address);
    EXPECT_EQ(acpi::find_table(*p, "XSDT"), t.xsdt_address);
    EXPECT_EQ(acpi::find_table(*p, "APIC"), t.madt_address);
    EXPECT_EQ(acpi::find_table(*p, "FACP"), t.fadt_address);
    EXPECT_EQ(acpi::find_table(*p, "DSDT"), t.dsdt_address);
    for (size_t i = 0; i < p->table_count; ++i) {
        if (std::string(p->tables[i].signature) == "APIC") {
            EXPECT_EQ(p->tables[i].revision, 5);
            EXPECT_EQ(p->tables[i].length, t.madt_length);
        }
        if (std::string(p->tables[i].signature) == "FACP") {
            EXPECT_EQ(p->tables[i].revision, 6);
            EXPECT_EQ(p->tables[i].length, 276u);
        }
    }

    // An ACPI 1.0 OS reads the first 20 bytes and the RSDT: the same MADT.
    auto v1 = std::make_unique<acpi::Platform>();
    error = acpi::parse(t.rsdp, 20, reader, *v1);
    ASSERT_EQ(error, nullptr) << error;
    EXPECT_EQ(warnings(*v1), "RSDP revision 2+ given as its first 20 bytes; the XSDT is not reachable; ");
    EXPECT_FALSE(v1->uses_xsdt);
    EXPECT_EQ(v1->root_table_address, t.rsdt_address);
    expect_cpus(*v1, vcpus);

    // The copy, as the Multiboot2 tag carries it, leads to the same tables.
    auto copy = std::make_unique<acpi::Platform>();
    ASSERT_EQ(acpi::parse(t.rsdp, t.rsdp_length, reader, *copy), nullptr);
    EXPECT_TRUE(copy->uses_xsdt);
    expect_cpus(*copy, vcpus);
}

TEST(GuestAcpi, ScanFindsTablesOneCpu) { check_scan_and_parse(1); }
TEST(GuestAcpi, ScanFindsTablesFourCpus) { check_scan_and_parse(4); }
TEST(GuestAcpi, ScanFindsTablesMaxVcpus) { check_scan_and_parse(64); }

// Byte by byte: what the tables hold besides what the parser checks.
TEST(GuestAcpi, BytesAsWritten)
{
    Guest g(1 * MiB, 0x77);
    AcpiTables t = build(g, 2);
    // BIOS data area: the EBDA segment and the conventional memory below the EBDA (KiB).
    EXPECT_EQ(g.u16(0x40E), 0x9F00);
    EXPECT_EQ(g.u16(0x413), 636);
    EXPECT_EQ(g.memory[0x40D], 0x77);
    EXPECT_EQ(g.memory[0x410], 0x77);
    EXPECT_EQ(g.memory[0x412], 0x77);
    EXPECT_EQ(g.memory[0x415], 0x77);
    // The EBDA starts with its size in KiB; the rest of the region is zero except the tables.
    EXPECT_EQ(g.memory[kBase], 4);
    EXPECT_TRUE(g.all(kBase + 1, kBase + 0x10, 0));
    EXPECT_TRUE(g.all(kBase + t.used_bytes, kBase + kSize, 0));
    EXPECT_EQ(g.memory[kBase - 1], 0x77);
    EXPECT_EQ(g.memory[kBase + kSize], 0x77);

    // RSDP (ACPI 6.5 5.2.5.3).
    uint64_t r = t.rsdp_address;
    EXPECT_EQ(g.text(r, 8), "RSD PTR ");
    EXPECT_EQ(g.sum(r, 20), 0);
    EXPECT_EQ(g.sum(r, 36), 0);
    EXPECT_EQ(g.text(r + 9, 6), "MATRYO");
    EXPECT_EQ(g.memory[r + 15], 2);
    EXPECT_EQ(g.u32(r + 16), t.rsdt_address);
    EXPECT_EQ(g.u32(r + 20), 36u);
    EXPECT_EQ(g.u64(r + 24), t.xsdt_address);
    EXPECT_TRUE(g.all(r + 33, r + 36, 0));

    // Headers (5.2.6), 16-byte aligned tables.
    struct Want {
        uint64_t address;
        const char* signature;
        uint32_t length;
        uint8_t revision;
    };
    for (const Want& w : {Want{t.rsdt_address, "RSDT", 44, 1}, Want{t.xsdt_address, "XSDT", 52, 1},
                          Want{t.madt_address, "APIC", 44 + 16 + 38, 5}, Want{t.fadt_address, "FACP", 276, 6},
                          Want{t.dsdt_address, "DSDT", 57, 2}}) {
        SCOPED_TRACE(w.signature);
        EXPECT_EQ(w.address % 16, 0u);
        EXPECT_EQ(g.text(w.address, 4), w.signature);
        EXPECT_EQ(g.u32(w.address + 4), w.length);
        EXPECT_EQ(g.memory[w.address + 8], w.revision);
        EXPECT_EQ(g.sum(w.address, w.length), 0);
        EXPECT_EQ(g.text(w.address + 10, 6), "MATRYO");
        EXPECT_EQ(g.text(w.address + 16, 8), "MATRYOSH");
        EXPECT_EQ(g.u32(w.address + 24), 1u);
        EXPECT_EQ(g.text(w.address + 28, 4), "MTRY");
        EXPECT_EQ(g.u32(w.address + 32), 1u);
    }
    EXPECT_EQ(g.u32(t.rsdt_address + 36), t.fadt_address);
    EXPECT_EQ(g.u32(t.rsdt_address + 40), t.madt_address);
    EXPECT_EQ(g.u64(t.xsdt_address + 36), t.fadt_address);
    EXPECT_EQ(g.u64(t.xsdt_address + 44), t.madt_address);

    // MADT (5.2.12): local APIC address, flags (PCAT_COMPAT), two type 0 entries, the I/O APIC,
    // IRQ0 -> GSI 2, IRQ9 -> GSI 9 level/low, NMI on LINT1.
    uint64_t m = t.madt_address;
    EXPECT_EQ(g.u32(m + 36), 0xFEE00000u);
    EXPECT_EQ(g.u32(m + 40), 1u);
    EXPECT_EQ(g.bytes(m + 44, 16), (Image{0, 8, 0, 0, 1, 0, 0, 0, 0, 8, 1, 1, 1, 0, 0, 0}));
    EXPECT_EQ(g.bytes(m + 60, 38), (Image{1, 12, 0, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0,  //
                                          2, 10, 0, 0, 2, 0, 0, 0, 0, 0,              //
                                          2, 10, 0, 9, 9, 0, 0, 0, 0xf, 0,            //
                                          4, 6, 0xff, 0, 0, 1}));

    // FACS (5.2.10): 64-byte aligned, no checksum.
    EXPECT_EQ(t.facs_address % 64, 0u);
    EXPECT_EQ(g.text(t.facs_address, 4), "FACS");
    EXPECT_EQ(g.u32(t.facs_address + 4), 64u);
    EXPECT_EQ(g.memory[t.facs_address + 32], 2);

    // FADT (Table 5.9): the fields the parser above does not report.
    uint64_t f = t.fadt_address;
    EXPECT_EQ(g.u32(f + 36), t.facs_address);
    EXPECT_EQ(g.u32(f + 40), t.dsdt_address);
    EXPECT_EQ(g.u64(f + 140), t.dsdt_address);
    EXPECT_EQ(g.u32(f + 48), 0u);  // SMI_CMD: always in ACPI mode
    EXPECT_EQ(g.u32(f + 56), 0x600u);
    EXPECT_EQ(g.memory[f + 88], 4);
    EXPECT_EQ(g.memory[f + 89], 2);
    EXPECT_EQ(g.memory[f + 91], 4);
    EXPECT_EQ(g.u32(f + 80), 0u);  // no GPE0 block
    EXPECT_EQ(g.memory[f + 108], 0x32);
    EXPECT_EQ(g.memory[f + 131], 5);  // minor revision: ACPI 6.5
    EXPECT_EQ(g.bytes(f + 148, 12), (Image{1, 32, 0, 2, 0x00, 6, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(g.bytes(f + 172, 12), (Image{1, 16, 0, 2, 0x04, 6, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(g.bytes(f + 208, 12), (Image{1, 32, 0, 3, 0x08, 6, 0, 0, 0, 0, 0, 0}));

    // DSDT: Name (_S5_, Package (4) {7, 7, 0, 0}), Scope (\_SB_) {}.
    EXPECT_EQ(g.bytes(t.dsdt_address + 36, 21), (Image{0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 7, 0x0a, 7,
                                                       0, 0, 0x10, 0x06, '\\', '_', 'S', 'B', '_'}));
}

// APIC IDs from 255 on get Processor Local x2APIC entries (type 9); 341 vCPUs fit in 4 KiB.
TEST(GuestAcpi, X2apicEntriesAboveApicId254)
{
    Guest g(1 * MiB);
    AcpiTables t = build(g, 256);
    EXPECT_EQ(t.madt_length, 44u + 255 * 8 + 16 + 38);
    uint64_t last = t.madt_address + 44 + 255 * 8;
    EXPECT_EQ(g.memory[last - 8], 0);   // type 0 for APIC ID 254
    EXPECT_EQ(g.memory[last - 5], 254); // its APIC ID
    EXPECT_EQ(g.bytes(last, 16), (Image{9, 16, 0, 0, 255, 0, 0, 0, 1, 0, 0, 0, 255, 0, 0, 0}));
    auto p = std::make_unique<acpi::Platform>();
    acpi::PhysicalReader reader = g.reader();
    ASSERT_EQ(acpi::parse_at(acpi::scan_bios_areas(reader), reader, *p), nullptr);
    EXPECT_EQ(warnings(*p), "");
    expect_cpus(*p, 256); // acpi::kMaxCpus: the parser lists no more

    EXPECT_LE(guest_acpi::tables_bytes(341), kSize);
    EXPECT_GT(guest_acpi::tables_bytes(342), kSize);
    Guest big(1 * MiB);
    build(big, 341);
    uint64_t end = kBase + guest_acpi::tables_bytes(341) - 38; // the interrupt entries follow the CPUs
    EXPECT_EQ(big.u32(end - 16), 9u | 16u << 8);                // the last CPU entry
    EXPECT_EQ(big.u32(end - 12), 340u);
}

TEST(GuestAcpi, RebuildOverwritesOldContents)
{
    Guest g(1 * MiB);
    build(g, 64);
    AcpiTables t = build(g, 1); // fewer vCPUs: the old entries past the new MADT are gone
    EXPECT_TRUE(g.all(kBase + t.used_bytes, kBase + kSize, 0));
    auto p = std::make_unique<acpi::Platform>();
    acpi::PhysicalReader reader = g.reader();
    ASSERT_EQ(acpi::parse_at(acpi::scan_bios_areas(reader), reader, *p), nullptr);
    expect_cpus(*p, 1);
}

TEST(GuestAcpi, Errors)
{
    Guest g(1 * MiB);
    EXPECT_EQ(build_error(g, 64, kBase, 0x200),
              "ACPI tables for 64 vCPUs need 1186 bytes (RSDP, FACS, RSDT, XSDT, FADT, DSDT and MADT), more than the "
              "512-byte ACPI region at 0x9f000");
    EXPECT_EQ(build_error(g, 342),
              "ACPI tables for 342 vCPUs need 4106 bytes (RSDP, FACS, RSDT, XSDT, FADT, DSDT and MADT), more than the "
              "4096-byte ACPI region at 0x9f000");
    EXPECT_EQ(build_error(g, 0), "a VM with no vCPU has nothing to list in its MADT");
    const char* placement = "ACPI region at {} cannot be an EBDA the BIOS-area scan finds: it must be 16-byte aligned, "
                            "at or above 0x500 (after the BIOS data area) and start at most 0x9fc00 (its first KiB "
                            "below 0xa0000)";
    auto placement_error = [&](const char* address) {
        std::string s = placement;
        return s.replace(s.find("{}"), 2, address);
    };
    EXPECT_EQ(build_error(g, 1, kBase + 8, 0x800), placement_error("0x9f008"));
    EXPECT_EQ(build_error(g, 1, 0x400, 0x1000), placement_error("0x400"));
    EXPECT_EQ(build_error(g, 1, 0x9FC10, 0x3F0), placement_error("0x9fc10"));
    EXPECT_EQ(build_error(g, 1, 0xF0000, 0x1000), placement_error("0xf0000"));
    EXPECT_EQ(build_error(g, 1, kBase, 0x100000),
              "ACPI region (0x9f000+0x100000) is not inside the 1 MiB of guest RAM");
    EXPECT_EQ(build_error(g, 1, UINT64_MAX - 4, 16),
              "ACPI region (0xfffffffffffffffb+0x10) is not inside the 1 MiB of guest RAM");
    EXPECT_TRUE(g.all(0, 1 * MiB, 0xcc)) << "nothing is written on error";

    GuestRam none{};
    AcpiTables t;
    char error[64];
    EXPECT_FALSE(guest_acpi::build_acpi_tables(none, kBase, kSize, 1, t, error, sizeof error));
    EXPECT_STREQ(error, "guest RAM is not allocated");
    // A short error buffer is truncated, still terminated.
    char tiny[8];
    EXPECT_FALSE(guest_acpi::build_acpi_tables(g.ram, kBase, 16, 4, t, tiny, sizeof tiny));
    EXPECT_EQ(std::strlen(tiny), 7u);
    EXPECT_FALSE(guest_acpi::build_acpi_tables(g.ram, kBase, 16, 4, t, nullptr, 0));

    // Elsewhere in the first 640 KiB is fine for the scan; the smallest region that holds them too.
    Guest other(1 * MiB);
    AcpiTables low = build(other, 4, 0x80000, guest_acpi::tables_bytes(4));
    EXPECT_EQ(other.u16(0x40E), 0x8000);
    acpi::PhysicalReader reader = other.reader();
    EXPECT_EQ(acpi::scan_bios_areas(reader), low.rsdp_address);
}

// ---- with the loader: the layout's region, the Multiboot2 tag, the v1 scan ------------------------

void put32(Image& b, size_t off, uint32_t v)
{
    if (b.size() < off + 4) b.resize(off + 4);
    for (int i = 0; i < 4; ++i) b[off + i] = uint8_t(v >> (8 * i));
}

// A flat Multiboot2 kernel at 1 MiB: header with an address tag, an entry tag and the end tag.
Image mb2_kernel()
{
    Image k(0x1000, 0x90);
    put32(k, 0, multiboot::kV2HeaderMagic);
    put32(k, 4, 0);
    put32(k, 8, 16 + 24 + 16 + 8);
    put32(k, 12, uint32_t(0) - multiboot::kV2HeaderMagic - (16 + 24 + 16 + 8));
    put32(k, 16, 2), put32(k, 20, 24);                     // address tag
    put32(k, 24, 0x100000), put32(k, 28, 0x100000), put32(k, 32, 0), put32(k, 36, 0x102000);
    put32(k, 40, 3), put32(k, 44, 12), put32(k, 48, 0x100000), put32(k, 52, 0); // entry tag, padded
    put32(k, 56, 0), put32(k, 60, 8);                      // end tag
    return k;
}

// The same with a Multiboot v1 header (address fields, flags bit 16).
Image mb1_kernel()
{
    Image k(0x1000, 0x90);
    put32(k, 0, multiboot::kV1HeaderMagic);
    put32(k, 4, 0x10000);
    put32(k, 8, uint32_t(0) - multiboot::kV1HeaderMagic - 0x10000);
    put32(k, 12, 0x100000), put32(k, 16, 0x100000), put32(k, 20, 0), put32(k, 24, 0x102000), put32(k, 28, 0x100000);
    return k;
}

multiboot::LoadResult load(Guest& g, const Image& kernel, const AcpiTables& t)
{
    multiboot::LoadRequest r{};
    r.ram = g.ram;
    r.image = kernel.data();
    r.image_size = kernel.size();
    r.cmdline = "console=ttyS0";
    r.acpi_rsdp = t.rsdp;
    r.acpi_rsdp_length = t.rsdp_length;
    multiboot::LoadResult result;
    char error[256];
    EXPECT_TRUE(multiboot::load_multiboot(r, result, error, sizeof error)) << error;
    return result;
}

TEST(GuestAcpiBoot, Multiboot2TagCarriesTheRsdp)
{
    Guest g(16 * MiB);
    guest_memory::Layout layout;
    char error[128];
    ASSERT_TRUE(guest_memory::build_layout(g.ram.size, 0, layout, error, sizeof error)) << error;
    AcpiTables t = build(g, 4, layout.acpi_base, layout.acpi_bytes);
    Image region = g.bytes(layout.acpi_base, layout.acpi_bytes);

    multiboot::LoadResult result = load(g, mb2_kernel(), t);
    ASSERT_EQ(result.protocol, multiboot::Protocol::v2);
    EXPECT_EQ(result.ebx_info, 0x9000u);
    EXPECT_EQ(g.bytes(layout.acpi_base, layout.acpi_bytes), region) << "the loader wrote into the ACPI region";

    auto info = std::make_unique<mb2::BootInfo>();
    const char* parse_error = mb2::parse(&g.memory[result.ebx_info], *info);
    ASSERT_EQ(parse_error, nullptr) << parse_error;
    ASSERT_NE(info->rsdp, nullptr);
    ASSERT_EQ(info->rsdp_length, 36u);
    EXPECT_EQ(Image(info->rsdp, info->rsdp + info->rsdp_length), g.bytes(t.rsdp_address, 36));
    // The tag is 8-byte aligned in the MBI, its size 8 + 36.
    uint64_t tag = uint64_t(info->rsdp - g.memory.data()) - 8;
    EXPECT_EQ((tag - result.ebx_info) % 8, 0u);
    EXPECT_EQ(g.u32(tag), 15u);
    EXPECT_EQ(g.u32(tag + 4), 44u);
    // The memory map reserves the region; mem_lower ends below it.
    EXPECT_EQ(info->basic_mem_lower_kib, 636u);
    bool reserved = false;
    for (size_t i = 0; i < info->memory_count; ++i) {
        const mb2::MemoryRegion& m = info->memory[i];
        if (m.type == 1) {
            EXPECT_FALSE(m.base < layout.acpi_base + layout.acpi_bytes && layout.acpi_base < m.base + m.length);
        }
        if (m.base == layout.acpi_base && m.length == layout.acpi_bytes && m.type == 2) reserved = true;
    }
    EXPECT_TRUE(reserved);

    // What a kernel does with the tag: the copy leads to the tables in guest memory.
    auto p = std::make_unique<acpi::Platform>();
    acpi::PhysicalReader reader = g.reader();
    ASSERT_EQ(acpi::parse(info->rsdp, info->rsdp_length, reader, *p), nullptr);
    EXPECT_EQ(warnings(*p), "");
    EXPECT_TRUE(p->uses_xsdt);
    expect_cpus(*p, 4);
}

TEST(GuestAcpiBoot, MultibootV1GuestsScan)
{
    Guest g(16 * MiB);
    guest_memory::Layout layout;
    char error[128];
    ASSERT_TRUE(guest_memory::build_layout(g.ram.size, 0, layout, error, sizeof error)) << error;
    AcpiTables t = build(g, 64, layout.acpi_base, layout.acpi_bytes);
    Image region = g.bytes(layout.acpi_base, layout.acpi_bytes);

    multiboot::LoadResult result = load(g, mb1_kernel(), t);
    ASSERT_EQ(result.protocol, multiboot::Protocol::v1);
    EXPECT_EQ(g.bytes(layout.acpi_base, layout.acpi_bytes), region);
    uint32_t mbi = result.ebx_info;
    EXPECT_EQ(g.u32(mbi + 4), 636u); // mem_lower
    // mmap: the region is reserved.
    uint32_t length = g.u32(mbi + 44), addr = g.u32(mbi + 48);
    bool reserved = false;
    for (uint32_t p = addr; p < addr + length; p += g.u32(p) + 4)
        if (g.u64(p + 4) == layout.acpi_base && g.u64(p + 12) == layout.acpi_bytes && g.u32(p + 20) == 2) reserved = true;
    EXPECT_TRUE(reserved);

    acpi::PhysicalReader reader = g.reader();
    uint64_t found = acpi::scan_bios_areas(reader);
    EXPECT_EQ(found, t.rsdp_address);
    auto p = std::make_unique<acpi::Platform>();
    ASSERT_EQ(acpi::parse_at(found, reader, *p), nullptr);
    EXPECT_EQ(warnings(*p), "");
    expect_cpus(*p, 64);
}

} // namespace
