#include "drivers/acpi.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<uint8_t>;

// Fake physical memory. Every map() hands out a fresh heap copy of exactly the requested
// length, so AddressSanitizer catches any read beyond what was mapped. In single-window mode
// the previous copy is freed on each call, which catches use of a stale mapping.
class FakeMemory {
public:
    bool single_window = false;
    size_t map_calls = 0;

    void write(uint64_t address, const Bytes& bytes)
    {
        auto it = segments_.upper_bound(address);
        if (it != segments_.begin()) {
            --it;
            if (address + bytes.size() <= it->first + it->second.size()) {
                std::copy(bytes.begin(), bytes.end(), it->second.begin() + (address - it->first));
                return;
            }
        }
        segments_[address] = bytes;
    }
    void zero_region(uint64_t address, size_t size) { segments_[address] = Bytes(size, 0); }

    acpi::PhysicalReader reader() { return {&FakeMemory::map_thunk, this}; }

private:
    static const void* map_thunk(void* context, uint64_t phys, size_t length)
    {
        return static_cast<FakeMemory*>(context)->map(phys, length);
    }
    const void* map(uint64_t phys, size_t length)
    {
        ++map_calls;
        if (single_window) mappings_.clear();
        auto it = segments_.upper_bound(phys);
        if (it == segments_.begin() || length == 0) return nullptr;
        --it;
        const Bytes& segment = it->second;
        uint64_t offset = phys - it->first;
        if (offset > segment.size() || length > segment.size() - offset) return nullptr;
        auto copy = std::make_unique<uint8_t[]>(length);
        std::memcpy(copy.get(), segment.data() + offset, length);
        mappings_.push_back(std::move(copy));
        return mappings_.back().get();
    }

    std::map<uint64_t, Bytes> segments_;
    std::vector<std::unique_ptr<uint8_t[]>> mappings_;
};

// ---- byte builders ---------------------------------------------------------------------------

void put8(Bytes& b, uint8_t v) { b.push_back(v); }
void put16(Bytes& b, uint16_t v) { for (int i = 0; i < 2; ++i) b.push_back(uint8_t(v >> (8 * i))); }
void put32(Bytes& b, uint32_t v) { for (int i = 0; i < 4; ++i) b.push_back(uint8_t(v >> (8 * i))); }
void put64(Bytes& b, uint64_t v) { for (int i = 0; i < 8; ++i) b.push_back(uint8_t(v >> (8 * i))); }
void set_le(Bytes& b, size_t offset, uint64_t v, size_t size)
{
    for (size_t i = 0; i < size; ++i) b.at(offset + i) = uint8_t(v >> (8 * i));
}
void set_gas(Bytes& b, size_t offset, uint8_t space, uint8_t width, uint8_t bit_offset,
             uint8_t access, uint64_t address)
{
    b.at(offset) = space;
    b.at(offset + 1) = width;
    b.at(offset + 2) = bit_offset;
    b.at(offset + 3) = access;
    set_le(b, offset + 4, address, 8);
}

uint8_t sum(const Bytes& b, size_t count)
{
    uint8_t s = 0;
    for (size_t i = 0; i < count; ++i) s = uint8_t(s + b[i]);
    return s;
}
void fix_checksum(Bytes& b, size_t checksum_offset, size_t count)
{
    b.at(checksum_offset) = 0;
    b[checksum_offset] = uint8_t(-sum(b, count));
}

// A table of `length` bytes with a filled-in header; call seal() after editing the body.
Bytes blank_table(const char* signature, size_t length, uint8_t revision)
{
    Bytes b(length, 0);
    std::memcpy(b.data(), signature, 4);
    b[8] = revision;
    std::memcpy(b.data() + 10, "MTRYSK", 6);
    std::memcpy(b.data() + 16, "TESTTBL ", 8);
    set_le(b, 24, 1, 4);
    std::memcpy(b.data() + 28, "TEST", 4);
    set_le(b, 32, 1, 4);
    return b;
}
void seal(Bytes& table)
{
    set_le(table, 4, table.size(), 4);
    fix_checksum(table, 9, table.size());
}
Bytes make_table(const char* signature, const Bytes& body, uint8_t revision = 1)
{
    Bytes b = blank_table(signature, 36, revision);
    b.insert(b.end(), body.begin(), body.end());
    seal(b);
    return b;
}

Bytes rsdp_v1(uint32_t rsdt)
{
    Bytes b;
    for (char c : std::string("RSD PTR ")) b.push_back(uint8_t(c));
    put8(b, 0);
    for (char c : std::string("MTRYSK")) b.push_back(uint8_t(c));
    put8(b, 0);
    put32(b, rsdt);
    fix_checksum(b, 8, 20);
    return b;
}
Bytes rsdp_v2(uint32_t rsdt, uint64_t xsdt)
{
    Bytes b = rsdp_v1(rsdt);
    b[15] = 2;
    put32(b, 36);
    put64(b, xsdt);
    put8(b, 0);
    put8(b, 0), put8(b, 0), put8(b, 0);
    fix_checksum(b, 8, 20);
    fix_checksum(b, 32, 36);
    return b;
}
Bytes make_rsdt(const std::vector<uint32_t>& entries)
{
    Bytes body;
    for (uint32_t e : entries) put32(body, e);
    return make_table("RSDT", body);
}
Bytes make_xsdt(const std::vector<uint64_t>& entries)
{
    Bytes body;
    for (uint64_t e : entries) put64(body, e);
    return make_table("XSDT", body);
}

struct Madt {
    Bytes body;
    explicit Madt(uint32_t lapic_address = 0xFEE00000, uint32_t flags = 1)
    {
        put32(body, lapic_address);
        put32(body, flags);
    }
    Madt& lapic(uint8_t uid, uint8_t id, uint32_t flags)
    {
        put8(body, 0), put8(body, 8), put8(body, uid), put8(body, id), put32(body, flags);
        return *this;
    }
    Madt& ioapic(uint8_t id, uint32_t address, uint32_t gsi_base)
    {
        put8(body, 1), put8(body, 12), put8(body, id), put8(body, 0);
        put32(body, address), put32(body, gsi_base);
        return *this;
    }
    Madt& iso(uint8_t source, uint32_t gsi, uint16_t flags)
    {
        put8(body, 2), put8(body, 10), put8(body, 0), put8(body, source);
        put32(body, gsi), put16(body, flags);
        return *this;
    }
    Madt& nmi(uint8_t uid, uint16_t flags, uint8_t lint)
    {
        put8(body, 4), put8(body, 6), put8(body, uid), put16(body, flags), put8(body, lint);
        return *this;
    }
    Madt& lapic_override(uint64_t address)
    {
        put8(body, 5), put8(body, 12), put16(body, 0), put64(body, address);
        return *this;
    }
    Madt& x2apic(uint32_t id, uint32_t flags, uint32_t uid)
    {
        put8(body, 9), put8(body, 16), put16(body, 0);
        put32(body, id), put32(body, flags), put32(body, uid);
        return *this;
    }
    Madt& raw(const Bytes& bytes)
    {
        body.insert(body.end(), bytes.begin(), bytes.end());
        return *this;
    }
    Bytes build() const { return make_table("APIC", body, 5); }
};

// A 276-byte (ACPI 6.x) FADT pointing at `dsdt`, with legacy PM1a at port 0x604.
Bytes make_fadt(uint64_t dsdt, uint32_t flags = 0)
{
    Bytes f = blank_table("FACP", 276, 6);
    set_le(f, 40, dsdt, 4);
    set_le(f, 112, flags, 4);
    set_le(f, 64, 0x604, 4);  // PM1a_CNT_BLK
    f[89] = 2;                // PM1_CNT_LEN
    seal(f);
    return f;
}

Bytes make_dsdt(const Bytes& aml) { return make_table("DSDT", aml, 2); }

// `Name (_S5, Package (count) {elements...})`, with a 2-byte PkgLength when needed.
Bytes s5_name(const Bytes& elements, uint8_t count, bool root_prefix = false)
{
    Bytes b = {0x08};
    if (root_prefix) b.push_back('\\');
    for (char c : std::string("_S5_")) b.push_back(uint8_t(c));
    b.push_back(0x12);
    size_t length = 1 + 1 + elements.size();
    if (length <= 0x3F) {
        b.push_back(uint8_t(length));
    } else {
        length += 1;
        b.push_back(uint8_t(0x40 | (length & 0x0F)));
        b.push_back(uint8_t(length >> 4));
    }
    b.push_back(count);
    b.insert(b.end(), elements.begin(), elements.end());
    return b;
}

constexpr uint64_t kRsdt = 0x7FE0000, kXsdt = 0x7FE1000, kFadt = 0x7FE2000, kMadt = 0x7FE3000,
                   kDsdt = 0x7FE4000, kHpet = 0x7FE5000, kMcfg = 0x7FE6000, kSsdt = 0x7FE7000,
                   kSpare = 0x7FE8000;

bool has_warning(const acpi::Platform& p, const std::string& message,
                 const char* signature = nullptr)
{
    for (size_t i = 0; i < p.warning_count; ++i)
        if (p.warnings[i].message == message &&
            (!signature || std::string(p.warnings[i].signature) == signature))
            return true;
    return false;
}
std::string warnings_of(const acpi::Platform& p)
{
    std::string text;
    for (size_t i = 0; i < p.warning_count; ++i)
        text += std::string("[") + p.warnings[i].signature + "] " + p.warnings[i].message + "\n";
    return text;
}

class AcpiParse : public ::testing::Test {
protected:
    FakeMemory memory;
    std::unique_ptr<acpi::Platform> owned = std::make_unique<acpi::Platform>();
    acpi::Platform& out = *owned;

    // A typical platform: XSDT (and RSDT) -> FADT, MADT; FADT -> DSDT with \_S5.
    void install_standard()
    {
        memory.write(kMadt, Madt().lapic(0, 0, 1).lapic(1, 1, 1).ioapic(0, 0xFEC00000, 0).build());
        memory.write(kFadt, make_fadt(kDsdt));
        memory.write(kDsdt, make_dsdt(s5_name({0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00}, 4)));
        memory.write(kXsdt, make_xsdt({kFadt, kMadt}));
        memory.write(kRsdt, make_rsdt({uint32_t(kFadt), uint32_t(kMadt)}));
    }
    const char* parse_v1(uint32_t rsdt)
    {
        Bytes rsdp = rsdp_v1(rsdt);
        return acpi::parse(rsdp.data(), rsdp.size(), memory.reader(), out);
    }
    const char* parse_v2(uint32_t rsdt, uint64_t xsdt)
    {
        Bytes rsdp = rsdp_v2(rsdt, xsdt);
        return acpi::parse(rsdp.data(), rsdp.size(), memory.reader(), out);
    }
    // Parses a platform whose XSDT lists only `table` at kSpare (plus FADT/DSDT when given).
    const char* parse_with(const Bytes& table)
    {
        memory.write(kSpare, table);
        memory.write(kXsdt, make_xsdt({kSpare}));
        return parse_v2(0, kXsdt);
    }
};

// ---- RSDP ------------------------------------------------------------------------------------

TEST(AcpiRsdp, AcceptsV1AndRejectsItsFaults)
{
    Bytes r = rsdp_v1(0x1000);
    EXPECT_EQ(acpi::validate_rsdp(r.data(), r.size()), nullptr);
    EXPECT_STREQ(acpi::validate_rsdp(r.data(), 19), "RSDP is shorter than 20 bytes");
    EXPECT_STREQ(acpi::validate_rsdp(nullptr, 20), "RSDP pointer is null");

    Bytes bad_sum = r;
    bad_sum[16] ^= 1;
    EXPECT_STREQ(acpi::validate_rsdp(bad_sum.data(), bad_sum.size()), "RSDP checksum mismatch");

    Bytes bad_sig = r;
    bad_sig[7] = 'X';
    fix_checksum(bad_sig, 8, 20);
    EXPECT_STREQ(acpi::validate_rsdp(bad_sig.data(), bad_sig.size()), "RSDP signature mismatch");
}

TEST(AcpiRsdp, AcceptsV2AndChecksTheExtendedPart)
{
    Bytes r = rsdp_v2(0x1000, 0x2000);
    EXPECT_EQ(acpi::validate_rsdp(r.data(), r.size()), nullptr);

    // The XSDT address lies outside the v1 checksum: only the extended checksum notices.
    Bytes bad_ext = r;
    bad_ext[24] ^= 0x10;
    EXPECT_EQ(sum(bad_ext, 20), 0);
    EXPECT_STREQ(acpi::validate_rsdp(bad_ext.data(), bad_ext.size()),
                 "RSDP extended checksum mismatch");

    EXPECT_STREQ(acpi::validate_rsdp(r.data(), 20),
                 "RSDP revision 2+ but fewer than 36 bytes given");

    Bytes long_rsdp = r;
    set_le(long_rsdp, 20, 64, 4);
    fix_checksum(long_rsdp, 32, 36);
    EXPECT_STREQ(acpi::validate_rsdp(long_rsdp.data(), long_rsdp.size()),
                 "RSDP length runs past the bytes given");

    Bytes short_length = r;
    set_le(short_length, 20, 20, 4);
    fix_checksum(short_length, 32, 36);
    EXPECT_STREQ(acpi::validate_rsdp(short_length.data(), short_length.size()),
                 "RSDP length is smaller than 36");
}

// ---- BIOS area scan --------------------------------------------------------------------------

TEST(AcpiScan, FindsRsdpInEbdaBeforeBiosArea)
{
    FakeMemory memory;
    memory.zero_region(0x400, 0x100);
    memory.write(0x40E, {0xC0, 0x9F});  // EBDA segment 0x9FC0 -> 0x9FC00
    memory.zero_region(0x9FC00, 0x400);
    memory.zero_region(0xE0000, 0x20000);
    memory.write(0x9FC00 + 0x40, rsdp_v2(0x1000, 0x2000));
    memory.write(0xF0000, rsdp_v1(0x1000));
    EXPECT_EQ(acpi::scan_bios_areas(memory.reader()), 0x9FC40u);
}

TEST(AcpiScan, FindsRsdpInBiosAreaSkippingBadAndMisalignedCandidates)
{
    FakeMemory memory;
    memory.zero_region(0x400, 0x100);  // EBDA segment 0: no EBDA
    memory.zero_region(0xE0000, 0x20000);
    Bytes bad = rsdp_v1(0x1000);
    bad[9] ^= 1;
    memory.write(0xE0010, bad);
    memory.write(0xE0108, rsdp_v1(0x1000));  // not on a 16-byte boundary
    memory.write(0xF5A30, rsdp_v1(0x1000));
    EXPECT_EQ(acpi::scan_bios_areas(memory.reader()), 0xF5A30u);
}

TEST(AcpiScan, ReturnsZeroWhenNothingValidOrUnmappable)
{
    FakeMemory memory;
    EXPECT_EQ(acpi::scan_bios_areas(memory.reader()), 0u);
    memory.zero_region(0x400, 0x100);
    memory.zero_region(0xE0000, 0x20000);
    Bytes bad = rsdp_v2(0x1000, 0x2000);
    bad[33] ^= 1;  // extended checksum broken
    memory.write(0xE0000, bad);
    EXPECT_EQ(acpi::scan_bios_areas(memory.reader()), 0u);
}

TEST_F(AcpiParse, ParseAtUsesScannedAddress)
{
    install_standard();
    memory.zero_region(0xE0000, 0x20000);
    memory.write(0xFE000, rsdp_v2(uint32_t(kRsdt), kXsdt));
    uint64_t rsdp = acpi::scan_bios_areas(memory.reader());
    ASSERT_EQ(rsdp, 0xFE000u);
    ASSERT_EQ(acpi::parse_at(rsdp, memory.reader(), out), nullptr) << warnings_of(out);
    EXPECT_EQ(out.rsdp_address, 0xFE000u);
    EXPECT_TRUE(out.uses_xsdt);
    EXPECT_EQ(out.cpu_count, 2u);
}

// ---- root tables -----------------------------------------------------------------------------

TEST_F(AcpiParse, RsdtPathForRevisionZero)
{
    install_standard();
    ASSERT_EQ(parse_v1(uint32_t(kRsdt)), nullptr) << warnings_of(out);
    EXPECT_EQ(out.revision, 0);
    EXPECT_STREQ(out.oem_id, "MTRYSK");
    EXPECT_FALSE(out.uses_xsdt);
    EXPECT_EQ(out.root_table_address, kRsdt);
    EXPECT_TRUE(out.has_madt);
    EXPECT_TRUE(out.has_fadt);
    EXPECT_EQ(out.cpu_count, 2u);
    EXPECT_EQ(out.warning_count, 0u) << warnings_of(out);
    EXPECT_EQ(acpi::find_table(out, "APIC"), kMadt);
    EXPECT_EQ(acpi::find_table(out, "DSDT"), kDsdt);
    EXPECT_EQ(acpi::find_table(out, "DMAR"), 0u);
}

TEST_F(AcpiParse, XsdtPreferredOverRsdtAndReachesAbove4G)
{
    constexpr uint64_t kHighMadt = 0x1'2000'0000;
    memory.write(kMadt, Madt().lapic(0, 0, 1).build());
    memory.write(kHighMadt, Madt().lapic(0, 0, 1).lapic(1, 4, 1).lapic(2, 8, 1).build());
    memory.write(kRsdt, make_rsdt({uint32_t(kMadt)}));
    memory.write(kXsdt, make_xsdt({kHighMadt}));
    ASSERT_EQ(parse_v2(uint32_t(kRsdt), kXsdt), nullptr) << warnings_of(out);
    EXPECT_TRUE(out.uses_xsdt);
    EXPECT_EQ(out.revision, 2);
    ASSERT_EQ(out.cpu_count, 3u);
    EXPECT_EQ(out.cpus[2].apic_id, 8u);
    EXPECT_EQ(acpi::find_table(out, "APIC"), kHighMadt);
}

TEST_F(AcpiParse, SecondMadtIsIgnored)
{
    memory.write(kMadt, Madt().lapic(0, 0, 1).build());
    memory.write(kSpare, Madt().lapic(0, 1, 1).lapic(1, 2, 1).build());
    memory.write(kXsdt, make_xsdt({kMadt, kSpare}));
    ASSERT_EQ(parse_v2(0, kXsdt), nullptr);
    ASSERT_EQ(out.cpu_count, 1u);
    EXPECT_EQ(out.cpus[0].apic_id, 0u);
    EXPECT_TRUE(has_warning(out, "second MADT ignored", "APIC"));
}

TEST_F(AcpiParse, RevisionTwoWithoutXsdtUsesRsdt)
{
    install_standard();
    ASSERT_EQ(parse_v2(uint32_t(kRsdt), 0), nullptr);
    EXPECT_FALSE(out.uses_xsdt);
    EXPECT_EQ(out.cpu_count, 2u);
}

TEST_F(AcpiParse, TwentyByteCopyOfRevisionTwoRsdpUsesRsdt)
{
    install_standard();
    Bytes rsdp = rsdp_v2(uint32_t(kRsdt), kXsdt);
    ASSERT_EQ(acpi::parse(rsdp.data(), 20, memory.reader(), out), nullptr);
    EXPECT_FALSE(out.uses_xsdt);
    EXPECT_EQ(out.revision, 2);
    EXPECT_EQ(out.cpu_count, 2u);
    EXPECT_TRUE(has_warning(
        out, "RSDP revision 2+ given as its first 20 bytes; the XSDT is not reachable"));
}

TEST_F(AcpiParse, BadXsdtFallsBackToRsdtWithWarning)
{
    install_standard();
    Bytes xsdt = make_xsdt({kFadt, kMadt});
    xsdt[40] ^= 1;
    memory.write(kXsdt, xsdt);
    ASSERT_EQ(parse_v2(uint32_t(kRsdt), kXsdt), nullptr);
    EXPECT_FALSE(out.uses_xsdt);
    EXPECT_TRUE(out.has_madt);
    EXPECT_TRUE(has_warning(out, "XSDT checksum mismatch", "XSDT")) << warnings_of(out);
}

TEST_F(AcpiParse, UnusableRootTableIsAnError)
{
    install_standard();
    Bytes rsdt = make_rsdt({uint32_t(kFadt)});
    rsdt[9] ^= 0x55;
    memory.write(kRsdt, rsdt);
    EXPECT_STREQ(parse_v1(uint32_t(kRsdt)), "RSDT checksum mismatch");
    EXPECT_FALSE(out.has_fadt);

    EXPECT_STREQ(parse_v1(0x3000000), "RSDT header could not be mapped");
    EXPECT_STREQ(parse_v1(uint32_t(kMadt)), "RSDT signature mismatch");
    EXPECT_STREQ(parse_v2(0, 0), "RSDP holds neither an RSDT nor an XSDT address");
    EXPECT_STREQ(parse_v2(0, 0x3000000), "XSDT header could not be mapped");

    Bytes bad_rsdp = rsdp_v1(uint32_t(kRsdt));
    bad_rsdp[0] = 'X';
    EXPECT_STREQ(acpi::parse(bad_rsdp.data(), bad_rsdp.size(), memory.reader(), out),
                 "RSDP signature mismatch");
}

TEST_F(AcpiParse, TableWithBadChecksumIsSkippedWithWarning)
{
    install_standard();
    Bytes madt = Madt().lapic(0, 0, 1).build();
    madt[44 + 3] = 7;  // APIC ID changed after the checksum was computed
    memory.write(kMadt, madt);
    ASSERT_EQ(parse_v2(uint32_t(kRsdt), kXsdt), nullptr);
    EXPECT_FALSE(out.has_madt);
    EXPECT_EQ(out.cpu_count, 0u);
    EXPECT_TRUE(out.has_fadt);  // the rest is still parsed
    ASSERT_TRUE(has_warning(out, "MADT checksum mismatch", "APIC")) << warnings_of(out);
    EXPECT_EQ(out.warnings[0].address, kMadt);
    EXPECT_EQ(acpi::find_table(out, "APIC"), 0u);
}

TEST_F(AcpiParse, UnmappableTablesAreSkippedWithWarnings)
{
    install_standard();
    constexpr uint64_t kNowhere = 0x5'0000'0000;
    // One pointer leads nowhere; one table claims more bytes than exist; one is absurdly long.
    Bytes runs_past = Madt().lapic(0, 0, 1).build();
    set_le(runs_past, 4, 4096, 4);
    Bytes huge = make_table("SSDT", {});
    set_le(huge, 4, 0x7FFFFFFF, 4);
    memory.write(kSpare, runs_past);
    memory.write(kSsdt, huge);
    memory.write(kXsdt, make_xsdt({kNowhere, kSpare, kSsdt, 0, kFadt}));
    ASSERT_EQ(parse_v2(0, kXsdt), nullptr);
    EXPECT_TRUE(has_warning(out, "table header could not be mapped")) << warnings_of(out);
    EXPECT_TRUE(has_warning(out, "MADT could not be mapped in full", "APIC")) << warnings_of(out);
    EXPECT_TRUE(has_warning(out, "SSDT length is implausibly large", "SSDT")) << warnings_of(out);
    EXPECT_TRUE(has_warning(out, "table address is zero")) << warnings_of(out);
    EXPECT_EQ(out.warnings[0].address, kNowhere);
    EXPECT_FALSE(out.has_madt);
    EXPECT_TRUE(out.has_fadt);
}

TEST_F(AcpiParse, WarningsBeyondCapacityAreCounted)
{
    std::vector<uint64_t> entries(acpi::kMaxWarnings + 3, 0x6'0000'0000);
    memory.write(kXsdt, make_xsdt(entries));
    ASSERT_EQ(parse_v2(0, kXsdt), nullptr);
    EXPECT_EQ(out.warning_count, acpi::kMaxWarnings);
    EXPECT_EQ(out.warnings_dropped, 3u);
}

TEST_F(AcpiParse, SingleWindowReaderGivesSameResult)
{
    install_standard();
    memory.single_window = true;
    ASSERT_EQ(parse_v2(uint32_t(kRsdt), kXsdt), nullptr) << warnings_of(out);
    EXPECT_EQ(out.cpu_count, 2u);
    EXPECT_EQ(out.ioapic_count, 1u);
    EXPECT_TRUE(out.power.has_s5);
    EXPECT_EQ(out.power.pm1a_control.address, 0x604u);
}

// ---- MADT ------------------------------------------------------------------------------------

TEST_F(AcpiParse, MadtLocalApicFlags)
{
    Bytes madt = Madt(0xFEE00000, 1)
                     .lapic(10, 0, 1)   // enabled
                     .lapic(11, 1, 0)   // disabled, not online capable: unusable
                     .lapic(12, 2, 2)   // online capable
                     .lapic(13, 3, 1)
                     .build();
    ASSERT_EQ(parse_with(madt), nullptr);
    ASSERT_TRUE(out.has_madt);
    EXPECT_EQ(out.local_apic_address, 0xFEE00000u);
    EXPECT_TRUE(out.has_legacy_pics);
    ASSERT_EQ(out.cpu_count, 3u);
    EXPECT_EQ(out.cpus_unusable, 1u);
    EXPECT_EQ(out.cpus[0].apic_id, 0u);
    EXPECT_EQ(out.cpus[0].acpi_uid, 10u);
    EXPECT_TRUE(out.cpus[0].enabled);
    EXPECT_FALSE(out.cpus[0].online_capable);
    EXPECT_FALSE(out.cpus[0].from_x2apic_entry);
    EXPECT_EQ(out.cpus[1].apic_id, 2u);
    EXPECT_FALSE(out.cpus[1].enabled);
    EXPECT_TRUE(out.cpus[1].online_capable);
    EXPECT_EQ(out.cpus[2].apic_id, 3u);
    EXPECT_EQ(out.warning_count, 0u) << warnings_of(out);
}

TEST_F(AcpiParse, MadtX2apicEntriesAndDuplicates)
{
    Bytes madt = Madt(0xFEE00000, 0)
                     .lapic(0, 3, 1)
                     .x2apic(0x1234, 1, 300)
                     .x2apic(3, 1, 301)  // same CPU as the xAPIC entry
                     .x2apic(0x1235, 2, 302)
                     .build();
    ASSERT_EQ(parse_with(madt), nullptr);
    EXPECT_FALSE(out.has_legacy_pics);
    ASSERT_EQ(out.cpu_count, 3u);
    EXPECT_EQ(out.cpus[1].apic_id, 0x1234u);
    EXPECT_EQ(out.cpus[1].acpi_uid, 300u);
    EXPECT_TRUE(out.cpus[1].enabled);
    EXPECT_TRUE(out.cpus[1].from_x2apic_entry);
    EXPECT_EQ(out.cpus[2].apic_id, 0x1235u);
    EXPECT_TRUE(out.cpus[2].online_capable);
    EXPECT_TRUE(has_warning(out, "MADT lists an APIC ID twice; the later entry is ignored"));
}

TEST_F(AcpiParse, MadtIoApicsOverridesNmisAndAddressOverride)
{
    Bytes madt = Madt(0xFEE00000, 1)
                     .lapic(0, 0, 1)
                     .ioapic(2, 0xFEC00000, 0)
                     .ioapic(3, 0xFEC01000, 24)
                     .iso(0, 2, 0)
                     .iso(9, 9, 0x000D)  // active low, level
                     .nmi(0xFF, 0x0005, 1)
                     .lapic_override(0x1'FEE0'0000)
                     .raw({0x7F, 4, 0, 0})  // unknown type, skipped by its length
                     .lapic(1, 1, 1)
                     .build();
    ASSERT_EQ(parse_with(madt), nullptr);
    EXPECT_EQ(out.local_apic_address, 0x1'FEE0'0000u);
    ASSERT_EQ(out.ioapic_count, 2u);
    EXPECT_EQ(out.ioapics[1].id, 3u);
    EXPECT_EQ(out.ioapics[1].address, 0xFEC01000u);
    EXPECT_EQ(out.ioapics[1].gsi_base, 24u);
    ASSERT_EQ(out.override_count, 2u);
    EXPECT_EQ(out.overrides[0].source, 0);
    EXPECT_EQ(out.overrides[0].gsi, 2u);
    EXPECT_EQ(out.overrides[1].source, 9);
    EXPECT_EQ(out.overrides[1].flags, 0x000D);
    ASSERT_EQ(out.nmi_count, 1u);
    EXPECT_EQ(out.nmis[0].acpi_uid, acpi::kAllProcessors);
    EXPECT_EQ(out.nmis[0].flags, 5);
    EXPECT_EQ(out.nmis[0].lint, 1);
    EXPECT_EQ(out.cpu_count, 2u);
    EXPECT_EQ(out.warning_count, 0u) << warnings_of(out);
}

TEST_F(AcpiParse, MadtZeroLengthEntryStopsTheWalk)
{
    Bytes madt = Madt().lapic(0, 0, 1).raw({0, 0, 0, 0, 0, 0, 0, 0}).lapic(1, 1, 1).build();
    ASSERT_EQ(parse_with(madt), nullptr);
    EXPECT_TRUE(out.has_madt);
    EXPECT_EQ(out.cpu_count, 1u);
    EXPECT_TRUE(has_warning(out, "MADT entry length is below 2; the rest of the MADT is ignored",
                            "APIC"))
        << warnings_of(out);

    // Length 1 would advance into the middle of the next entry.
    ASSERT_EQ(parse_with(Madt().raw({0x7F, 1, 0x7F, 2}).lapic(0, 0, 1).build()), nullptr);
    EXPECT_EQ(out.cpu_count, 0u);
    EXPECT_TRUE(has_warning(out, "MADT entry length is below 2; the rest of the MADT is ignored"));
}

TEST_F(AcpiParse, MadtTruncatedEntriesAndTables)
{
    // The last entry claims 8 bytes but the table ends 4 bytes into it.
    Bytes madt = Madt().lapic(0, 0, 1).raw({0, 8, 1, 1}).build();
    ASSERT_EQ(parse_with(madt), nullptr);
    EXPECT_EQ(out.cpu_count, 1u);
    EXPECT_TRUE(has_warning(out, "MADT entry runs past the end of the table")) << warnings_of(out);

    // A lone type byte at the end.
    ASSERT_EQ(parse_with(Madt().lapic(0, 0, 1).raw({0}).build()), nullptr);
    EXPECT_TRUE(has_warning(out, "MADT entry header runs past the end of the table"));

    // An I/O APIC entry too short for its fields is skipped; the walk continues.
    ASSERT_EQ(parse_with(Madt().raw({1, 8, 0, 0, 0, 0, 0xC0, 0xFE}).lapic(0, 5, 1).build()),
              nullptr);
    EXPECT_EQ(out.ioapic_count, 0u);
    EXPECT_EQ(out.cpu_count, 1u);
    EXPECT_TRUE(has_warning(out, "MADT entry is shorter than its type requires"));

    // A checksum-valid MADT too short to hold the local APIC address and flags.
    ASSERT_EQ(parse_with(make_table("APIC", {0, 0, 0xE0, 0xFE})), nullptr);
    EXPECT_FALSE(out.has_madt);
    EXPECT_TRUE(has_warning(out, "MADT is too short for its fixed fields"));
}

TEST_F(AcpiParse, MadtMoreCpusThanCapacity)
{
    Madt madt;
    for (uint32_t i = 0; i < acpi::kMaxCpus + 44; ++i) madt.x2apic(i, 1, i);
    ASSERT_EQ(parse_with(madt.build()), nullptr);
    EXPECT_EQ(out.cpu_count, acpi::kMaxCpus);
    EXPECT_EQ(out.cpus_ignored, 44u);
    EXPECT_EQ(out.cpus[acpi::kMaxCpus - 1].apic_id, acpi::kMaxCpus - 1);
    EXPECT_EQ(out.warning_count, 1u) << warnings_of(out);
    EXPECT_TRUE(has_warning(out, "MADT lists more CPUs than kMaxCpus; the rest are ignored"));
}

// ---- FADT ------------------------------------------------------------------------------------

TEST_F(AcpiParse, FadtPrefersExtendedBlocksAndReadsReset)
{
    Bytes f = make_fadt(0x1111000, (1u << 10) | (1u << 8));
    set_le(f, 46, 9, 2);           // SCI_INT
    set_le(f, 48, 0xB2, 4);        // SMI_CMD
    f[52] = 0xF0;                  // ACPI_ENABLE
    f[53] = 0xF1;                  // ACPI_DISABLE
    set_le(f, 68, 0x704, 4);       // PM1b_CNT_BLK, no X_ counterpart
    set_le(f, 76, 0x608, 4);       // PM_TMR_BLK
    f[91] = 4;
    set_gas(f, 116, 1, 8, 0, 1, 0xCF9);  // RESET_REG
    f[128] = 0x06;
    set_le(f, 140, kDsdt, 8);                   // X_DSDT wins over DSDT
    set_gas(f, 172, 1, 16, 0, 2, 0xB004);       // X_PM1a_CNT_BLK wins over 0x604
    seal(f);
    memory.write(kDsdt, make_dsdt(s5_name({0x0A, 0x05, 0x0A, 0x05}, 2)));
    ASSERT_EQ(parse_with(f), nullptr) << warnings_of(out);
    const acpi::Power& p = out.power;
    EXPECT_TRUE(out.has_fadt);
    EXPECT_FALSE(p.hardware_reduced);
    EXPECT_EQ(p.pm1a_control.space_id, acpi::kSpaceIo);
    EXPECT_EQ(p.pm1a_control.address, 0xB004u);
    EXPECT_EQ(p.pm1b_control.space_id, acpi::kSpaceIo);
    EXPECT_EQ(p.pm1b_control.address, 0x704u);
    EXPECT_EQ(p.pm1b_control.bit_width, 16);
    EXPECT_TRUE(p.reset_supported);
    EXPECT_EQ(p.reset_register.space_id, acpi::kSpaceIo);
    EXPECT_EQ(p.reset_register.bit_width, 8);
    EXPECT_EQ(p.reset_register.address, 0xCF9u);
    EXPECT_EQ(p.reset_value, 0x06);
    EXPECT_EQ(p.smi_command, 0xB2u);
    EXPECT_EQ(p.acpi_enable_value, 0xF0);
    EXPECT_EQ(p.acpi_disable_value, 0xF1);
    EXPECT_EQ(p.sci_interrupt, 9);
    EXPECT_EQ(out.pm_timer.block.address, 0x608u);
    EXPECT_EQ(out.pm_timer.block.bit_width, 32);
    EXPECT_TRUE(out.pm_timer.is_32bit);
    EXPECT_EQ(out.dsdt_address, kDsdt);
    EXPECT_TRUE(p.has_s5);
}

TEST_F(AcpiParse, FadtVersionOneUsesPortFieldsAndHasNoResetRegister)
{
    Bytes f = blank_table("FACP", 116, 1);
    set_le(f, 40, kDsdt, 4);
    set_le(f, 64, 0x4004, 4);  // PM1_CNT_LEN left 0: the register is still 16 bits
    set_le(f, 112, 1u << 10, 4);  // reset flag, but the table ends before RESET_REG
    seal(f);
    memory.write(kDsdt, make_dsdt(s5_name({0x00, 0x00}, 2)));
    ASSERT_EQ(parse_with(f), nullptr) << warnings_of(out);
    EXPECT_EQ(out.power.pm1a_control.address, 0x4004u);
    EXPECT_EQ(out.power.pm1a_control.access_size, 2);
    EXPECT_EQ(out.power.pm1a_control.bit_width, 16);
    EXPECT_EQ(out.power.pm1b_control.address, 0u);
    EXPECT_FALSE(out.power.reset_supported);
    EXPECT_EQ(out.dsdt_address, kDsdt);
    EXPECT_TRUE(out.power.has_s5);
}

TEST_F(AcpiParse, FadtResetRegisterNeedsTheFlag)
{
    Bytes f = make_fadt(kDsdt);
    set_gas(f, 116, 1, 8, 0, 1, 0xCF9);
    f[128] = 0x06;
    seal(f);
    memory.write(kDsdt, make_dsdt(s5_name({0x0A, 0x05, 0x0A, 0x05}, 2)));
    ASSERT_EQ(parse_with(f), nullptr);
    EXPECT_FALSE(out.power.reset_supported);
}

TEST_F(AcpiParse, FadtHardwareReducedIgnoresFixedHardwareFields)
{
    Bytes f = make_fadt(kDsdt, (1u << 20) | (1u << 10));
    set_le(f, 48, 0xB2, 4);
    set_gas(f, 172, 1, 16, 0, 2, 0xB004);
    set_gas(f, 116, 0, 8, 0, 1, 0xFED00000);
    f[128] = 0x0E;
    set_gas(f, 244, 0, 8, 0, 1, 0xFE000100);  // SLEEP_CONTROL_REG
    set_gas(f, 256, 0, 8, 0, 1, 0xFE000101);  // SLEEP_STATUS_REG
    seal(f);
    memory.write(kDsdt, make_dsdt(s5_name({0x0A, 0x05, 0x0A, 0x05}, 2)));
    ASSERT_EQ(parse_with(f), nullptr);
    EXPECT_TRUE(out.power.hardware_reduced);
    EXPECT_EQ(out.power.pm1a_control.address, 0u);
    EXPECT_EQ(out.power.smi_command, 0u);
    EXPECT_EQ(out.pm_timer.block.address, 0u);
    EXPECT_EQ(out.power.sleep_control.space_id, acpi::kSpaceMemory);
    EXPECT_EQ(out.power.sleep_control.address, 0xFE000100u);
    EXPECT_EQ(out.power.sleep_status.address, 0xFE000101u);
    EXPECT_TRUE(out.power.reset_supported);
    EXPECT_EQ(out.power.reset_register.address, 0xFED00000u);
    EXPECT_EQ(out.power.reset_value, 0x0E);
}

// ---- \_S5 ------------------------------------------------------------------------------------

TEST_F(AcpiParse, S5WithBytePrefixAfterADecoyReference)
{
    // A reference to _S5_ that happens to be followed by a package: not a NameOp definition.
    Bytes aml = {0x70, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0A, 0x01, 0x01, 0x60};
    Bytes s5 = s5_name({0x0A, 0x05, 0x0A, 0x07, 0x00, 0x00}, 4);
    aml.insert(aml.end(), s5.begin(), s5.end());
    memory.write(kDsdt, make_dsdt(aml));
    ASSERT_EQ(parse_with(make_fadt(kDsdt)), nullptr) << warnings_of(out);
    EXPECT_TRUE(out.power.has_s5);
    EXPECT_EQ(out.power.slp_typ_a, 5);
    EXPECT_EQ(out.power.slp_typ_b, 7);
    EXPECT_EQ(out.warning_count, 0u) << warnings_of(out);
}

TEST_F(AcpiParse, S5WithRootPrefixAndOneZeroOps)
{
    memory.write(kDsdt, make_dsdt(s5_name({0x01, 0x00}, 2, true)));
    ASSERT_EQ(parse_with(make_fadt(kDsdt)), nullptr);
    EXPECT_TRUE(out.power.has_s5);
    EXPECT_EQ(out.power.slp_typ_a, 1);
    EXPECT_EQ(out.power.slp_typ_b, 0);
}

TEST_F(AcpiParse, S5WithWordDwordPrefixesAndLongPkgLength)
{
    // 62 bytes of elements make PkgLength 65: lead byte 0x41, then 0x04 (bits 11:4).
    Bytes elements = {0x0B, 0x06, 0x00, 0x0C, 0x03, 0x00, 0x00, 0x00};
    for (int i = 0; i < 26; ++i) elements.insert(elements.end(), {0x0A, 0x01});
    elements.insert(elements.end(), {0x00, 0x00});
    Bytes dsdt = make_dsdt(s5_name(elements, 30));
    ASSERT_EQ(dsdt[36 + 6], 0x41);
    ASSERT_EQ(dsdt[36 + 7], 0x04);
    memory.write(kDsdt, dsdt);
    ASSERT_EQ(parse_with(make_fadt(kDsdt)), nullptr) << warnings_of(out);
    EXPECT_TRUE(out.power.has_s5);
    EXPECT_EQ(out.power.slp_typ_a, 6);
    EXPECT_EQ(out.power.slp_typ_b, 3);
}

TEST_F(AcpiParse, S5SingleElementPacksBothValues)
{
    memory.write(kDsdt, make_dsdt(s5_name({0x0B, 0x07, 0x05}, 1)));
    ASSERT_EQ(parse_with(make_fadt(kDsdt)), nullptr);
    EXPECT_EQ(out.power.slp_typ_a, 7);
    EXPECT_EQ(out.power.slp_typ_b, 5);
}

TEST_F(AcpiParse, S5MissingOrMalformedIsAWarning)
{
    memory.write(kDsdt, make_dsdt({0x10, 0x05, '_', 'S', 'B', '_', 0x5B, 0x82, 0x00}));
    ASSERT_EQ(parse_with(make_fadt(kDsdt)), nullptr);
    EXPECT_TRUE(out.has_fadt);
    EXPECT_FALSE(out.power.has_s5);
    EXPECT_TRUE(has_warning(out, "\\_S5 not found in the DSDT or any SSDT", "DSDT"))
        << warnings_of(out);

    // PkgLength claims 0x30 bytes at the very end of the table.
    memory.write(kDsdt, make_dsdt({0x08, '_', 'S', '5', '_', 0x12, 0x30, 0x04, 0x0A}));
    ASSERT_EQ(parse_with(make_fadt(kDsdt)), nullptr);
    EXPECT_FALSE(out.power.has_s5);
    EXPECT_TRUE(has_warning(out, "\\_S5 package runs past the end of the table"))
        << warnings_of(out);

    // An element that is not an integer constant (a NameString).
    memory.write(kDsdt, make_dsdt(s5_name({'A', 'B', 'C', 'D', 0x00}, 2)));
    ASSERT_EQ(parse_with(make_fadt(kDsdt)), nullptr);
    EXPECT_FALSE(out.power.has_s5);
    EXPECT_TRUE(has_warning(out, "\\_S5 package element is not an integer constant"));

    // A DSDT whose checksum is wrong is not scanned.
    Bytes dsdt = make_dsdt(s5_name({0x0A, 0x05, 0x0A, 0x05}, 2));
    dsdt[9] ^= 1;
    memory.write(kDsdt, dsdt);
    ASSERT_EQ(parse_with(make_fadt(kDsdt)), nullptr);
    EXPECT_FALSE(out.power.has_s5);
    EXPECT_TRUE(has_warning(out, "DSDT checksum mismatch", "DSDT"));
}

TEST_F(AcpiParse, S5FoundInSsdt)
{
    memory.write(kDsdt, make_dsdt({0xA3}));
    memory.write(kSsdt, make_table("SSDT", s5_name({0x0A, 0x03, 0x0A, 0x04}, 2)));
    memory.write(kFadt, make_fadt(kDsdt));
    memory.write(kXsdt, make_xsdt({kSsdt, kFadt}));
    ASSERT_EQ(parse_v2(0, kXsdt), nullptr);
    EXPECT_TRUE(out.power.has_s5);
    EXPECT_EQ(out.power.slp_typ_a, 3);
    EXPECT_EQ(out.power.slp_typ_b, 4);
    EXPECT_EQ(out.warning_count, 0u) << warnings_of(out);

    // When only a malformed \_S5 exists, its defect is reported rather than "not found".
    memory.write(kSsdt, make_table("SSDT", s5_name({0x5B, 0x31}, 2)));
    ASSERT_EQ(parse_v2(0, kXsdt), nullptr);
    EXPECT_FALSE(out.power.has_s5);
    EXPECT_TRUE(has_warning(out, "\\_S5 package element is not an integer constant"))
        << warnings_of(out);
}

// ---- HPET and MCFG ---------------------------------------------------------------------------

TEST_F(AcpiParse, HpetAndMcfg)
{
    Bytes hpet = blank_table("HPET", 56, 1);
    set_gas(hpet, 40, 0, 64, 0, 0, 0xFED00000);
    seal(hpet);
    Bytes mcfg_body(8, 0);
    put64(mcfg_body, 0xB0000000), put16(mcfg_body, 0), put8(mcfg_body, 0), put8(mcfg_body, 0xFF);
    put32(mcfg_body, 0);
    put64(mcfg_body, 0xC0000000), put16(mcfg_body, 1), put8(mcfg_body, 9), put8(mcfg_body, 3);
    put32(mcfg_body, 0);  // inverted bus range: skipped
    memory.write(kHpet, hpet);
    memory.write(kMcfg, make_table("MCFG", mcfg_body));
    memory.write(kXsdt, make_xsdt({kHpet, kMcfg}));
    ASSERT_EQ(parse_v2(0, kXsdt), nullptr);
    EXPECT_TRUE(out.has_hpet);
    EXPECT_EQ(out.hpet_address, 0xFED00000u);
    ASSERT_EQ(out.ecam_count, 1u);
    EXPECT_EQ(out.ecam[0].base, 0xB0000000u);
    EXPECT_EQ(out.ecam[0].end_bus, 0xFF);
    EXPECT_TRUE(has_warning(out, "MCFG entry has a zero base or an inverted bus range"));
    EXPECT_EQ(acpi::find_table(out, "MCFG"), kMcfg);
}

// ---- robustness ------------------------------------------------------------------------------

// Random corruption of every table, with checksums repaired half of the time so the parsers
// see the damage. AddressSanitizer turns any read outside a mapping into a failure.
TEST(AcpiFuzz, CorruptTablesNeverReadOutOfBounds)
{
    std::mt19937 rng(12345);
    Madt madt_builder;
    madt_builder.lapic(0, 0, 1).x2apic(300, 1, 1).ioapic(0, 0xFEC00000, 0).iso(0, 2, 0);
    madt_builder.nmi(0xFF, 5, 1).lapic_override(0xFEE00000);
    Bytes fadt = make_fadt(kDsdt, 1u << 10);
    Bytes s5 = s5_name({0x0B, 0x05, 0x00, 0x0C, 0x05, 0, 0, 0, 0x00, 0x00}, 4, true);
    const std::vector<std::pair<uint64_t, Bytes>> pristine = {
        {kXsdt, make_xsdt({kFadt, kMadt, kHpet, kMcfg, kSsdt})},
        {kFadt, fadt},
        {kMadt, madt_builder.build()},
        {kDsdt, make_dsdt(s5)},
        {kSsdt, make_table("SSDT", s5)},
        {kHpet, make_table("HPET", Bytes(20, 0))},
        {kMcfg, make_table("MCFG", Bytes(40, 0xB0))},
    };
    auto platform = std::make_unique<acpi::Platform>();
    for (int round = 0; round < 3000; ++round) {
        FakeMemory memory;
        memory.single_window = round % 2;
        for (auto [address, table] : pristine) {
            int flips = int(rng() % 4);
            for (int i = 0; i < flips; ++i) table[rng() % table.size()] = uint8_t(rng());
            if (rng() % 2) fix_checksum(table, 9, table.size());
            memory.write(address, table);
        }
        Bytes rsdp = rsdp_v2(0, kXsdt);
        const char* error = acpi::parse(rsdp.data(), rsdp.size(), memory.reader(), *platform);
        if (error) continue;
        ASSERT_LE(platform->cpu_count, acpi::kMaxCpus);
        ASSERT_LE(platform->warning_count, acpi::kMaxWarnings);
        ASSERT_LE(platform->table_count, acpi::kMaxTables);
        for (size_t i = 0; i < platform->warning_count; ++i)
            ASSERT_NE(platform->warnings[i].message, nullptr);
    }
}

}  // namespace
