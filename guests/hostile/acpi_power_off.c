/* hostile acpi_power_off: powers the machine off through its FADT's PM1a_CNT (port 0x604), after every sleep request that must not.
 * hardware: ACPI 6.5 4.8.3.2.1: writing PM1_CNT with SLP_EN (bit 13, write-only, reads 0) puts
 * the machine in the sleep state SLP_TYP (bits 12:10) names; the DSDT's \_S5 package says 7 is
 * soft-off. SCI_EN (bit 0) reads 1 on a machine always in ACPI mode (FADT SMI_CMD 0).
 * expect: ended ^power-off$
 * The VM's DSDT offers \_S5 alone, and its PM block (drivers/virtual/acpi_pm.hpp) ignores the
 * other types. First what must not power off: SLP_TYP 0-6 with SLP_EN, SLP_TYP 7 without it, the
 * low byte alone (SLP_EN is in the high byte), PM1a_STS/PM1a_EN writes; then 7 | SLP_EN: the VM
 * ends alone with `power-off` (a pass for the hypervisor's status), the other VMs run on. */
#include "guest.h"

TEST("acpi_power_off");

#define PM1A_STS 0x600
#define PM1A_EN 0x602
#define PM1A_CNT 0x604
#define SCI_EN 0x0001u
#define SLP_EN (1u << 13)
#define SLP_TYP(t) ((u16)((t) << 10))

int main(void)
{
    u16 control = inw(PM1A_CNT);
    CHECK(control & SCI_EN, "PM1a_CNT reads SCI_EN (0x%04x)", control);
    for (u32 type = 0; type < 7; ++type) outw(PM1A_CNT, (u16)(SLP_TYP(type) | SLP_EN));
    CHECK(1, "SLP_EN with SLP_TYP 0-6 (no such state in the DSDT): still running");
    outw(PM1A_CNT, SLP_TYP(7));
    control = inw(PM1A_CNT);
    CHECK((control & 0x3c01) == (SLP_TYP(7) | SCI_EN), "SLP_TYP 7 without SLP_EN: still running, reads back (0x%04x)", control);
    outb(PM1A_CNT, 0xff);
    outw(PM1A_STS, 0xffff);
    outw(PM1A_EN, 0xffff);
    outl(PM1A_STS, 0xffffffffu);
    control = inw(PM1A_CNT);
    CHECK(!(control & SLP_EN), "low-byte and PM1a_STS/EN writes: still running; SLP_EN reads 0 (0x%04x)", control);
    outw(PM1A_EN, 0);
    if (checks_failed) finish();
    printf("acpi_power_off: writing SLP_TYP 7 | SLP_EN to port 0x604: the VM should end here with power-off\n");
    uart_flush();
    outw(PM1A_CNT, (u16)(SLP_TYP(7) | SLP_EN));
    fail(EXIT_FAIL, "still running after SLP_TYP 7 | SLP_EN to port 0x604");
}
