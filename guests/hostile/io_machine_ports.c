/* hostile io_machine_ports: writes every "power off / exit / debugger" port of the emulators and chipsets.
 * hardware: on the machine the hypervisor runs on these ports power it off or stop the emulator:
 * Bochs's shutdown port 0x8900 ("Shutdown"), its debugger/instrumentation port 0x8A00 (0x8AE0
 * breaks into the debugger), the ACPI PM1a control registers with SLP_EN (ACPI 6.5 4.8.3.2.1:
 * SLP_TYP | bit 13) at 0xB004 (Bochs/QEMU PIIX4 PM at 0xB000), 0x4004 and 0x1004 (other
 * chipsets' PM bases), QEMU's default isa-debug-exit 0x501, Bochs's info ports 0x402/0x403, the
 * SMI command port 0xB2. On a PC with exactly the VM's devices none of them is decoded: the
 * writes vanish, the reads give all ones.
 * expect: contained
 * A VM owns none of them: every port traps (vmx/vm.cpp: I/O bitmaps all ones) and these are on
 * the empty bus, so the VM, the other VMs and the emulator all run on: the scenario ends with
 * PASS (and the canary with its own). The VM's own PM1a_CNT at 0x604 (its FADT's) is a real
 * power-off, not tried here: acpi_power_off declares it. The VM's own exit (debug-exit 0xF4) is
 * what finish() uses at the end. */
#include "guest.h"

TEST("io_machine_ports");

static void out_string(u16 port, const char *s)
{
    while (*s) outb(port, (u8)*s++);
}

int main(void)
{
    out_string(0x8900, "Shutdown");
    CHECK(1, "\"Shutdown\" to Bochs's port 0x8900: still running");
    outw(0x8a00, 0x8a00);
    outw(0x8a00, 0x8ae0);
    CHECK(1, "0x8a00, 0x8ae0 to Bochs's debugger port 0x8a00: still running");
    static const u16 pm1a[] = {0xb004, 0x4004, 0x1004};
    for (u32 i = 0; i < ARRAY_SIZE(pm1a); ++i)
        for (u32 slp_typ = 0; slp_typ < 8; ++slp_typ) outw(pm1a[i], (u16)(1u << 13 | slp_typ << 10));
    CHECK(1, "SLP_EN with every SLP_TYP to PM1a control 0xb004, 0x4004, 0x1004: still running");
    for (u32 v = 0; v < 256; ++v) outb(0x501, (u8)v);
    outw(0x501, 0);
    outl(0x500, 0);
    CHECK(1, "every byte to QEMU's default debug-exit 0x501: still running");
    out_string(0x402, "io_machine_ports: bochs info port\n");
    out_string(0x403, "io_machine_ports: bochs debug port\n");
    outb(0xb2, 0);
    outb(0xb2, 0xf0);
    CHECK(1, "Bochs info ports 0x402/0x403 and the SMI command port 0xb2: still running");
    CHECK(inb(0x8900) == 0xff && inw(0xb004) == 0xffff && inw(0x4004) == 0xffff && inb(0x501) == 0xff &&
              inb(0xb2) == 0xff,
          "all of them read all ones (the empty bus)");
    finish();
}
