#include "vmx/guest_acpi.hpp"

#include "drivers/virtual/acpi_pm.hpp"
#include "drivers/virtual/ioapic.hpp"
#include "lib/format.hpp"

namespace guest_acpi {
namespace {

// ACPI 6.5 §5.2.5.3 (RSDP), §5.2.6 (table header), §5.2.7-8 (RSDT, XSDT), §5.2.9 (FADT),
// §5.2.10 (FACS), §5.2.12 (MADT).
constexpr uint64_t kHeaderBytes = 36;
constexpr uint64_t kMadtFixedBytes = 44; // header, local APIC address, flags
constexpr uint64_t kLocalApicEntryBytes = 8, kX2apicEntryBytes = 16;
constexpr uint64_t kIoApicEntryBytes = 12, kOverrideEntryBytes = 10, kLocalNmiEntryBytes = 6;
constexpr uint8_t kLocalApicEntry = 0, kIoApicEntry = 1, kOverrideEntry = 2, kLocalNmiEntry = 4, kX2apicEntry = 9;
constexpr uint32_t kEnabled = 1;       // Local APIC flags bit 0
constexpr uint32_t kPcatCompat = 1;    // MADT flags bit 0
constexpr uint16_t kLevelActiveLow = 0x000F; // MPS INTI flags: polarity 11 (low), trigger 11 (level)
constexpr uint64_t kMadtInterruptBytes = kIoApicEntryBytes + 2 * kOverrideEntryBytes + kLocalNmiEntryBytes;
constexpr uint64_t kFacsBytes = 64;

// The DSDT's AML (ACPI 6.5 §20.2): Name (\_S5, Package (4) {S5, S5, 0, 0}) and Scope (\_SB) {}.
constexpr uint8_t kS5 = acpi_pm::kS5SleepType;
constexpr uint8_t kDsdtAml[] = {
    0x08, '_', 'S', '5', '_',              // NameOp _S5_
    0x12, 0x08, 0x04,                      // PackageOp, PkgLength 8, NumElements 4
    0x0A, kS5, 0x0A, kS5, 0x00, 0x00,      // BytePrefix S5, BytePrefix S5, Zero, Zero
    0x10, 0x06, '\\', '_', 'S', 'B', '_', // ScopeOp, PkgLength 6, \_SB_
};
constexpr uint64_t kDsdtBytes = kHeaderBytes + sizeof kDsdtAml;

// Where each piece goes, from the region's base.
constexpr uint64_t kRsdpOffset = 0x10;
constexpr uint64_t align16(uint64_t v) { return (v + 15) & ~uint64_t(15); }
constexpr uint64_t kFacsOffset = (kRsdpOffset + kRsdpBytes + 63) & ~uint64_t(63);
constexpr uint64_t kRsdtOffset = align16(kFacsOffset + kFacsBytes);
constexpr uint64_t kRsdtBytes = kHeaderBytes + 2 * 4;
constexpr uint64_t kXsdtOffset = align16(kRsdtOffset + kRsdtBytes);
constexpr uint64_t kXsdtBytes = kHeaderBytes + 2 * 8;
constexpr uint64_t kFadtOffset = align16(kXsdtOffset + kXsdtBytes);
constexpr uint64_t kDsdtOffset = align16(kFadtOffset + kFadtBytes);
constexpr uint64_t kMadtOffset = align16(kDsdtOffset + kDsdtBytes);
static_assert(kRsdpOffset + kRsdpBytes <= kEbdaScanBytes, "the RSDP must be in the EBDA's first KiB");
static_assert(kRsdpOffset % 16 == 0 && kXsdtOffset % 8 == 0 && kFacsOffset % 64 == 0);
static_assert(kFacsOffset == 0x40 && kRsdtOffset == 0x80 && kXsdtOffset == 0xB0 && kFadtOffset == 0xF0 &&
              kDsdtOffset == 0x210 && kMadtOffset == 0x250 && kDsdtBytes == 57, "the layout guest_acpi.hpp documents");

uint64_t madt_bytes(uint32_t vcpu_count)
{
    uint64_t xapic = vcpu_count < kFirstX2apicId ? vcpu_count : kFirstX2apicId;
    return kMadtFixedBytes + xapic * kLocalApicEntryBytes + (vcpu_count - xapic) * kX2apicEntryBytes +
           kMadtInterruptBytes;
}

void put8(uint8_t* p, uint8_t v) { p[0] = v; }
void put16(uint8_t* p, uint16_t v)
{
    p[0] = uint8_t(v);
    p[1] = uint8_t(v >> 8);
}
void put32(uint8_t* p, uint32_t v)
{
    for (int i = 0; i < 4; ++i) p[i] = uint8_t(v >> (8 * i));
}
void put64(uint8_t* p, uint64_t v)
{
    put32(p, uint32_t(v));
    put32(p + 4, uint32_t(v >> 32));
}
void put_text(uint8_t* p, const char* text, size_t count)
{
    for (size_t i = 0; i < count; ++i) p[i] = uint8_t(text[i]);
}

// The value that makes `length` bytes from p (with this byte still 0) sum to zero.
uint8_t checksum(const uint8_t* p, uint64_t length)
{
    uint8_t sum = 0;
    for (uint64_t i = 0; i < length; ++i) sum = uint8_t(sum + p[i]);
    return uint8_t(-sum);
}

// The 36-byte header (§5.2.6); the checksum at offset 9 is set once the body is written.
void put_header(uint8_t* t, const char* signature, uint32_t length, uint8_t revision)
{
    put_text(t, signature, 4);
    put32(t + 4, length);
    put8(t + 8, revision);
    put8(t + 9, 0);
    put_text(t + 10, kOemId, 6);
    put_text(t + 16, kOemTableId, 8);
    put32(t + 24, kOemRevision);
    put_text(t + 28, kCreatorId, 4);
    put32(t + 32, kCreatorRevision);
}

void seal(uint8_t* t, uint32_t length) { t[9] = checksum(t, length); }

// A Generic Address Structure (§5.2.3.2) for a block of I/O ports.
void put_io_gas(uint8_t* p, uint8_t bit_width, uint8_t access_size, uint16_t port)
{
    put8(p, 1); // system I/O space
    put8(p + 1, bit_width);
    put8(p + 2, 0);
    put8(p + 3, access_size); // 1 byte, 2 word, 3 dword
    put64(p + 4, port);
}

void write_facs(uint8_t* f)
{
    put_text(f, "FACS", 4);
    put32(f + 4, uint32_t(kFacsBytes));
    put8(f + 32, 2); // version; hardware signature, waking vectors, global lock and flags 0
}

void write_dsdt(uint8_t* d)
{
    put_header(d, "DSDT", uint32_t(kDsdtBytes), kDsdtRevision);
    for (size_t i = 0; i < sizeof kDsdtAml; ++i) d[kHeaderBytes + i] = kDsdtAml[i];
    seal(d, uint32_t(kDsdtBytes));
}

// Offsets from ACPI 6.5 Table 5.9.
void write_fadt(uint8_t* f, uint32_t facs_address, uint32_t dsdt_address)
{
    constexpr uint32_t kWbinvd = 1u << 0, kProcC1 = 1u << 2, kPowerButton = 1u << 4, kSleepButton = 1u << 5,
                       kResetRegisterSupported = 1u << 10;
    constexpr uint16_t kLegacyDevices = 1u << 0, kVgaNotPresent = 1u << 2;
    put_header(f, "FACP", kFadtBytes, kFadtRevision);
    put32(f + 36, facs_address);
    put32(f + 40, dsdt_address);
    put16(f + 46, kSciIrq);
    put32(f + 56, acpi_pm::kPm1aEvent);
    put32(f + 64, acpi_pm::kPm1aControl);
    put32(f + 76, acpi_pm::kPmTimer);
    put8(f + 88, acpi_pm::kPm1EventLength);
    put8(f + 89, acpi_pm::kPm1ControlLength);
    put8(f + 91, acpi_pm::kPmTimerLength);
    put16(f + 96, 101);  // P_LVL2_LAT > 100: no C2
    put16(f + 98, 1001); // P_LVL3_LAT > 1000: no C3
    put8(f + 108, 0x32); // CENTURY: the CMOS index of the century
    put16(f + 109, kLegacyDevices | kVgaNotPresent);
    put32(f + 112, kWbinvd | kProcC1 | kPowerButton | kSleepButton | kResetRegisterSupported);
    put_io_gas(f + 116, 8, 1, kResetPort);
    put8(f + 128, kResetValue);
    put8(f + 131, kFadtMinorRevision);
    put64(f + 140, dsdt_address);
    put_io_gas(f + 148, 8 * acpi_pm::kPm1EventLength, 2, acpi_pm::kPm1aEvent);
    put_io_gas(f + 172, 8 * acpi_pm::kPm1ControlLength, 2, acpi_pm::kPm1aControl);
    put_io_gas(f + 208, 8 * acpi_pm::kPmTimerLength, 3, acpi_pm::kPmTimer);
    seal(f, kFadtBytes);
}

// The I/O APIC, the two interrupt source overrides and the LINT1 NMI entry (§5.2.12.3-7).
uint8_t* put_interrupt_entries(uint8_t* e)
{
    put8(e, kIoApicEntry);
    put8(e + 1, uint8_t(kIoApicEntryBytes));
    put8(e + 2, kIoApicId);
    put32(e + 4, uint32_t(ioapic::kBase));
    put32(e + 8, 0); // GSI base
    e += kIoApicEntryBytes;
    struct Override {
        uint8_t irq;
        uint32_t gsi;
        uint16_t flags;
    };
    const Override overrides[] = {{0, 2, 0}, {uint8_t(kSciIrq), kSciIrq, kLevelActiveLow}};
    for (const Override& o : overrides) {
        put8(e, kOverrideEntry);
        put8(e + 1, uint8_t(kOverrideEntryBytes));
        put8(e + 2, 0); // ISA
        put8(e + 3, o.irq);
        put32(e + 4, o.gsi);
        put16(e + 8, o.flags);
        e += kOverrideEntryBytes;
    }
    put8(e, kLocalNmiEntry);
    put8(e + 1, uint8_t(kLocalNmiEntryBytes));
    put8(e + 2, 0xff); // every processor
    put16(e + 3, 0);   // conforms to the bus
    put8(e + 5, 1);    // LINT1
    return e + kLocalNmiEntryBytes;
}

static_assert(sizeof kOemId == 7 && sizeof kOemTableId == 9 && sizeof kCreatorId == 5);

} // namespace

uint64_t tables_bytes(uint32_t vcpu_count)
{
    return vcpu_count ? kMadtOffset + madt_bytes(vcpu_count) : 0;
}

bool build_acpi_tables(const GuestRam& ram, uint64_t region_base, uint64_t region_size, uint32_t vcpu_count,
                       AcpiTables& out, char* error, size_t error_size)
{
    out = AcpiTables{};
    if (error && error_size) error[0] = 0;
    auto fail = [&](Str pattern, const auto&... args) {
        if (error && error_size) format_to(error, error_size, pattern, args...);
        return false;
    };
    if (!ram.host) return fail("guest RAM is not allocated");
    if (vcpu_count == 0) return fail("a VM with no vCPU has nothing to list in its MADT");
    if (!ram.contains(region_base, region_size))
        return fail("ACPI region ({:#x}+{:#x}) is not inside the {} of guest RAM", region_base, region_size,
                    Bytes{ram.size});
    if (region_base % 16 || region_base < kBdaEnd || region_base > kEbdaScanLimit - kEbdaScanBytes)
        return fail("ACPI region at {:#x} cannot be an EBDA the BIOS-area scan finds: it must be 16-byte aligned, at "
                    "or above {:#x} (after the BIOS data area) and start at most {:#x} (its first KiB below {:#x})",
                    region_base, kBdaEnd, kEbdaScanLimit - kEbdaScanBytes, kEbdaScanLimit);
    if (madt_bytes(vcpu_count) > UINT32_MAX) return fail("{} vCPUs are more than a MADT can list", vcpu_count);
    uint64_t needed = tables_bytes(vcpu_count);
    if (needed > region_size)
        return fail("ACPI tables for {} vCPUs need {} bytes (RSDP, FACS, RSDT, XSDT, FADT, DSDT and MADT), more than the {}-byte ACPI "
                    "region at {:#x}",
                    vcpu_count, needed, region_size, region_base);

    uint8_t* region = ram.at(region_base, region_size);
    for (uint64_t i = 0; i < region_size; ++i) region[i] = 0;
    // What a BIOS keeps: the EBDA's size in KiB at its first byte, its segment and the
    // conventional memory below it in the BDA.
    uint64_t ebda_kib = (region_size + 1023) / 1024;
    put8(region, uint8_t(ebda_kib > 255 ? 255 : ebda_kib));
    put16(ram.at(kBdaEbdaSegment, 2), uint16_t(region_base >> 4));
    put16(ram.at(kBdaBaseMemoryKib, 2), uint16_t(region_base / 1024));

    uint64_t madt_address = region_base + kMadtOffset;
    uint32_t madt_length = uint32_t(madt_bytes(vcpu_count));

    uint8_t* madt = region + kMadtOffset;
    put_header(madt, "APIC", madt_length, kMadtRevision);
    put32(madt + 36, kLocalApicAddress);
    put32(madt + 40, kPcatCompat);
    uint8_t* e = madt + kMadtFixedBytes;
    for (uint32_t i = 0; i < vcpu_count; ++i) {
        if (i < kFirstX2apicId) { // §5.2.12.2
            put8(e, kLocalApicEntry);
            put8(e + 1, uint8_t(kLocalApicEntryBytes));
            put8(e + 2, uint8_t(i)); // ACPI processor UID
            put8(e + 3, uint8_t(i)); // APIC ID
            put32(e + 4, kEnabled);
            e += kLocalApicEntryBytes;
        } else { // §5.2.12.12
            put8(e, kX2apicEntry);
            put8(e + 1, uint8_t(kX2apicEntryBytes));
            put16(e + 2, 0); // reserved
            put32(e + 4, i); // x2APIC ID
            put32(e + 8, kEnabled);
            put32(e + 12, i); // ACPI processor UID
            e += kX2apicEntryBytes;
        }
    }
    put_interrupt_entries(e);
    seal(madt, madt_length);

    uint64_t fadt_address = region_base + kFadtOffset, dsdt_address = region_base + kDsdtOffset;
    uint64_t facs_address = region_base + kFacsOffset;
    write_facs(region + kFacsOffset);
    write_dsdt(region + kDsdtOffset);
    write_fadt(region + kFadtOffset, uint32_t(facs_address), uint32_t(dsdt_address));

    uint8_t* rsdt = region + kRsdtOffset;
    put_header(rsdt, "RSDT", uint32_t(kRsdtBytes), kRootTableRevision);
    put32(rsdt + kHeaderBytes, uint32_t(fadt_address));
    put32(rsdt + kHeaderBytes + 4, uint32_t(madt_address));
    seal(rsdt, uint32_t(kRsdtBytes));

    uint8_t* xsdt = region + kXsdtOffset;
    put_header(xsdt, "XSDT", uint32_t(kXsdtBytes), kRootTableRevision);
    put64(xsdt + kHeaderBytes, fadt_address);
    put64(xsdt + kHeaderBytes + 8, madt_address);
    seal(xsdt, uint32_t(kXsdtBytes));

    // §5.2.5.3: checksum over the first 20 bytes (the ACPI 1.0 structure), extended checksum over
    // all 36 with the first one in place.
    uint8_t* rsdp = region + kRsdpOffset;
    put_text(rsdp, "RSD PTR ", 8);
    put_text(rsdp + 9, kOemId, 6);
    put8(rsdp + 15, kRsdpRevision);
    put32(rsdp + 16, uint32_t(region_base + kRsdtOffset));
    put32(rsdp + 20, uint32_t(kRsdpBytes));
    put64(rsdp + 24, region_base + kXsdtOffset);
    rsdp[8] = checksum(rsdp, 20);
    rsdp[32] = checksum(rsdp, kRsdpBytes);

    out.rsdp_address = region_base + kRsdpOffset;
    out.rsdt_address = region_base + kRsdtOffset;
    out.xsdt_address = region_base + kXsdtOffset;
    out.madt_address = madt_address;
    out.madt_length = madt_length;
    out.fadt_address = fadt_address;
    out.dsdt_address = dsdt_address;
    out.facs_address = facs_address;
    out.used_bytes = needed;
    for (size_t i = 0; i < kRsdpBytes; ++i) out.rsdp[i] = rsdp[i];
    out.rsdp_length = kRsdpBytes;
    return true;
}

} // namespace guest_acpi
