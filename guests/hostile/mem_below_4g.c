/* hostile mem_below_4g: writes the last dword below 4 GiB (0xFFFFFFFC), where a PC's BIOS ROM sits.
 * hardware: the flash/ROM alias below 4 GiB ignores plain writes (the reset vector stays).
 * expect: ended access to guest-physical address outside the VM's memory: 0xfffffffc \(write\)
 * A Multiboot VM has no firmware there (only kind=realmode VMs get a firmware alias below 4 GiB):
 * the address decodes to nothing the VM owns and the hypervisor's policy is to end the VM alone,
 * naming it. Between RAM's end and 4 GiB only the local APIC page answers (lapic_* scenarios). */
#include "guest.h"

TEST("mem_below_4g");

int main(void)
{
    printf("mem_below_4g: writing 0xfffffffc: the VM should end here\n");
    uart_flush();
    mmio_write32(0xfffffffc, 0xdeadbeef);
    fail(EXIT_FAIL, "the write to 0xfffffffc completed and the VM went on");
}
