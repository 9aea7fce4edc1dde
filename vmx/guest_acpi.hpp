// The firmware tables a VM's guest reads to find its CPUs, interrupt controllers and power
// management (ACPI 6.5 §5.2): an RSDP (revision 2, both checksums), an RSDT and an XSDT that each
// list the FADT and the MADT, the FADT with its FACS and DSDT, and the MADT. Written into the
// guest's RAM the way a PC BIOS leaves them, so that both ways an OS has of finding them work:
//   - the BIOS-area scan (ACPI 6.5 §5.2.5.1): the BIOS data area word at 0x40E holds the
//     segment of the extended BIOS data area (EBDA), and the RSDP lies in the EBDA's first KiB
//     on a 16-byte boundary. This is how Multiboot v1 guests find it (v1 has no ACPI tag).
//   - the Multiboot2 "ACPI new RSDP" tag (type 15), a copy of the RSDP: AcpiTables::rsdp is that
//     copy, for multiboot::LoadRequest::acpi_rsdp.
//
// The region is guest_memory::Layout's ACPI region ([0x9F000, 0xA0000), reserved in the guest's
// memory map). Its contents, each table 16-byte aligned (the FACS 64-byte aligned, §5.2.10):
//   +0x000 EBDA size in KiB (the byte a BIOS keeps at the EBDA's start), then zeros
//   +0x010 RSDP, 36 bytes
//   +0x040 FACS, 64 bytes
//   +0x080 RSDT (ACPI 1.0 view: 32-bit entries, FADT then MADT), 44 bytes
//   +0x0B0 XSDT (64-bit entries, FADT then MADT), 52 bytes
//   +0x0F0 FADT, 276 bytes (revision 6, ACPI 6.5)
//   +0x210 DSDT, 57 bytes
//   +0x250 MADT, 82 bytes + 8 per vCPU (16 per vCPU with APIC ID 255 and above)
// The RSDT is there besides the XSDT for OSes that only read ACPI 1.0 tables (many small
// kernels); an ACPI 2.0+ OS uses the XSDT (§5.2.5.3). 64 vCPUs need 0x4A2 bytes; 4 KiB hold
// 341 vCPUs.
//
// Also written, as a BIOS does: the BDA word at 0x40E (EBDA segment, region_base >> 4) and the
// BDA word at 0x413 (conventional memory in KiB below the EBDA, what INT 12h returns; Linux's
// reserve_bios_regions() reads it).
//
// Identification, in every header: OEM ID "MATRYO", OEM table ID "MATRYOSH", OEM revision 1,
// creator ID "MTRY", creator revision 1.
//
// MADT (§5.2.12): local APIC address 0xFEE00000; flags PCAT_COMPAT (the VM has the 8259 pair,
// drivers/virtual/pic8259.hpp, which an OS that uses the I/O APIC must mask); revision 5 (ACPI
// 6.3+). vCPU i gets ACPI processor UID i and APIC ID i, flags Enabled: a Processor Local APIC
// entry (type 0) for APIC IDs 0-254, a Processor Local x2APIC entry (type 9) from 255 on
// (§5.2.12.12: IDs below 255 must use type 0; 0xFF is the xAPIC broadcast ID). Then the I/O APIC
// (type 1: ID 0, address 0xFEC00000, GSI base 0; drivers/virtual/ioapic.hpp), two interrupt
// source overrides (type 2) as on every PC: ISA IRQ 0 (the PIT) -> GSI 2 conforming, and IRQ 9
// (the SCI) -> GSI 9 level-triggered active-low; every other ISA IRQ n is GSI n, edge, active
// high. And a Local APIC NMI entry (type 4): LINT1 of every processor carries NMI.
//
// FADT (§5.2.9): DSDT and X_DSDT, FIRMWARE_CTRL (the FACS); SCI_INT 9; SMI_CMD 0 (always in ACPI
// mode); the PM1a event block at 0x600 (4 bytes), PM1a control at 0x604 (2 bytes) and the 24-bit
// PM timer at 0x608 (drivers/virtual/acpi_pm.hpp), in both the 32-bit and the X_ fields; no
// PM1b, PM2 or GPE blocks; C2/C3 latencies above their limits (not supported); CENTURY 0x32;
// IAPC_BOOT_ARCH legacy devices, no VGA, no 8042 (the VM has only the 8042's reset line); flags
// WBINVD, PROC_C1, PWR_BUTTON and SLP_BUTTON (no fixed-feature buttons) and RESET_REG_SUP; the
// reset register is I/O port 0xCF9 with value 6 (drivers/virtual/pci_host.hpp).
//
// DSDT (hand-written AML, §19-20): Name (\_S5, Package () {7, 7, 0, 0}), the sleep type the PM1
// control block powers off with (acpi_pm::kS5SleepType), and an empty Scope (\_SB).
//
// Pure (writes through GuestRam only); hardware-independent.
#pragma once
#include <cstddef>
#include <cstdint>

#include "vmx/guest_ram.hpp"

namespace guest_acpi {

constexpr char kOemId[] = "MATRYO";        // 6 bytes
constexpr char kOemTableId[] = "MATRYOSH"; // 8 bytes
constexpr char kCreatorId[] = "MTRY";      // 4 bytes
constexpr uint32_t kOemRevision = 1, kCreatorRevision = 1;
constexpr uint8_t kMadtRevision = 5, kRootTableRevision = 1, kRsdpRevision = 2;
constexpr uint32_t kLocalApicAddress = 0xFEE00000;
constexpr size_t kRsdpBytes = 36;
constexpr uint64_t kBdaEbdaSegment = 0x40E, kBdaBaseMemoryKib = 0x413;
constexpr uint64_t kBdaEnd = 0x500;          // the BIOS data area is [0x400, 0x500)
constexpr uint64_t kEbdaScanBytes = 1024;    // the scan looks at the EBDA's first KiB
constexpr uint64_t kEbdaScanLimit = 0xA0000; // ... which must end below the VGA hole
constexpr uint32_t kFirstX2apicId = 255;     // APIC IDs from here on get type 9 entries
constexpr uint8_t kFadtRevision = 6, kFadtMinorRevision = 5, kDsdtRevision = 2;
constexpr uint32_t kFadtBytes = 276;
constexpr uint16_t kSciIrq = 9;
constexpr uint8_t kIoApicId = 0;
constexpr uint16_t kResetPort = 0xCF9;
constexpr uint8_t kResetValue = 6;

struct AcpiTables {
    uint64_t rsdp_address; // guest-physical; 16-byte aligned, in the EBDA's first KiB
    uint64_t rsdt_address, xsdt_address, madt_address, fadt_address, dsdt_address, facs_address;
    uint32_t madt_length;
    uint64_t used_bytes;     // from region_base: the end of the MADT
    uint8_t rsdp[kRsdpBytes]; // the RSDP's bytes, for the Multiboot2 tag 15
    size_t rsdp_length;       // kRsdpBytes
};

// Bytes of the region the tables take for `vcpu_count` vCPUs (0 for 0 vCPUs).
uint64_t tables_bytes(uint32_t vcpu_count);

// Writes the tables into [region_base, region_base + region_size) of `ram` (zeroing the rest of
// that range) and the two BDA words, and fills `out`. The region must be in RAM, 16-byte aligned,
// at or above 0x500 (after the BDA) with its first KiB below 0xA0000 (where the scan looks), and
// large enough (tables_bytes). False with a message in `error` (always NUL-terminated when
// error_size > 0), and nothing written, otherwise.
bool build_acpi_tables(const GuestRam& ram, uint64_t region_base, uint64_t region_size, uint32_t vcpu_count,
                       AcpiTables& out, char* error, size_t error_size);

} // namespace guest_acpi
