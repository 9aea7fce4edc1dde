// ACPI static table parsing: RSDP, RSDT/XSDT, MADT, FADT, HPET, MCFG and the \_S5 package in
// the DSDT (or an SSDT). No AML interpreter: \_S5 is found by pattern, which covers the
// `Name (_S5, Package () {...})` form that firmware uses in practice.
//
// Everything read from firmware is untrusted: lengths are checked against what the reader
// mapped, and a table that fails validation is skipped with a warning instead of being used.
#pragma once
#include <cstddef>
#include <cstdint>

namespace acpi {

// Maps `length` bytes of physical memory for reading; returns nullptr when it cannot.
// The parser uses a pointer only until its next call to `map`, so a reader may reuse a single
// window for every call.
struct PhysicalReader {
    const void* (*map)(void* context, uint64_t phys, size_t length);
    void* context;
};

struct Cpu {
    uint32_t apic_id;
    uint32_t acpi_uid;
    bool enabled;          // usable now
    bool online_capable;   // may be hot-added later (only meaningful when !enabled)
    bool from_x2apic_entry;
};

struct IoApic {
    uint32_t id;
    uint32_t address;
    uint32_t gsi_base;
};

// MADT type 2 (ACPI 6.5 5.2.12.5): ISA IRQ `source` is wired to `gsi`.
// flags bits 1:0 polarity, bits 3:2 trigger mode (0 = conforms to the bus).
struct InterruptOverride {
    uint8_t bus;
    uint8_t source;
    uint32_t gsi;
    uint16_t flags;
};

// MADT types 4 and 0xA (ACPI 6.5 5.2.12.7, 5.2.12.13): which LINT pin carries NMI.
struct LocalApicNmi {
    uint32_t acpi_uid;  // kAllProcessors for every processor
    uint16_t flags;     // same encoding as InterruptOverride::flags
    uint8_t lint;
};
constexpr uint32_t kAllProcessors = 0xFFFFFFFF;

// ACPI 6.5 5.2.3.2. address == 0 means "not present".
struct GenericAddress {
    uint8_t space_id;     // kSpaceMemory, kSpaceIo, ...
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size;  // 0 undefined, 1 byte, 2 word, 3 dword, 4 qword
    uint64_t address;
};
constexpr uint8_t kSpaceMemory = 0;
constexpr uint8_t kSpaceIo = 1;

struct Power {
    // PM1 control blocks: from X_PM1x_CNT_BLK when non-zero, else built from the 32-bit port
    // field (space kSpaceIo). Left zero on hardware-reduced platforms, which have none.
    GenericAddress pm1a_control, pm1b_control;
    bool has_s5;
    uint8_t slp_typ_a, slp_typ_b;  // \_S5 values, to be shifted into PM1x_CNT.SLP_TYP
    bool reset_supported;          // FADT RESET_REG_SUP and a non-zero RESET_REG
    GenericAddress reset_register;
    uint8_t reset_value;
    uint32_t smi_command;          // 0: the platform is already in ACPI mode
    uint8_t acpi_enable_value, acpi_disable_value;
    bool hardware_reduced;         // FADT flag HW_REDUCED_ACPI
    GenericAddress sleep_control, sleep_status;  // hardware-reduced sleep registers
    uint16_t sci_interrupt;
};

// ACPI PM timer (3.579545 MHz), useful to calibrate the TSC.
struct PmTimer {
    GenericAddress block;  // address == 0: no timer
    bool is_32bit;         // FADT flag TMR_VAL_EXT, else 24 bits
};

// One PCIe ECAM window from the MCFG (PCI Firmware Specification 3.x, 4.1.2).
struct EcamRegion {
    uint64_t base;
    uint16_t segment;
    uint8_t start_bus, end_bus;
};

// A table that passed validation; `find_table` looks these up (e.g. DMAR for VT-d).
struct TableInfo {
    char signature[5];
    uint8_t revision;
    uint32_t length;
    uint64_t address;
};

struct Warning {
    const char* message;
    char signature[5];  // of the table concerned, "" when unknown
    uint64_t address;   // of the table concerned, 0 when none
};

constexpr size_t kMaxCpus = 256;
constexpr size_t kMaxIoApics = 16;
constexpr size_t kMaxOverrides = 16;
constexpr size_t kMaxNmis = 16;
constexpr size_t kMaxEcamRegions = 8;
constexpr size_t kMaxTables = 48;
constexpr size_t kMaxWarnings = 8;
// Larger than any real table; keeps a corrupt length from making us checksum gigabytes.
constexpr uint32_t kMaxTableLength = 16u << 20;

struct Platform {
    uint64_t rsdp_address;  // 0 when only a copy of the RSDP was given
    uint8_t revision;       // RSDP revision: 0 for ACPI 1.0, 2 for ACPI 2.0+
    char oem_id[7];
    bool uses_xsdt;
    uint64_t root_table_address;

    bool has_madt;
    uint64_t local_apic_address;
    bool has_legacy_pics;  // MADT PCAT_COMPAT: dual 8259s that must be masked
    Cpu cpus[kMaxCpus];
    size_t cpu_count;
    size_t cpus_ignored;   // beyond kMaxCpus
    size_t cpus_unusable;  // neither enabled nor online capable, not listed in cpus
    IoApic ioapics[kMaxIoApics];
    size_t ioapic_count;
    InterruptOverride overrides[kMaxOverrides];
    size_t override_count;
    LocalApicNmi nmis[kMaxNmis];
    size_t nmi_count;

    bool has_fadt;
    uint32_t fadt_flags;
    uint16_t boot_arch_flags;  // FADT IAPC_BOOT_ARCH
    uint64_t dsdt_address;
    Power power;
    PmTimer pm_timer;

    bool has_hpet;
    uint64_t hpet_address;

    EcamRegion ecam[kMaxEcamRegions];
    size_t ecam_count;

    TableInfo tables[kMaxTables];
    size_t table_count;

    Warning warnings[kMaxWarnings];
    size_t warning_count;
    size_t warnings_dropped;
};

// FADT IAPC_BOOT_ARCH bits (ACPI 6.5 5.2.9.3).
constexpr uint16_t kBootArchLegacyDevices = 1u << 0;
constexpr uint16_t kBootArch8042 = 1u << 1;
constexpr uint16_t kBootArchVgaNotPresent = 1u << 2;
constexpr uint16_t kBootArchMsiNotSupported = 1u << 3;
constexpr uint16_t kBootArchCmosRtcNotPresent = 1u << 5;

// Validates an RSDP: signature, checksum over the first 20 bytes and, for revision >= 2, the
// extended checksum over `Length` bytes (ACPI 6.5 5.2.5.3). nullptr when valid.
const char* validate_rsdp(const void* rsdp, size_t available_bytes);

// Finds the RSDP in the first KiB of the EBDA (segment at physical 0x40E) and in
// 0xE0000-0xFFFFF, on 16-byte boundaries (ACPI 6.5 5.2.5.1). Returns its physical address or 0.
uint64_t scan_bios_areas(const PhysicalReader& memory);

// Parses everything reachable from a copy of the RSDP (multiboot2 hands over a copy, not its
// address). A copy shorter than 36 bytes is treated as ACPI 1.0 (RSDT only) whatever its
// revision. `out` is reset first. Returns nullptr when the root table was usable, else why not
// (bad RSDP, unusable RSDT/XSDT); problems with individual tables go to out.warnings, so check
// has_madt / has_fadt before relying on their fields.
const char* parse(const void* rsdp_copy, size_t rsdp_length, const PhysicalReader& memory,
                  Platform& out);

// The same, starting from the RSDP's physical address (e.g. from scan_bios_areas).
const char* parse_at(uint64_t rsdp_phys, const PhysicalReader& memory, Platform& out);

// Address of the first validated table with this 4-character signature, or 0.
uint64_t find_table(const Platform& platform, const char* signature);

}  // namespace acpi
