/* hostile ioapic_page: selects an IOAPIC register at 0xFEC00000 (a write), a page no VM owns.
 * hardware: a PC's IOAPIC answers there (IOREGSEL at +0, IOWIN at +0x10); a VM has none (its MADT
 * lists no IOAPIC), so the address decodes to nothing the VM may touch.
 * expect: ended access to guest-physical address outside the VM's memory: 0xfec00000 \(write\)
 * The hypervisor's policy (vmx/exit_ept.cpp) for a guest-physical address that is neither RAM,
 * its own local APIC nor a device on the VM's MMIO bus: end the VM alone, naming the address.
 * Anything printed after the access means the VM went on: the scenario then fails itself. */
#include "guest.h"

TEST("ioapic_page");

int main(void)
{
    printf("ioapic_page: selecting IOAPIC register 1 (version) at 0xfec00000: the VM should end here\n");
    uart_flush();
    mmio_write32(0xfec00000, 1);
    u32 version = mmio_read32(0xfec00010);
    fail(EXIT_FAIL, "the IOAPIC window answered (version 0x%08x) and the VM went on", version);
}
