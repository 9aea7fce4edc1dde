/* hostile io_reset_cf9: resets the machine through the reset control register at port 0xCF9.
 * hardware: on a PC chipset (Intel ICH/PCH RST_CNT, byte access only) writing 0x02 selects a hard
 * reset and writing 0x06 (RST_CPU set) resets the whole machine; Linux's reboot=pci does this.
 * expect: ended ^reboot$
 * Under Matryoshka the machine is the VM (a PIIX reset control register, drivers/virtual/pci_host.hpp):
 * it is ended alone with the reason `reboot`, the other VMs run on. First the harmless forms,
 * which must not reset: a dword and a word at 0xCF8 whose byte 1 has bit 2 set (CONFIG_ADDRESS of
 * PCI mechanism #1, never RST_CNT), and 0x02 alone (bit 1 reads back). */
#include "guest.h"

TEST("io_reset_cf9");

int main(void)
{
    outl(0xcf8, 0x80000400u); /* bus 0, device 0, function 4, register 0 */
    CHECK(inl(0xcfc) == 0xffffffffu, "PCI 00:00.4 absent: config data reads all ones");
    outw(0xcf8, 0x0400);
    outb(0xcf9, 0x02);
    u8 rst_cnt = inb(0xcf9);
    CHECK(rst_cnt == 0x02, "RST_CNT keeps SYS_RST: reads 0x%02x", rst_cnt);
    if (checks_failed) finish();
    printf("io_reset_cf9: writing 0x06 to port 0xcf9: the VM should end here with a reset report\n");
    uart_flush();
    outb(0xcf9, 0x06);
    fail(EXIT_FAIL, "still running after 0x06 to port 0xcf9");
}
