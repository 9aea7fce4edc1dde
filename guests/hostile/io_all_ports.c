/* hostile io_all_ports: OUT then IN of every width at every port 0..0xFFFF.
 * hardware: a port nothing decodes is the empty ISA bus: reads float to all ones (0xFF, 0xFFFF,
 * 0xFFFFFFFF), writes vanish; an access whose bytes span several ports is split per port.
 * expect: contained
 * The VM's devices (vmx/vm_devices.hpp): UART 0x3F8-0x3FF, CMOS 0x70-0x71, debug-exit 0xF4-0xF7,
 * fw_cfg 0x510-0x511, PCI config/reset 0xCF8-0xCFF, 0xE9 and 0x64 (both read all ones). Writes
 * skip the UART (the console) and the debug-exit (it ends the VM, as documented); every other
 * port gets a byte 0x5A, a word 0 and a dword 0x5A5A5A5A (0x5A has neither RST_CPU for 0xCF9 nor
 * a pulse command for 0x64). Then every access that touches no device port must read all ones,
 * and the VM is still running. */
#include "guest.h"

TEST("io_all_ports");

static const struct { u16 first, count; } devices[] = {
    {0x70, 2}, {0xf4, 4}, {0x3f8, 8}, {0x510, 2}, {0xcf8, 8},
};

static int touches(u32 port, u32 size, u16 first, u16 count) { return port < (u32)first + count && first < port + size; }

static int device_port(u32 port, u32 size)
{
    for (u32 i = 0; i < ARRAY_SIZE(devices); ++i)
        if (touches(port, size, devices[i].first, devices[i].count)) return 1;
    return 0;
}

int main(void)
{
    for (u32 port = 0; port <= 0xffff; ++port) {
        if (touches(port, 4, 0xf4, 4) || touches(port, 4, COM1, 8)) continue;
        outb((u16)port, 0x5a);
        outw((u16)port, 0);
        outl((u16)port, 0x5a5a5a5au);
    }
    CHECK(1, "196,000-odd writes to every port but the UART and the debug-exit: the VM runs on");
    u32 wrong[3] = {0, 0, 0}, first_wrong[3] = {0, 0, 0}, tried[3] = {0, 0, 0};
    for (u32 port = 0; port <= 0xffff; ++port) {
        static const u32 sizes[3] = {1, 2, 4};
        for (u32 s = 0; s < 3; ++s) {
            u32 size = sizes[s];
            u32 value = size == 1 ? inb((u16)port) : size == 2 ? inw((u16)port) : inl((u16)port);
            u32 ones = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
            if (device_port(port, size)) continue;
            ++tried[s];
            if (value != ones && !wrong[s]++) first_wrong[s] = port << 16 | (value & 0xffff);
        }
    }
    CHECK(!wrong[0], "inb of %u ports without a device: all 0xff (%u wrong, first 0x%04x: 0x%02x)", tried[0], wrong[0],
          first_wrong[0] >> 16, first_wrong[0] & 0xff);
    CHECK(!wrong[1], "inw of %u ports without a device: all 0xffff (%u wrong, first 0x%04x)", tried[1], wrong[1],
          first_wrong[1] >> 16);
    CHECK(!wrong[2], "inl of %u ports without a device: all 0xffffffff (%u wrong, first 0x%04x)", tried[2], wrong[2],
          first_wrong[2] >> 16);
    CHECK(inw(0xfffe) == 0xffff && inl(0xfffd) == 0xffffffffu, "accesses running past port 0xffff read all ones");
    finish();
}
