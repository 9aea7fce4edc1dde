/* hostile io_all_ports: OUT then IN of every width at every port 0..0xFFFF.
 * hardware: a port nothing decodes is the empty ISA bus: reads float to all ones (0xFF, 0xFFFF,
 * 0xFFFFFFFF), writes vanish; an access whose bytes span several ports is split per port.
 * expect: contained
 * The VM's devices (vmx/vm_devices.hpp): PIC 0x20-0x21, 0xA0-0xA1, ELCR 0x4D0-0x4D1, PIT
 * 0x40-0x43, port 0x61, 8042 reset 0x64, CMOS 0x70-0x71, debug-exit 0xF4-0xF7, UART 0x3F8-0x3FF,
 * fw_cfg 0x510-0x511, ACPI PM 0x600-0x60B, PCI config/reset 0xCF8-0xCFF, 0xE9 (reads all ones).
 * Writes skip the UART (the console) and every port a write may end the VM through, as on a PC:
 * the debug-exit 0xF4 (finish() uses it), the 8042 command port 0x64 (0xFE resets:
 * io_reset_kbc), the reset control register 0xCF9 (io_reset_cf9) and PM1a_CNT 0x604-0x605 (SLP_EN
 * powers off: acpi_power_off): no write whose bytes touch them. Every other port gets a byte
 * 0x5A, a word 0 and a dword 0x5A5A5A5A.
 * Then every access that touches no device port must read all ones, and the VM is still
 * running. */
#include "guest.h"

TEST("io_all_ports");

struct ports {
    u16 first, count;
};

static const struct ports devices[] = {
    {0x20, 2}, {0x40, 4}, {0x61, 1}, {0x64, 1}, {0x70, 2}, {0xa0, 2}, {0xf4, 4}, {0x3f8, 8},
    {0x4d0, 2}, {0x510, 2}, {0x600, 12}, {0xcf8, 8},
};

/* Writes here end the VM (or drive the console): scenarios of their own cover them. */
static const struct ports not_written[] = {{0x64, 1}, {0xf4, 4}, {COM1, 8}, {0x604, 2}, {0xcf9, 1}};

static int touches(u32 port, u32 size, const struct ports *p) { return port < (u32)p->first + p->count && p->first < port + size; }

static int touches_any(u32 port, u32 size, const struct ports *list, u32 n)
{
    for (u32 i = 0; i < n; ++i)
        if (touches(port, size, &list[i])) return 1;
    return 0;
}

int main(void)
{
    u32 skipped = 0;
    for (u32 port = 0; port <= 0xffff; ++port) {
        int quiet[3];
        for (u32 s = 0; s < 3; ++s) quiet[s] = !touches_any(port, 1u << s, not_written, ARRAY_SIZE(not_written));
        skipped += !quiet[0] + !quiet[1] + !quiet[2];
        if (quiet[0]) outb((u16)port, 0x5a);
        if (quiet[1]) outw((u16)port, 0);
        if (quiet[2]) outl((u16)port, 0x5a5a5a5au);
    }
    CHECK(skipped == 68, "196,540 writes; the %u byte, word and dword writes touching 0x64, 0xf4-0xf7, the UART, "
          "0x604-0x605 or 0xcf9 skipped (they end the VM or print): the VM runs on", skipped);
    u32 wrong[3] = {0, 0, 0}, first_wrong[3] = {0, 0, 0}, tried[3] = {0, 0, 0};
    for (u32 port = 0; port <= 0xffff; ++port) {
        static const u32 sizes[3] = {1, 2, 4};
        for (u32 s = 0; s < 3; ++s) {
            u32 size = sizes[s];
            u32 value = size == 1 ? inb((u16)port) : size == 2 ? inw((u16)port) : inl((u16)port);
            u32 ones = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
            if (touches_any(port, size, devices, ARRAY_SIZE(devices))) continue;
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
