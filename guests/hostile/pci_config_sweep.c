/* hostile pci_config_sweep: PCI configuration mechanism #1 over every bus, device, function and register, with every width and unaligned CONFIG_DATA offsets.
 * hardware: PCI Local Bus 3.0, 3.2.2.3.2: CONFIG_ADDRESS (a dword at 0xCF8) selects bus,
 * device, function and dword register; an access to 0xCFC-0xCFF of any width reaches the
 * selected dword's bytes from (port & 3) on (an IN/OUT that runs past 0xCFF or starts below 0xCFC
 * is split by the CPU at the dword boundary, SDM Vol. 1 19.3: its bytes outside 0xCFC-0xCFF are
 * other ports). A function that does not exist reads all ones and ignores writes (master
 * abort). On this PC only 00:00.0 answers, the 440FX host bridge 8086:1237: vendor, device,
 * revision, class, header type, status read-only; command bits 1, 2, 6 and 8 and the latency
 * timer's bits 7:3 writable; no BARs, no interrupt line; 0x40-0xFF chipset registers.
 * expect: contained
 * Sweeps: the vendor dword of all 65,536 functions; every register of the 256 on bus 0 by
 * dword; registers 0 and 0x3C of those 256 through every width at every offset of CONFIG_DATA
 * (byte 0xCFC-0xCFF, word 0xCFC-0xCFF, dword 0xCFC-0xCFF: the unaligned ones read all ones past
 * 0xCFF); all ones written to every register of the 255 absent functions of bus 0; the host
 * bridge's 256 bytes read at every width and offset and compared with its dwords; all ones
 * written over its header at every width and offset; its chipset registers (0x40-0xFF) written
 * back with what they read (harmless on a real 440FX too: PAM/SMRAM keep their values). */
#include "platform.h"

TEST("pci_config_sweep");

static void select_config(u32 bus, u32 dev, u32 fn, u32 reg) { outl(0xcf8, PCI_ADDRESS(bus, dev, fn, reg & 0xfc)); }

static u32 in_width(u16 port, u32 size) { return size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port); }

static void out_width(u16 port, u32 size, u32 value)
{
    if (size == 1) outb(port, (u8)value);
    else if (size == 2) outw(port, (u16)value);
    else outl(port, value);
}

/* What an IN of `size` at 0xCFC + `offset` gives when the selected dword is `dword`: its bytes
 * from `offset` on, then all ones from port 0xD00. */
static u32 expected(u32 dword, u32 offset, u32 size)
{
    u32 value = 0;
    for (u32 i = 0; i < size; ++i) value |= (offset + i < 4 ? (dword >> (8 * (offset + i))) & 0xff : 0xff) << (8 * i);
    return value;
}

/* Reads register `reg` at every width and offset of CONFIG_DATA; the number that differ. */
static u32 check_widths(u32 bus, u32 dev, u32 fn, u32 reg, u32 dword)
{
    static const u32 sizes[3] = {1, 2, 4};
    u32 wrong = 0;
    select_config(bus, dev, fn, reg);
    for (u32 s = 0; s < 3; ++s)
        for (u32 offset = 0; offset < 4; ++offset)
            wrong += in_width((u16)(0xcfc + offset), sizes[s]) != expected(dword, offset, sizes[s]);
    return wrong;
}

static void sweep_absent(void)
{
    u32 answered = 0, first = 0;
    for (u32 bus = 0; bus < 256; ++bus)
        for (u32 df = 0; df < 256; ++df) {
            u32 v = pci_read(bus, df >> 3, df & 7, 0);
            if (bus == 0 && df == 0) continue;
            if (v != 0xffffffffu && !answered++) first = bus << 8 | df;
        }
    CHECK(!answered, "65,535 functions besides 00:00.0 read vendor/device all ones (%u answer, first %02x:%02x.%x)", answered,
          first >> 8, (first >> 3) & 31, first & 7);

    u32 wrong = 0;
    for (u32 df = 1; df < 256; ++df)
        for (u32 reg = 0; reg < 256; reg += 4) wrong += pci_read(0, df >> 3, df & 7, reg) != 0xffffffffu;
    CHECK(!wrong, "every register of the 255 absent functions of bus 0 reads all ones (%u not)", wrong);
    for (u32 df = 1; df < 256; ++df) wrong += check_widths(0, df >> 3, df & 7, 0, ~0u) + check_widths(0, df >> 3, df & 7, 0x3c, ~0u);
    CHECK(!wrong, "their registers 0 and 0x3c at every width and offset: all ones (%u not)", wrong);

    for (u32 df = 1; df < 256; ++df)
        for (u32 reg = 0; reg < 256; reg += 4) {
            select_config(0, df >> 3, df & 7, reg);
            outl(0xcfc, 0xffffffffu);
        }
    for (u32 df = 1; df < 256; ++df)
        for (u32 reg = 0; reg < 256; reg += 4) wrong += pci_read(0, df >> 3, df & 7, reg) != 0xffffffffu;
    CHECK(!wrong, "all ones written to them: nothing appeared (%u registers not all ones)", wrong);
}

static void sweep_host_bridge(void)
{
    u32 image[64];
    for (u32 reg = 0; reg < 64; ++reg) image[reg] = pci_read(0, 0, 0, reg * 4);
    CHECK(image[0] == 0x12378086u && image[2] == 0x06000002u, "00:00.0: 8086:1237 revision 2 class 06.00.00 (0x%08x 0x%08x)",
          image[0], image[2]);
    u32 wrong = 0;
    for (u32 reg = 0; reg < 64; ++reg) wrong += check_widths(0, 0, 0, reg * 4, image[reg]);
    CHECK(!wrong, "its 256 bytes at every width and offset agree with its dwords (%u reads differ)", wrong);

    static const u32 sizes[3] = {1, 2, 4};
    for (u32 s = 0; s < 3; ++s)
        for (u32 at = 0; at < 0x40; ++at) {
            select_config(0, 0, 0, at);
            out_width((u16)(0xcfc + (at & 3)), sizes[s], 0xffffffffu);
        }
    u32 command = pci_read(0, 0, 0, 4), latency = pci_read(0, 0, 0, 0xc);
    CHECK(pci_read(0, 0, 0, 0) == image[0] && pci_read(0, 0, 0, 8) == image[2], "all ones over the header: identity unchanged");
    CHECK(command == ((image[1] & 0xffff0000u) | 0x0146u), "command takes bits 1, 2, 6, 8 only; status read-only (0x%08x)",
          command);
    CHECK(latency == 0x0000f800u, "latency timer bits 7:3 only, cache line size, header type, BIST read-only (0x%08x)", latency);
    u32 nonzero = 0;
    for (u32 reg = 0x10; reg < 0x40; reg += 4) nonzero += pci_read(0, 0, 0, reg) != 0;
    CHECK(!nonzero, "no BARs, no capabilities, no interrupt line: 0x10-0x3f read 0 (%u not)", nonzero);
    select_config(0, 0, 0, 4);
    outw(0xcfc, (u16)image[1]);
    select_config(0, 0, 0, 0xc);
    outl(0xcfc, image[3]);

    for (u32 s = 0; s < 3; ++s)
        for (u32 at = 0x40; at < 0x100; at += sizes[s]) {
            select_config(0, 0, 0, at);
            u16 port = (u16)(0xcfc + (at & 3));
            out_width(port, sizes[s], in_width(port, sizes[s]));
        }
    for (u32 reg = 16; reg < 64; ++reg) wrong += pci_read(0, 0, 0, reg * 4) != image[reg];
    CHECK(!wrong, "chipset registers 0x40-0xff written back at every width: unchanged (%u differ)", wrong);

    /* Unaligned accesses that start below CONFIG_DATA: their bytes from 0xCFC on are data. */
    select_config(0, 0, 0, 0);
    u32 from_cfa = inl(0xcfa), from_cf9 = inl(0xcf9);
    u16 from_cfb = inw(0xcfb);
    CHECK(from_cfa == 0x8086ffffu && from_cfb == 0x86ff && from_cf9 == 0x86ffffffu,
          "IN at 0xcfa (dword), 0xcfb (word), 0xcf9 (dword): all ones, then the data bytes (0x%08x 0x%04x 0x%08x)", from_cfa,
          from_cfb, from_cf9);
}

int main(void)
{
    sweep_absent();
    sweep_host_bridge();
    outl(0xcf8, 0);
    finish();
}
