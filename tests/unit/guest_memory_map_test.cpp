#include "vmx/guest_memory_map.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using guest_memory::EptKind;
using guest_memory::EptRange;
using guest_memory::Layout;
using guest_memory::Region;
using guest_memory::RegionType;

constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;

struct R {
    uint64_t base, length;
    RegionType type;
    bool operator==(const R&) const = default;
};
struct E {
    uint64_t gpa, offset, length;
    EptKind kind;
    bool operator==(const E&) const = default;
};

std::vector<R> regions(const Layout& l)
{
    std::vector<R> v;
    for (size_t i = 0; i < l.region_count; ++i) v.push_back({l.regions[i].base, l.regions[i].length, l.regions[i].type});
    return v;
}

std::vector<E> ept(const Layout& l)
{
    std::vector<E> v;
    for (size_t i = 0; i < l.ept_count; ++i) v.push_back({l.ept[i].guest_physical, l.ept[i].ram_offset, l.ept[i].length, l.ept[i].kind});
    return v;
}

Layout build(uint64_t ram, uint64_t firmware = 0)
{
    Layout l;
    char error[128];
    EXPECT_TRUE(guest_memory::build_layout(ram, firmware, l, error, sizeof error)) << error;
    return l;
}

std::string build_error(uint64_t ram, uint64_t firmware = 0)
{
    Layout l;
    char error[128] = "untouched";
    EXPECT_FALSE(guest_memory::build_layout(ram, firmware, l, error, sizeof error));
    return error;
}

// Structural rules for every valid layout: the map is sorted and disjoint, RAM is exactly [0, 636K)
// and [1M, S), the ACPI region [636K, 640K) is reserved in the map but mapped at its own offset,
// EPT maps RAM at its own offset, nothing touches the device pages, and every EPT range is 4
// KiB-granular and backed by GuestRam.
void check_invariants(const Layout& l)
{
    uint64_t ram_total = 0;
    for (size_t i = 0; i < l.region_count; ++i) {
        const Region& r = l.regions[i];
        EXPECT_GT(r.length, 0u);
        if (i) {
            EXPECT_GE(r.base, l.regions[i - 1].base + l.regions[i - 1].length);
        }
        if (r.type == RegionType::ram) ram_total += r.length;
        for (uint64_t device : {guest_memory::kIoApicBase, guest_memory::kLapicBase})
            EXPECT_FALSE(device >= r.base && device < r.base + r.length);
    }
    EXPECT_EQ(ram_total, l.ram_bytes - 388 * KiB);
    EXPECT_EQ(l.acpi_base, 0x9F000u);
    EXPECT_EQ(l.acpi_bytes, 4 * KiB);
    EXPECT_EQ(l.mem_lower_kib, 636u);
    EXPECT_FALSE(l.is_ram(l.acpi_base, 1));
    bool acpi_listed = false, acpi_mapped = false;
    for (size_t i = 0; i < l.region_count; ++i)
        if (l.regions[i].base == l.acpi_base && l.regions[i].length == l.acpi_bytes &&
            l.regions[i].type == RegionType::reserved)
            acpi_listed = true;
    for (size_t i = 0; i < l.ept_count; ++i)
        if (l.ept[i].kind == EptKind::acpi) {
            EXPECT_FALSE(acpi_mapped) << "ACPI region mapped twice";
            EXPECT_EQ(l.ept[i].guest_physical, l.acpi_base);
            EXPECT_EQ(l.ept[i].ram_offset, l.acpi_base);
            EXPECT_EQ(l.ept[i].length, l.acpi_bytes);
            acpi_mapped = true;
        }
    EXPECT_TRUE(acpi_listed);
    EXPECT_TRUE(acpi_mapped);
    for (size_t i = 0; i < l.ept_count; ++i) {
        const EptRange& e = l.ept[i];
        EXPECT_EQ(e.guest_physical % (4 * KiB), 0u);
        EXPECT_EQ(e.ram_offset % (4 * KiB), 0u);
        EXPECT_EQ(e.length % (4 * KiB), 0u);
        EXPECT_LE(e.ram_offset + e.length, l.ram_bytes);
        if (i) {
            EXPECT_GE(e.guest_physical, l.ept[i - 1].guest_physical + l.ept[i - 1].length);
        }
        if (e.kind == EptKind::ram) {
            EXPECT_EQ(e.guest_physical, e.ram_offset);
            EXPECT_TRUE(l.is_ram(e.guest_physical, e.length));
        }
        for (uint64_t device : {guest_memory::kIoApicBase, guest_memory::kLapicBase})
            EXPECT_FALSE(device >= e.guest_physical && device < e.guest_physical + e.length);
    }
}

TEST(GuestMemoryMap, Typical)
{
    Layout l = build(32 * MiB);
    EXPECT_EQ(l.ram_bytes, 32 * MiB);
    EXPECT_EQ(l.firmware_bytes, 0u);
    EXPECT_EQ(regions(l), (std::vector<R>{{0, 0x9F000, RegionType::ram},
                                          {0x9F000, 0x1000, RegionType::reserved},
                                          {0xA0000, 0x60000, RegionType::reserved},
                                          {0x100000, 31 * MiB, RegionType::ram}}));
    EXPECT_EQ(ept(l), (std::vector<E>{{0, 0, 0x9F000, EptKind::ram},
                                      {0x9F000, 0x9F000, 0x1000, EptKind::acpi},
                                      {0x100000, 0x100000, 31 * MiB, EptKind::ram}}));
    EXPECT_EQ(l.acpi_base, guest_memory::kAcpiRegionBase);
    EXPECT_EQ(l.acpi_bytes, guest_memory::kAcpiRegionBytes);
    EXPECT_EQ(l.mem_lower_kib, 636u);
    EXPECT_EQ(l.mem_upper_kib, 31u * 1024);
    EXPECT_EQ(uint32_t(RegionType::ram), 1u);
    EXPECT_EQ(uint32_t(RegionType::reserved), 2u);
    check_invariants(l);
}

TEST(GuestMemoryMap, SmallestAndLargest)
{
    Layout one = build(1 * MiB);
    EXPECT_EQ(regions(one), (std::vector<R>{{0, 0x9F000, RegionType::ram},
                                            {0x9F000, 0x1000, RegionType::reserved},
                                            {0xA0000, 0x60000, RegionType::reserved}}));
    EXPECT_EQ(ept(one), (std::vector<E>{{0, 0, 0x9F000, EptKind::ram}, {0x9F000, 0x9F000, 0x1000, EptKind::acpi}}));
    EXPECT_EQ(one.mem_upper_kib, 0u);
    check_invariants(one);

    Layout odd = build(1 * MiB + 4 * KiB);
    EXPECT_EQ(odd.mem_upper_kib, 4u);
    check_invariants(odd);

    Layout big = build(3 * GiB);
    EXPECT_EQ(big.regions[3].length, 3 * GiB - MiB);
    EXPECT_EQ(big.mem_upper_kib, uint32_t((3 * GiB - MiB) / KiB));
    check_invariants(big);
}

TEST(GuestMemoryMap, Errors)
{
    EXPECT_EQ(build_error(3 * GiB + 4 * KiB),
              "guest RAM of 3221229568 bytes is not a multiple of 4 KiB from 1 MiB to 3 GiB");
    EXPECT_EQ(build_error(1 * MiB - 4 * KiB), "guest RAM of 1044480 bytes is not a multiple of 4 KiB from 1 MiB to 3 GiB");
    EXPECT_EQ(build_error(0), "guest RAM of 0 bytes is not a multiple of 4 KiB from 1 MiB to 3 GiB");
    EXPECT_EQ(build_error(16 * MiB + 1), "guest RAM of 16777217 bytes is not a multiple of 4 KiB from 1 MiB to 3 GiB");
    EXPECT_EQ(build_error(16 * MiB, 32 * KiB), "firmware region of 32768 bytes is none of 0, 64 KiB and 128 KiB");
}

TEST(GuestMemoryMap, FirmwareRegionAndResetAlias)
{
    Layout l = build(16 * MiB, 64 * KiB);
    EXPECT_EQ(l.firmware_bytes, 64 * KiB);
    EXPECT_EQ(regions(l), (std::vector<R>{{0, 0x9F000, RegionType::ram},
                                          {0x9F000, 0x1000, RegionType::reserved},
                                          {0xA0000, 0x60000, RegionType::reserved},
                                          {0x100000, 15 * MiB, RegionType::ram},
                                          {0xFFFF0000, 64 * KiB, RegionType::reserved}}));
    EXPECT_EQ(ept(l), (std::vector<E>{{0, 0, 0x9F000, EptKind::ram},
                                      {0x9F000, 0x9F000, 0x1000, EptKind::acpi},
                                      {0xF0000, 0xF0000, 64 * KiB, EptKind::firmware},
                                      {0x100000, 0x100000, 15 * MiB, EptKind::ram},
                                      {0xFFFF0000, 0xF0000, 64 * KiB, EptKind::firmware_alias}}));
    check_invariants(l);
    // CS base 0xFFFF0000 + IP 0xFFF0 and CS base 0xF0000 + IP 0xFFF0 reach the same host byte.
    const EptRange& alias = l.ept[4];
    EXPECT_EQ(alias.ram_offset + (0xFFFFFFF0 - alias.guest_physical), 0xFFFF0u);

    Layout large = build(1 * MiB, 128 * KiB);
    EXPECT_EQ(ept(large), (std::vector<E>{{0, 0, 0x9F000, EptKind::ram},
                                          {0x9F000, 0x9F000, 0x1000, EptKind::acpi},
                                          {0xE0000, 0xE0000, 128 * KiB, EptKind::firmware},
                                          {0xFFFE0000, 0xE0000, 128 * KiB, EptKind::firmware_alias}}));
    EXPECT_EQ(large.regions[3].base, 0xFFFE0000u);
    check_invariants(large);
    // The firmware region is not RAM for the guest's memory map.
    EXPECT_FALSE(large.is_ram(0xF0000, 16));
}

TEST(GuestMemoryMap, FirmwareRegionBytes)
{
    EXPECT_EQ(guest_memory::firmware_region_bytes(0), 0u);
    EXPECT_EQ(guest_memory::firmware_region_bytes(1), 64 * KiB);
    EXPECT_EQ(guest_memory::firmware_region_bytes(64 * KiB), 64 * KiB);
    EXPECT_EQ(guest_memory::firmware_region_bytes(64 * KiB + 1), 128 * KiB);
    EXPECT_EQ(guest_memory::firmware_region_bytes(128 * KiB), 128 * KiB);
    EXPECT_EQ(guest_memory::firmware_region_bytes(128 * KiB + 1), 0u);
}

TEST(GuestMemoryMap, IsRam)
{
    Layout l = build(16 * MiB);
    EXPECT_TRUE(l.is_ram(0, 0x9F000));
    EXPECT_TRUE(l.is_ram(0x9E000, 0x1000));
    EXPECT_FALSE(l.is_ram(0x9E000, 0x1001));
    EXPECT_TRUE(l.is_ram(0x9F000, 0)); // the end of low RAM
    EXPECT_FALSE(l.is_ram(0, 0xA0000)); // the ACPI region is reserved
    EXPECT_FALSE(l.is_ram(0x9F000, 1));
    EXPECT_FALSE(l.is_ram(0x9FFFF, 1));
    EXPECT_FALSE(l.is_ram(0xA0000, 1));
    EXPECT_FALSE(l.is_ram(0xFFFFF, 1));
    EXPECT_TRUE(l.is_ram(0x100000, 15 * MiB));
    EXPECT_FALSE(l.is_ram(0x100000, 15 * MiB + 1));
    EXPECT_FALSE(l.is_ram(0x9E000, 0x200000)); // spans the ACPI region and the hole
    EXPECT_TRUE(l.is_ram(16 * MiB, 0));        // empty range at the end
    EXPECT_FALSE(l.is_ram(16 * MiB, 1));
    EXPECT_FALSE(l.is_ram(UINT64_MAX, 2));
    EXPECT_FALSE(l.is_ram(0x100000, UINT64_MAX));
    EXPECT_FALSE(l.is_ram(guest_memory::kLapicBase, 4096));
}

} // namespace
