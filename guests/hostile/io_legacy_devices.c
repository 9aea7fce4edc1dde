/* hostile io_legacy_devices: PCI configuration, 8259 PIC, 8254 PIT, ELCR, port 0x61, CMOS and 8042 ports driven like a BIOS.
 * hardware: a PC with exactly the VM's devices (vmx/vm_devices.hpp). PCI mechanism #1 (PCI Local
 * Bus 3.0, 3.2.2.3.2): CONFIG_ADDRESS keeps enable, bus, device, function and register bits
 * (30:24 and 1:0 read 0), CONFIG_DATA reaches the selected dword's bytes from (port & 3) and
 * reads all ones while the enable bit is clear or no function answers: on bus 0 only the host
 * bridge 00:00.0 (440FX, 8086:1237, class 06.00.00). 8259A: after ICW1-4, OCW1 masks read back
 * from the data ports, OCW3 selects IRR/ISR (ISR stays 0: no INTA ever comes, the output is
 * not wired to the CPU). ELCR (PIIX): IRQ 0, 1, 2, 8 and 13 are edge-only (bits read 0).
 * 8254: a mode 0 count on counter 2 with its gate low (port 0x61 bit 0) does not count: the latch
 * reads the count written. Port 0x61: bits 0-1 read back, 6-7 are 0. 8042: only the reset line
 * (status 0x64 reads 0: buffers empty), no keyboard at 0x60 (all ones). CMOS (MC146818A): port
 * 0x70 takes a 7-bit index, bit 7 is the NMI mask, the index port is write-only. A port no device
 * decodes reads all ones.
 * expect: contained */
#include "platform.h"

TEST("io_legacy_devices");

static u8 cmos_read(u8 index)
{
    outb(0x70, index);
    return inb(0x71);
}

static void check_pci(void)
{
    u32 present = 0, first = ~0u;
    for (u32 dev = 0; dev < 32; ++dev)
        for (u32 fn = 0; fn < 8; ++fn)
            if ((pci_read(0, dev, fn, 0) & 0xffff) != 0xffff) {
                ++present;
                if (first == ~0u) first = dev << 3 | fn;
            }
    CHECK(present == 1 && first == 0, "bus 0: only 00:00.0 answers (%u functions, first %x)", present, first);
    CHECK(pci_read(0, 0, 0, 0) == 0x12378086u, "00:00.0 is the 440FX host bridge 8086:1237 (0x%08x)", pci_read(0, 0, 0, 0));
    CHECK(pci_read(0, 0, 0, 8) >> 8 == 0x060000u, "00:00.0 class 06.00.00 (0x%08x)", pci_read(0, 0, 0, 8));
    CHECK(pci_read(255, 31, 7, 0xfc) == 0xffffffffu, "bus 255 device 31 function 7 register 0xfc: all ones");
    outl(0xcf8, PCI_ADDRESS(0, 0, 0, 0));
    CHECK(inw(0xcfc) == 0x8086 && inw(0xcfe) == 0x1237 && inb(0xcfd) == 0x80 && inb(0xcff) == 0x12,
          "byte and word reads of CONFIG_DATA reach the dword's bytes");
    outl(0xcf8, 0x7f00fffeu);
    u32 address = inl(0xcf8);
    CHECK(address == 0x0000fffcu, "CONFIG_ADDRESS drops bits 30:24 and 1:0 (0x%08x)", address);
    CHECK(inl(0xcfc) == 0xffffffffu && inb(0xcfe) == 0xff, "enable bit clear: CONFIG_DATA reads all ones");
    outl(0xcf8, 0);
}

static void check_pics(void)
{
    static const u8 icw[2][4] = {{0x11, 0x08, 0x04, 0x01}, {0x11, 0x70, 0x02, 0x01}};
    for (u32 p = 0; p < 2; ++p) {
        u16 base = p ? 0xa0 : 0x20;
        outb(base, icw[p][0]);
        for (u32 i = 1; i < 4; ++i) outb(base + 1, icw[p][i]);
    }
    outb(0x21, 0xfa);
    outb(0xa1, 0x5f);
    CHECK(inb(0x21) == 0xfa && inb(0xa1) == 0x5f, "OCW1 masks read back (0x%02x, 0x%02x)", inb(0x21), inb(0xa1));
    outb(0x20, 0x0b);
    outb(0xa0, 0x0b);
    CHECK(inb(0x20) == 0 && inb(0xa0) == 0, "OCW3 read ISR: nothing in service");
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    outb(0x4d0, 0xff);
    outb(0x4d1, 0xff);
    CHECK(inb(0x4d0) == 0xf8 && inb(0x4d1) == 0xde, "ELCR: IRQ 0, 1, 2, 8, 13 edge-only (0x%02x, 0x%02x)", inb(0x4d0),
          inb(0x4d1));
    outb(0x4d0, 0);
    outb(0x4d1, 0);
}

static void check_pit(void)
{
    outb(0x61, inb(0x61) & ~0x03); /* counter 2's gate low, speaker off */
    outb(0x43, 0xb0);              /* counter 2, LSB then MSB, mode 0, binary */
    outb(0x42, 0x34);
    outb(0x42, 0x12);
    outb(0x43, 0x80); /* latch counter 2 */
    u16 count = inb(0x42);
    count |= (u16)(inb(0x42) << 8);
    CHECK(count == 0x1234, "counter 2 with its gate low holds its count (0x%04x)", count);
    outb(0x61, 0x03);
    u8 port61 = inb(0x61);
    CHECK((port61 & 0xc3) == 0x03, "port 0x61: gate and speaker bits read back, NMI sources 0 (0x%02x)", port61);
    outb(0x61, 0);
}

int main(void)
{
    check_pci();
    check_pics();
    check_pit();
    CHECK(inb(0x60) == 0xff && inb(0x64) == 0x00, "8042: no keyboard data (0x60: 0xff), status 0x64 reads 0 (empty)");
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
