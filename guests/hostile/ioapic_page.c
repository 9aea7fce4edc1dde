/* hostile ioapic_page: reads and writes the I/O APIC page at 0xFEC00000 with every width, misaligned, at registers and indices that do not exist.
 * hardware: the PC's 82093AA-style I/O APIC (datasheet 3.0): IOREGSEL at +0 (the index in bits
 * 7:0, bits 31:8 reserved, read 0), IOWIN at +0x10 (the selected 32-bit register). Index 0 ID
 * (bits 27:24 writable), 1 version 0x00170011 (24 entries, version 0x11, read-only), 2
 * arbitration ID (read-only), 0x10-0x3F the redirection entries (delivery status and Remote IRR
 * read-only, bits 31:17 and 55:32 reserved: read 0); other indices read 0 and ignore writes.
 * Narrower accesses reach the registers' bytes through the chipset's byte enables; bytes of the
 * page no register decodes read all ones and ignore writes (version 0x11 has no EOI register at
 * +0x40).
 * expect: contained
 * Every width a 32-bit general-purpose instruction has (byte, word, dword; 8-byte accesses are
 * in tests/unit/vioapic_test.cpp: MMX/SSE on device memory ends the VM, see lapic_sse) and
 * misaligned ones (a word across IOREGSEL's end, a dword across IOWIN's end, the page's last
 * dword). */
#include "platform.h"

TEST("ioapic_page");

static u8 read8(u32 a) { return *(volatile u8 *)a; }
static u16 read16(u32 a) { return *(volatile u16 *)a; }
static void write8(u32 a, u8 v) { *(volatile u8 *)a = v; }
static void write16(u32 a, u16 v) { *(volatile u16 *)a = v; }

int main(void)
{
    CHECK(ioapic_read(0) == 0, "ID register reads 0 (the MADT's I/O APIC ID)");
    CHECK(ioapic_read(1) == IOAPIC_VERSION, "version 0x%08x (24 entries, version 0x11)", ioapic_read(1));
    ioapic_write(1, 0);
    ioapic_write(2, 0xffffffffu);
    CHECK(ioapic_read(1) == IOAPIC_VERSION && ioapic_read(2) == 0, "version and arbitration are read-only");
    ioapic_write(0, 0xffffffffu);
    CHECK(ioapic_read(0) == 0x0f000000u && ioapic_read(2) == 0x0f000000u, "ID keeps bits 27:24 (0x%08x), arbitration follows",
          ioapic_read(0));
    ioapic_write(0, 0);

    u32 nonzero = 0;
    for (u32 index = 3; index < 0x10; ++index) {
        ioapic_write(index, 0xffffffffu);
        nonzero += ioapic_read(index) != 0;
    }
    for (u32 index = 0x40; index < 0x100; ++index) {
        ioapic_write(index, 0xffffffffu);
        nonzero += ioapic_read(index) != 0;
    }
    CHECK(!nonzero, "indices 3-0xf and 0x40-0xff: no register, read 0 after all-ones writes (%u not)", nonzero);

    u32 bad_entries = 0;
    for (u32 pin = 0; pin < IOAPIC_PINS; ++pin) {
        u32 low = ioapic_read(IOAPIC_ENTRY_LOW(pin)), high = ioapic_read(IOAPIC_ENTRY_HIGH(pin));
        if (!(low & IOAPIC_MASKED) || high) ++bad_entries;
        ioapic_write(IOAPIC_ENTRY_HIGH(pin), 0xffffffffu);
        ioapic_write(IOAPIC_ENTRY_LOW(pin), 0xffffffffu);
        if (ioapic_read(IOAPIC_ENTRY_LOW(pin)) != 0x1afffu || ioapic_read(IOAPIC_ENTRY_HIGH(pin)) != 0xff000000u) ++bad_entries;
        ioapic_write(IOAPIC_ENTRY_LOW(pin), IOAPIC_MASKED);
        ioapic_write(IOAPIC_ENTRY_HIGH(pin), 0);
    }
    CHECK(!bad_entries, "24 entries masked at reset; all ones read back 0x0001afff / 0xff000000 (reserved bits, read-only "
          "status) (%u wrong)", bad_entries);

    mmio_write32(IOAPIC_REGSEL, 0xabcdef01u);
    CHECK(mmio_read32(IOAPIC_REGSEL) == 0x01, "IOREGSEL bits 31:8 read 0 (0x%08x)", mmio_read32(IOAPIC_REGSEL));
    CHECK(read8(IOAPIC_WINDOW) == 0x11 && read8(IOAPIC_WINDOW + 2) == 0x17 && read16(IOAPIC_WINDOW + 2) == 0x0017 &&
              read16(IOAPIC_WINDOW) == 0x0011,
          "byte and word reads of IOWIN give the version's bytes");
    write8(IOAPIC_REGSEL, 0x10);
    write8(IOAPIC_WINDOW, 0x42);
    CHECK(ioapic_read(0x10) == (IOAPIC_MASKED | 0x42), "a byte write to IOWIN changes entry 0's vector alone (0x%08x)",
          ioapic_read(0x10));
    write8(IOAPIC_REGSEL + 1, 0x12);
    CHECK(read8(IOAPIC_REGSEL) == 0x10, "a byte write to IOREGSEL's reserved byte 1 leaves the index");
    write16(IOAPIC_WINDOW + 2, 0x0001);
    CHECK(ioapic_read(0x10) == (IOAPIC_MASKED | 0x42), "a word write to IOWIN's upper half keeps the mask");
    ioapic_write(0x10, IOAPIC_MASKED);

    mmio_write32(IOAPIC_REGSEL, 1);
    u16 across_select = read16(IOAPIC_REGSEL + 3);
    u32 across_window = mmio_read32(IOAPIC_WINDOW + 2);
    CHECK(across_select == 0xff00, "a word across IOREGSEL's end: 0x%04x (byte 3 then an undecoded byte)", across_select);
    CHECK(across_window == 0xffff0017u, "a dword across IOWIN's end: 0x%08x", across_window);
    CHECK(mmio_read32(IOAPIC_BASE + 0x04) == 0xffffffffu && mmio_read32(IOAPIC_BASE + 0x20) == 0xffffffffu &&
              mmio_read32(IOAPIC_BASE + 0x40) == 0xffffffffu && mmio_read32(IOAPIC_BASE + 0xffc) == 0xffffffffu,
          "+0x04, +0x20, +0x40 (no EOI register on version 0x11), +0xffc read all ones");
    mmio_write32(IOAPIC_BASE + 0x40, 0x42);
    mmio_write32(IOAPIC_BASE + 0x14, 0xffffffffu);
    mmio_write32(IOAPIC_BASE + 0xffc, 0xffffffffu);
    CHECK(ioapic_read(1) == IOAPIC_VERSION && ioapic_read(0x10) == IOAPIC_MASKED, "writes there change nothing");
    finish();
}
