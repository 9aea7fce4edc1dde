#include "drivers/acpi.hpp"

#include <type_traits>

namespace acpi {
namespace {

constexpr size_t kHeaderLength = 36;  // ACPI 6.5 5.2.6
constexpr size_t kRsdpV1Length = 20;  // ACPI 6.5 5.2.5.3
constexpr size_t kRsdpV2Length = 36;

// Firmware tables are byte-packed and may sit at any alignment: load byte by byte.
uint16_t load16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t load32(const uint8_t* p)
{
    return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint64_t load64(const uint8_t* p) { return load32(p) | uint64_t(load32(p + 4)) << 32; }

// A bounds-checked view of a mapped table. Reads past the end yield 0, which is how fields
// that older table revisions do not have read as absent.
struct Bytes {
    const uint8_t* data;
    size_t size;

    bool has(size_t offset, size_t count) const { return offset <= size && count <= size - offset; }
    uint8_t u8(size_t offset) const { return has(offset, 1) ? data[offset] : 0; }
    uint16_t u16(size_t offset) const { return has(offset, 2) ? load16(data + offset) : 0; }
    uint32_t u32(size_t offset) const { return has(offset, 4) ? load32(data + offset) : 0; }
    uint64_t u64(size_t offset) const { return has(offset, 8) ? load64(data + offset) : 0; }
    // ACPI 6.5 5.2.3.2: space, bit width, bit offset, access size, 64-bit address.
    GenericAddress gas(size_t offset) const
    {
        if (!has(offset, 12)) return {};
        return {data[offset], data[offset + 1], data[offset + 2], data[offset + 3],
                load64(data + offset + 4)};
    }
};

bool checksum_ok(const uint8_t* p, size_t length)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < length; ++i) sum = uint8_t(sum + p[i]);
    return sum == 0;
}

bool bytes_equal(const uint8_t* p, const char* text, size_t count)
{
    for (size_t i = 0; i < count; ++i)
        if (p[i] != uint8_t(text[i])) return false;
    return true;
}

void copy_signature(char (&out)[5], const uint8_t* p)
{
    for (size_t i = 0; i < 4; ++i) out[i] = (p[i] >= 0x20 && p[i] < 0x7F) ? char(p[i]) : '?';
    out[4] = '\0';
}

void copy_signature(char (&out)[5], const char* text)
{
    size_t i = 0;
    for (; i < 4 && text[i]; ++i) out[i] = text[i];
    for (; i < 5; ++i) out[i] = '\0';
}

const void* map(const PhysicalReader& memory, uint64_t phys, size_t length)
{
    if (phys > UINT64_MAX - length) return nullptr;
    return memory.map(memory.context, phys, length);
}

void warn(Platform& out, const char* message, const char* signature, uint64_t address)
{
    if (out.warning_count == kMaxWarnings) {
        ++out.warnings_dropped;
        return;
    }
    Warning& w = out.warnings[out.warning_count++];
    w.message = message;
    size_t i = 0;
    for (; signature && i < 4 && signature[i]; ++i) w.signature[i] = signature[i];
    w.signature[i] = '\0';
    w.address = address;
}

// ---- table mapping and validation ------------------------------------------------------------

enum class Kind { other, rsdt, xsdt, fadt, madt, dsdt, ssdt, hpet, mcfg, count };
enum class Fault { zero_address, header_unmapped, too_short, too_long, unmapped, bad_signature,
                   bad_checksum, count };

constexpr const char* kSignatures[] = {"", "RSDT", "XSDT", "FACP", "APIC", "DSDT", "SSDT", "HPET",
                                       "MCFG"};
static_assert(sizeof(kSignatures) / sizeof(kSignatures[0]) == size_t(Kind::count));

#define ACPI_TABLE_FAULTS(name)                                                                   \
    {                                                                                             \
        name " address is zero", name " header could not be mapped",                              \
            name " length is smaller than a table header", name " length is implausibly large",   \
            name " could not be mapped in full", name " signature mismatch",                      \
            name " checksum mismatch"                                                             \
    }
constexpr const char* kFaultMessages[][size_t(Fault::count)] = {
    ACPI_TABLE_FAULTS("table"), ACPI_TABLE_FAULTS("RSDT"), ACPI_TABLE_FAULTS("XSDT"),
    ACPI_TABLE_FAULTS("FADT"),  ACPI_TABLE_FAULTS("MADT"), ACPI_TABLE_FAULTS("DSDT"),
    ACPI_TABLE_FAULTS("SSDT"),  ACPI_TABLE_FAULTS("HPET"), ACPI_TABLE_FAULTS("MCFG"),
};
#undef ACPI_TABLE_FAULTS
static_assert(sizeof(kFaultMessages) / sizeof(kFaultMessages[0]) == size_t(Kind::count));

const char* fault(Kind kind, Fault what) { return kFaultMessages[size_t(kind)][size_t(what)]; }

Kind kind_of(const uint8_t* signature)
{
    for (size_t k = 1; k < size_t(Kind::count); ++k)
        if (bytes_equal(signature, kSignatures[k], 4)) return Kind(k);
    return Kind::other;
}

struct Table {
    const uint8_t* data;  // valid until the next map call
    uint32_t length;
    Kind kind;
    char signature[5];
    uint64_t address;

    Bytes bytes() const { return {data, length}; }
};

// Maps the table at `phys` and checks its length and checksum (ACPI 6.5 5.2.6). When
// `expected` is not Kind::other the signature must match it.
const char* map_table(const PhysicalReader& memory, uint64_t phys, Kind expected, Table& table)
{
    table = {};
    table.address = phys;
    copy_signature(table.signature, kSignatures[size_t(expected)]);
    if (phys == 0) return fault(expected, Fault::zero_address);
    auto* header = static_cast<const uint8_t*>(map(memory, phys, kHeaderLength));
    if (!header) return fault(expected, Fault::header_unmapped);
    copy_signature(table.signature, header);
    Kind kind = kind_of(header);
    if (expected != Kind::other && kind != expected) return fault(expected, Fault::bad_signature);
    uint32_t length = load32(header + 4);
    if (length < kHeaderLength) return fault(kind, Fault::too_short);
    if (length > kMaxTableLength) return fault(kind, Fault::too_long);
    auto* data = static_cast<const uint8_t*>(map(memory, phys, length));
    if (!data) return fault(kind, Fault::unmapped);
    if (!checksum_ok(data, length)) return fault(kind, Fault::bad_checksum);
    table.data = data;
    table.length = length;
    table.kind = kind;
    return nullptr;
}

void record(Platform& out, const Table& table)
{
    if (out.table_count == kMaxTables) {
        warn(out, "more tables than kMaxTables; the rest are parsed but not listed",
             table.signature, table.address);
        return;
    }
    TableInfo& info = out.tables[out.table_count++];
    copy_signature(info.signature, table.signature);
    info.revision = table.data[8];
    info.length = table.length;
    info.address = table.address;
}

// ---- MADT (ACPI 6.5 5.2.12) -----------------------------------------------------------------

void add_cpu(Platform& out, const Table& madt, uint32_t apic_id, uint32_t uid, uint32_t flags,
             bool x2apic)
{
    bool enabled = flags & 1;
    bool online_capable = flags & 2;  // ACPI 6.3+; reserved (zero) before
    // 5.2.12.2: neither bit set means OSPM must not use the processor.
    if (!enabled && !online_capable) {
        ++out.cpus_unusable;
        return;
    }
    for (size_t i = 0; i < out.cpu_count; ++i) {
        if (out.cpus[i].apic_id == apic_id) {
            warn(out, "MADT lists an APIC ID twice; the later entry is ignored", madt.signature,
                 madt.address);
            return;
        }
    }
    if (out.cpu_count == kMaxCpus) {
        if (out.cpus_ignored++ == 0)
            warn(out, "MADT lists more CPUs than kMaxCpus; the rest are ignored", madt.signature,
                 madt.address);
        return;
    }
    out.cpus[out.cpu_count++] = {apic_id, uid, enabled, !enabled && online_capable, x2apic};
}

void parse_madt(const Table& madt, Platform& out)
{
    Bytes t = madt.bytes();
    constexpr size_t kEntries = 44;
    if (t.size < kEntries) {
        warn(out, "MADT is too short for its fixed fields", madt.signature, madt.address);
        return;
    }
    out.has_madt = true;
    out.local_apic_address = t.u32(36);
    out.has_legacy_pics = t.u32(40) & 1;  // PCAT_COMPAT

    uint64_t apic_override = 0;
    const char* short_entry = "MADT entry is shorter than its type requires";
    size_t offset = kEntries;
    while (offset < t.size) {
        if (!t.has(offset, 2)) {
            warn(out, "MADT entry header runs past the end of the table", madt.signature,
                 madt.address);
            break;
        }
        uint8_t type = t.data[offset];
        uint8_t length = t.data[offset + 1];
        if (length < 2) {
            warn(out, "MADT entry length is below 2; the rest of the MADT is ignored",
                 madt.signature, madt.address);
            break;
        }
        if (!t.has(offset, length)) {
            warn(out, "MADT entry runs past the end of the table", madt.signature, madt.address);
            break;
        }
        Bytes e{t.data + offset, length};
        offset += length;

        // Minimum lengths per type; longer entries are accepted for forward compatibility.
        switch (type) {
        case 0:  // Processor Local APIC, 5.2.12.2
            if (length < 8) { warn(out, short_entry, madt.signature, madt.address); break; }
            add_cpu(out, madt, e.u8(3), e.u8(2), e.u32(4), false);
            break;
        case 1:  // I/O APIC, 5.2.12.3
            if (length < 12) { warn(out, short_entry, madt.signature, madt.address); break; }
            if (out.ioapic_count == kMaxIoApics) {
                warn(out, "MADT lists more I/O APICs than kMaxIoApics; the rest are ignored",
                     madt.signature, madt.address);
                break;
            }
            out.ioapics[out.ioapic_count++] = {e.u8(2), e.u32(4), e.u32(8)};
            break;
        case 2:  // Interrupt Source Override, 5.2.12.5
            if (length < 10) { warn(out, short_entry, madt.signature, madt.address); break; }
            if (out.override_count == kMaxOverrides) {
                warn(out, "MADT lists more interrupt overrides than kMaxOverrides",
                     madt.signature, madt.address);
                break;
            }
            out.overrides[out.override_count++] = {e.u8(2), e.u8(3), e.u32(4), e.u16(8)};
            break;
        case 4:  // Local APIC NMI, 5.2.12.7
        case 0xA: {  // Local x2APIC NMI, 5.2.12.13
            bool x2 = type == 0xA;
            if (length < (x2 ? 12 : 6)) {
                warn(out, short_entry, madt.signature, madt.address);
                break;
            }
            if (out.nmi_count == kMaxNmis) {
                warn(out, "MADT lists more local APIC NMIs than kMaxNmis", madt.signature,
                     madt.address);
                break;
            }
            uint32_t uid = x2 ? e.u32(4) : e.u8(2);
            if (!x2 && uid == 0xFF) uid = kAllProcessors;
            out.nmis[out.nmi_count++] = {uid, x2 ? e.u16(2) : e.u16(3), x2 ? e.u8(8) : e.u8(5)};
            break;
        }
        case 5:  // Local APIC Address Override, 5.2.12.8
            if (length < 12) { warn(out, short_entry, madt.signature, madt.address); break; }
            apic_override = e.u64(4);
            break;
        case 9:  // Processor Local x2APIC, 5.2.12.12
            if (length < 16) { warn(out, short_entry, madt.signature, madt.address); break; }
            add_cpu(out, madt, e.u32(4), e.u32(12), e.u32(8), true);
            break;
        default:
            break;
        }
    }
    // 5.2.12.8: when present, the 64-bit override replaces the 32-bit address.
    if (apic_override) out.local_apic_address = apic_override;
}

// ---- FADT (ACPI 6.5 5.2.9) ------------------------------------------------------------------

namespace fadt {
constexpr size_t kDsdt = 40, kSciInt = 46, kSmiCmd = 48, kAcpiEnable = 52, kAcpiDisable = 53,
                 kPm1aCntBlk = 64, kPm1bCntBlk = 68, kPmTmrBlk = 76, kPm1CntLen = 89,
                 kPmTmrLen = 91, kBootArch = 109, kFlags = 112, kResetReg = 116,
                 kResetValue = 128, kXDsdt = 140, kXPm1aCntBlk = 172, kXPm1bCntBlk = 184,
                 kXPmTmrBlk = 208, kSleepControl = 244, kSleepStatus = 256;
constexpr uint32_t kTmrValExt = 1u << 8, kResetRegSup = 1u << 10, kHwReducedAcpi = 1u << 20;
}  // namespace fadt

// 5.2.9: the X_ field wins when non-zero; otherwise the legacy 32-bit I/O port is used.
GenericAddress pick_block(Bytes t, size_t x_offset, size_t port_offset, size_t length_offset,
                          uint8_t access_size, uint8_t default_bits)
{
    GenericAddress x = t.gas(x_offset);
    if (x.address) return x;
    uint32_t port = t.u32(port_offset);
    if (!port) return {};
    unsigned bits = t.u8(length_offset) * 8u;
    if (bits == 0 || bits > 255) bits = default_bits;
    return {kSpaceIo, uint8_t(bits), 0, access_size, port};
}

void parse_fadt(const Table& table, Platform& out)
{
    using namespace fadt;
    Bytes t = table.bytes();
    out.has_fadt = true;
    uint32_t flags = t.u32(kFlags);
    out.fadt_flags = flags;
    uint8_t revision = table.data[8];
    if (revision >= 2) out.boot_arch_flags = t.u16(kBootArch);  // reserved in ACPI 1.0

    Power& power = out.power;
    power.hardware_reduced = flags & kHwReducedAcpi;
    // 5.2.9: on hardware-reduced platforms the fixed hardware fields (offsets 46-108 and
    // 148-232) must be ignored.
    if (!power.hardware_reduced) {
        power.sci_interrupt = t.u16(kSciInt);
        power.smi_command = t.u32(kSmiCmd);
        power.acpi_enable_value = t.u8(kAcpiEnable);
        power.acpi_disable_value = t.u8(kAcpiDisable);
        power.pm1a_control = pick_block(t, kXPm1aCntBlk, kPm1aCntBlk, kPm1CntLen, 2, 16);
        power.pm1b_control = pick_block(t, kXPm1bCntBlk, kPm1bCntBlk, kPm1CntLen, 2, 16);
        out.pm_timer.block = pick_block(t, kXPmTmrBlk, kPmTmrBlk, kPmTmrLen, 3, 32);
        out.pm_timer.is_32bit = flags & kTmrValExt;
    }
    GenericAddress reset = t.gas(kResetReg);
    if ((flags & kResetRegSup) && reset.address && t.has(kResetValue, 1)) {
        power.reset_supported = true;
        power.reset_register = reset;
        power.reset_value = t.u8(kResetValue);
    }
    power.sleep_control = t.gas(kSleepControl);
    power.sleep_status = t.gas(kSleepStatus);

    uint64_t x_dsdt = t.u64(kXDsdt);
    out.dsdt_address = x_dsdt ? x_dsdt : t.u32(kDsdt);
}

// ---- \_S5 in AML (ACPI 6.5 7.4, encodings from 20.2) ----------------------------------------

constexpr uint8_t kZeroOp = 0x00, kOneOp = 0x01, kNameOp = 0x08, kBytePrefix = 0x0A,
                  kWordPrefix = 0x0B, kDWordPrefix = 0x0C, kQWordPrefix = 0x0E, kPackageOp = 0x12,
                  kOnesOp = 0xFF, kRootChar = '\\';

// ComputationalData integer constants (20.2.3). Advances `pos` past the element.
bool read_integer(Bytes aml, size_t& pos, uint64_t& value)
{
    if (!aml.has(pos, 1)) return false;
    uint8_t op = aml.data[pos];
    size_t size;
    switch (op) {
    case kZeroOp: value = 0; pos += 1; return true;
    case kOneOp: value = 1; pos += 1; return true;
    case kOnesOp: value = UINT64_MAX; pos += 1; return true;
    case kBytePrefix: size = 1; break;
    case kWordPrefix: size = 2; break;
    case kDWordPrefix: size = 4; break;
    case kQWordPrefix: size = 8; break;
    default: return false;
    }
    if (!aml.has(pos + 1, size)) return false;
    value = 0;
    for (size_t i = 0; i < size; ++i) value |= uint64_t(aml.data[pos + 1 + i]) << (8 * i);
    pos += 1 + size;
    return true;
}

// Decodes `PackageOp PkgLength NumElements Elements...` starting at `pos`.
const char* decode_s5_package(Bytes aml, size_t pos, Power& power)
{
    if (aml.u8(pos) != kPackageOp) return "\\_S5 is not a static package";
    size_t start = ++pos;
    if (!aml.has(pos, 1)) return "\\_S5 package runs past the end of the table";
    // 20.2.4: bits 7:6 of the lead byte count the bytes that follow; with none, bits 5:0 are
    // the length, otherwise bits 3:0 are its low nibble. The length includes itself.
    uint8_t lead = aml.data[pos];
    size_t follow = lead >> 6;
    if (!aml.has(pos, 1 + follow)) return "\\_S5 package runs past the end of the table";
    size_t length = follow ? (lead & 0x0F) : (lead & 0x3F);
    for (size_t i = 0; i < follow; ++i) length |= size_t(aml.data[pos + 1 + i]) << (4 + 8 * i);
    pos += 1 + follow;
    if (length < follow + 2) return "\\_S5 package length is too small";
    if (!aml.has(start, length)) return "\\_S5 package runs past the end of the table";
    Bytes package{aml.data, start + length};

    uint8_t count = package.data[pos++];
    if (count == 0) return "\\_S5 package is empty";
    uint64_t values[2] = {};
    for (size_t i = 0; i < (count == 1 ? 1u : 2u); ++i)
        if (!read_integer(package, pos, values[i]))
            return "\\_S5 package element is not an integer constant";
    // Like ACPICA: a single element carries SLP_TYPa in bits 7:0 and SLP_TYPb in bits 15:8.
    if (count == 1) values[1] = values[0] >> 8;
    power.has_s5 = true;
    power.slp_typ_a = uint8_t(values[0]);
    power.slp_typ_b = uint8_t(values[1]);
    return nullptr;
}

constexpr const char* kS5NotFound = "\\_S5 not found in the DSDT or any SSDT";

// Looks for `NameOp [\] "_S5_" PackageOp` in the table's AML. Returns nullptr when found, else
// kS5NotFound or why the definition found is unusable.
const char* find_s5(const Table& table, Power& power)
{
    Bytes aml = table.bytes();
    const char* problem = kS5NotFound;
    for (size_t i = kHeaderLength + 1; aml.has(i, 4); ++i) {
        if (!bytes_equal(aml.data + i, "_S5_", 4)) continue;
        bool named = aml.data[i - 1] == kNameOp ||
                     (aml.data[i - 1] == kRootChar && i >= kHeaderLength + 2 &&
                      aml.data[i - 2] == kNameOp);
        if (!named) continue;
        problem = decode_s5_package(aml, i + 4, power);
        if (!problem) return nullptr;
    }
    return problem;
}

// ---- HPET (IA-PC HPET Specification 1.0a, 3.2.4) and MCFG --------------------------------

void parse_hpet(const Table& table, Platform& out)
{
    if (out.has_hpet) return;  // the first timer block is enough
    Bytes t = table.bytes();
    if (!t.has(40, 12)) {
        warn(out, "HPET is too short for its base address", table.signature, table.address);
        return;
    }
    GenericAddress base = t.gas(40);
    if (base.space_id != kSpaceMemory || base.address == 0) {
        warn(out, "HPET base address is not in system memory", table.signature, table.address);
        return;
    }
    out.has_hpet = true;
    out.hpet_address = base.address;
}

void parse_mcfg(const Table& table, Platform& out)
{
    Bytes t = table.bytes();
    constexpr size_t kEntries = 44, kEntrySize = 16;
    if (t.size < kEntries) {
        warn(out, "MCFG is too short for its fixed fields", table.signature, table.address);
        return;
    }
    for (size_t offset = kEntries; t.has(offset, kEntrySize); offset += kEntrySize) {
        EcamRegion region = {t.u64(offset), t.u16(offset + 8), t.u8(offset + 10),
                             t.u8(offset + 11)};
        if (region.base == 0 || region.end_bus < region.start_bus) {
            warn(out, "MCFG entry has a zero base or an inverted bus range", table.signature,
                 table.address);
            continue;
        }
        if (out.ecam_count == kMaxEcamRegions) {
            warn(out, "MCFG lists more regions than kMaxEcamRegions", table.signature,
                 table.address);
            break;
        }
        out.ecam[out.ecam_count++] = region;
    }
}

// ---- walking the root table ------------------------------------------------------------------

void visit(const PhysicalReader& memory, uint64_t address, Platform& out)
{
    Table table;
    if (const char* error = map_table(memory, address, Kind::other, table)) {
        warn(out, error, table.signature, address);
        return;
    }
    record(out, table);
    switch (table.kind) {
    case Kind::madt:
        if (out.has_madt) warn(out, "second MADT ignored", table.signature, address);
        else parse_madt(table, out);
        break;
    case Kind::fadt:
        if (out.has_fadt) warn(out, "second FADT ignored", table.signature, address);
        else parse_fadt(table, out);
        break;
    case Kind::hpet: parse_hpet(table, out); break;
    case Kind::mcfg: parse_mcfg(table, out); break;
    default: break;
    }
}

void walk_root(const PhysicalReader& memory, const Table& root, Platform& out)
{
    size_t entry_size = root.kind == Kind::xsdt ? 8 : 4;
    size_t body = root.length - kHeaderLength;
    if (body % entry_size)
        warn(out, "root table length is not a whole number of entries", root.signature,
             root.address);
    uint64_t address = root.address;
    char signature[5];
    copy_signature(signature, root.signature);
    // Each entry is mapped on its own: visiting a table may reuse the reader's window.
    for (size_t i = 0; i < body / entry_size; ++i) {
        auto* entry = static_cast<const uint8_t*>(
            map(memory, address + kHeaderLength + i * entry_size, entry_size));
        if (!entry) {
            warn(out, "root table entry could not be mapped again", signature, address);
            return;
        }
        visit(memory, entry_size == 8 ? load64(entry) : load32(entry), out);
    }
}

void find_sleep_state(const PhysicalReader& memory, Platform& out)
{
    const char* problem = kS5NotFound;
    Table table;
    if (out.dsdt_address) {
        if (const char* error = map_table(memory, out.dsdt_address, Kind::dsdt, table)) {
            warn(out, error, table.signature, out.dsdt_address);
        } else {
            record(out, table);
            problem = find_s5(table, out.power);
            if (!problem) return;
        }
    } else {
        warn(out, "FADT has no DSDT address", "FACP", 0);
    }
    // Some firmware defines \_S5 in an SSDT instead.
    size_t listed = out.table_count;
    for (size_t i = 0; i < listed; ++i) {
        if (!bytes_equal(reinterpret_cast<const uint8_t*>(out.tables[i].signature), "SSDT", 4))
            continue;
        if (map_table(memory, out.tables[i].address, Kind::ssdt, table)) continue;
        const char* ssdt_problem = find_s5(table, out.power);
        if (!ssdt_problem) return;
        if (problem == kS5NotFound) problem = ssdt_problem;  // a malformed \_S5 says more
    }
    warn(out, problem, "DSDT", out.dsdt_address);
}

void reset(Platform& out)
{
    static_assert(std::is_trivially_copyable_v<Platform>);
    auto* bytes = reinterpret_cast<unsigned char*>(&out);
    for (size_t i = 0; i < sizeof(Platform); ++i) bytes[i] = 0;
}

}  // namespace

namespace {
const char* validate_rsdp_v1(const void* rsdp, size_t available_bytes)
{
    if (!rsdp) return "RSDP pointer is null";
    if (available_bytes < kRsdpV1Length) return "RSDP is shorter than 20 bytes";
    auto* p = static_cast<const uint8_t*>(rsdp);
    if (!bytes_equal(p, "RSD PTR ", 8)) return "RSDP signature mismatch";
    if (!checksum_ok(p, kRsdpV1Length)) return "RSDP checksum mismatch";
    return nullptr;
}
}  // namespace

const char* validate_rsdp(const void* rsdp, size_t available_bytes)
{
    if (const char* error = validate_rsdp_v1(rsdp, available_bytes)) return error;
    auto* p = static_cast<const uint8_t*>(rsdp);
    if (p[15] < 2) return nullptr;  // ACPI 1.0 layout
    if (available_bytes < kRsdpV2Length) return "RSDP revision 2+ but fewer than 36 bytes given";
    uint32_t length = load32(p + 20);
    if (length < kRsdpV2Length) return "RSDP length is smaller than 36";
    if (length > available_bytes) return "RSDP length runs past the bytes given";
    if (!checksum_ok(p, length)) return "RSDP extended checksum mismatch";
    return nullptr;
}

namespace {
uint64_t scan_region(const PhysicalReader& memory, uint64_t base, size_t size)
{
    auto* p = static_cast<const uint8_t*>(map(memory, base, size));
    if (!p) return 0;
    for (size_t offset = 0; offset + kRsdpV1Length <= size; offset += 16)
        if (!validate_rsdp(p + offset, size - offset)) return base + offset;
    return 0;
}
}  // namespace

uint64_t scan_bios_areas(const PhysicalReader& memory)
{
    if (!memory.map) return 0;
    // 5.2.5.1: the BDA word at 0x40E holds the EBDA's real-mode segment.
    if (auto* bda = static_cast<const uint8_t*>(map(memory, 0x40E, 2))) {
        uint64_t ebda = uint64_t(load16(bda)) << 4;
        if (ebda >= 0x400 && ebda + 1024 <= 0xA0000)
            if (uint64_t found = scan_region(memory, ebda, 1024)) return found;
    }
    return scan_region(memory, 0xE0000, 0x20000);
}

const char* parse(const void* rsdp_copy, size_t rsdp_length, const PhysicalReader& memory,
                  Platform& out)
{
    reset(out);
    if (!memory.map) return "physical reader has no map function";
    // A 20-byte copy of a revision 2 RSDP (multiboot2's "old RSDP" tag may hold one) is still
    // a valid ACPI 1.0 view of it: only the RSDT is reachable.
    bool v1_view = rsdp_length < kRsdpV2Length;
    const char* rsdp_error = v1_view ? validate_rsdp_v1(rsdp_copy, rsdp_length)
                                     : validate_rsdp(rsdp_copy, rsdp_length);
    if (rsdp_error) return rsdp_error;

    // Everything needed from the RSDP is copied out before the first map call.
    auto* rsdp = static_cast<const uint8_t*>(rsdp_copy);
    out.revision = rsdp[15];
    for (size_t i = 0; i < 6; ++i) out.oem_id[i] = char(rsdp[9 + i]);
    uint32_t rsdt_address = load32(rsdp + 16);
    uint64_t xsdt_address = out.revision >= 2 && !v1_view ? load64(rsdp + 24) : 0;
    if (out.revision >= 2 && v1_view)
        warn(out, "RSDP revision 2+ given as its first 20 bytes; the XSDT is not reachable",
             "", 0);

    // 5.2.5.3: use the XSDT when there is one; the RSDT is only a fallback for broken XSDTs.
    Table root;
    const char* error = "RSDP holds neither an RSDT nor an XSDT address";
    if (xsdt_address) {
        error = map_table(memory, xsdt_address, Kind::xsdt, root);
        if (error && rsdt_address) warn(out, error, "XSDT", xsdt_address);
    }
    if (error && rsdt_address) error = map_table(memory, rsdt_address, Kind::rsdt, root);
    if (error) return error;

    out.uses_xsdt = root.kind == Kind::xsdt;
    out.root_table_address = root.address;
    record(out, root);
    walk_root(memory, root, out);
    if (out.has_fadt) find_sleep_state(memory, out);
    return nullptr;
}

const char* parse_at(uint64_t rsdp_phys, const PhysicalReader& memory, Platform& out)
{
    if (!memory.map) {
        reset(out);
        return "physical reader has no map function";
    }
    // The v2 RSDP is 36 bytes but a v1 RSDP may end 20 bytes before unmapped memory.
    size_t length = kRsdpV2Length;
    auto* p = static_cast<const uint8_t*>(map(memory, rsdp_phys, length));
    if (!p) p = static_cast<const uint8_t*>(map(memory, rsdp_phys, length = kRsdpV1Length));
    if (p && length == kRsdpV2Length && p[15] >= 2) {
        uint32_t full = load32(p + 20);
        if (full > kRsdpV2Length && full <= 4096) {
            // A failed map may still have moved a single-window reader: map again either way.
            p = static_cast<const uint8_t*>(map(memory, rsdp_phys, full));
            if (p) length = full;
            else p = static_cast<const uint8_t*>(map(memory, rsdp_phys, length));
        }
    }
    if (!p) {
        reset(out);
        return "RSDP could not be mapped";
    }
    const char* error = parse(p, length, memory, out);
    out.rsdp_address = rsdp_phys;
    return error;
}

uint64_t find_table(const Platform& platform, const char* signature)
{
    if (!signature) return 0;
    for (size_t i = 0; i < platform.table_count && i < kMaxTables; ++i)
        if (bytes_equal(reinterpret_cast<const uint8_t*>(platform.tables[i].signature),
                        signature, 4))
            return platform.tables[i].address;
    return 0;
}

}  // namespace acpi
