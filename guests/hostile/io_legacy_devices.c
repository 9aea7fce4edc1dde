/* hostile io_legacy_devices: PCI configuration, 8259 PIC, 8254 PIT, CMOS and 8042 ports driven like a BIOS.
 * hardware: PCI mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2): a function that does not exist reads
 * all ones from CONFIG_DATA (vendor ID 0xFFFF means "absent"). CMOS (MC146818A): port 0x70 takes
 * a 7-bit index, bit 7 is the NMI mask (PC convention, not a register bit), the index port is
 * write-only. A port no device decodes reads all ones.
 * expect: contained
 * What a VM has (vmx/vm_devices.hpp): no PCI devices (and no host bridge: 0xCF8 reads all ones),
 * no 8259/8254/8042 (its MADT clears PCAT_COMPAT), so their ports are the empty bus: the
 * initialisation sequences vanish and status reads give 0xFF; the CMOS is modelled (128 bytes). */
#include "guest.h"

TEST("io_legacy_devices");

static u32 pci_read(u32 bus, u32 dev, u32 fn, u32 reg)
{
    outl(0xcf8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | reg);
    return inl(0xcfc);
}

static u8 cmos_read(u8 index)
{
    outb(0x70, index);
    return inb(0x71);
}

int main(void)
{
    u32 present = 0;
    for (u32 dev = 0; dev < 32; ++dev)
        for (u32 fn = 0; fn < 8; ++fn) present += (pci_read(0, dev, fn, 0) & 0xffff) != 0xffff;
    CHECK(!present, "bus 0: no function answers (vendor ID 0xffff for all 256)");
    CHECK(pci_read(255, 31, 7, 0xfc) == 0xffffffffu, "bus 255 device 31 function 7 register 0xfc: all ones");
    outl(0xcf8, 0x80000000u);
    CHECK(inb(0xcfc) == 0xff && inw(0xcfe) == 0xffff && inb(0xcfd) == 0xff, "byte and word reads of CONFIG_DATA: all ones");
    CHECK(inl(0xcf8) == 0xffffffffu, "CONFIG_ADDRESS reads all ones (no host bridge)");
    outl(0xcf8, 0);

    /* 8259: the BIOS initialisation (ICW1-4), then OCW1 masks and OCW3 "read IRR". */
    static const u8 icw[2][4] = {{0x11, 0x08, 0x04, 0x01}, {0x11, 0x70, 0x02, 0x01}};
    for (u32 p = 0; p < 2; ++p) {
        u16 base = p ? 0xa0 : 0x20;
        outb(base, icw[p][0]);
        for (u32 i = 1; i < 4; ++i) outb(base + 1, icw[p][i]);
        outb(base + 1, 0xff);
        outb(base, 0x0a);
    }
    CHECK(inb(0x20) == 0xff && inb(0x21) == 0xff && inb(0xa0) == 0xff && inb(0xa1) == 0xff, "PIC ports read 0xff");
    /* 8254: channel 0 mode 2, count 0; latch and read back; port 0x61 (gate/speaker/NMI status). */
    outb(0x43, 0x34);
    outb(0x40, 0);
    outb(0x40, 0);
    outb(0x43, 0x00);
    CHECK(inb(0x40) == 0xff && inb(0x40) == 0xff && inb(0x61) == 0xff, "PIT counter latch and port 0x61 read 0xff");
    outb(0x61, 0x03);
    /* 8042 and the POST/delay port 0x80, the DMA page registers. */
    CHECK(inb(0x60) == 0xff && inb(0x64) == 0xff, "no keyboard controller: 0x60 and 0x64 read 0xff");
    outb(0x80, 0x55);
    outb(0x87, 0x12);
    CHECK(inb(0x80) == 0xff && inb(0x87) == 0xff, "port 0x80 and DMA page register 0x87 read 0xff");

    /* CMOS: bit 7 of the index is the NMI mask, never part of the register number. */
    outb(0x70, 0x80 | 0x0f);
    outb(0x71, 0x5a);
    CHECK(cmos_read(0x0f) == 0x5a, "index 0x8f (NMI masked) wrote register 0x0f");
    outb(0x70, 0xff);
    outb(0x71, 0xa5);
    CHECK(cmos_read(0x7f) == 0xa5 && cmos_read(0xff) == 0xa5, "index 0xff is register 0x7f (the last of 128)");
    CHECK(inb(0x70) == 0xff, "the index port is write-only (reads 0xff)");
    CHECK(cmos_read(0x0d) == 0x80, "register D: VRT set (battery good)");
    u8 seconds = cmos_read(0x00);
    CHECK((seconds & 0x0f) <= 9 && seconds < 0x60, "the clock still reads a BCD second (0x%02x)", seconds);
    outb(0x70, 0x0f);
    outb(0x71, 0);
    finish();
}
