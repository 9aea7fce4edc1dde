/* hostile lapic_page_cross: a dword load that straddles a RAM page and the local APIC page.
 * hardware: paging makes linear page L RAM and L+4 KiB the APIC page (0xFEE00000); a dword at
 * L+0xFFE reads two bytes of RAM and bytes 0-1 of the APIC's reserved offset 0, which is neither
 * an aligned 32-bit access nor inside one register: undefined (SDM Vol. 3A 11.4.1).
 * expect: ended instruction the MMIO emulator does not support, on 0xfee00000 \(read\)
 * The emulator performs an access only at the address of the exit and inside one page
 * (vmx/instruction_emulator.hpp); a split access is refused and the VM ended alone with the
 * report. First the same load entirely in RAM (L+0xFF8) and entirely in the APIC page
 * (L+4 KiB+0x30, the version) must work. */
#include "guest.h"

TEST("lapic_page_cross");

#define L 0x40000000u

int main(void)
{
    static u8 page[4096] __attribute__((aligned(4096)));
    for (u32 i = 0; i < 4096; ++i) page[i] = (u8)i;
    paging_enable_pae();
    *paging_pte(L) = (u32)(uintptr_t)page | PTE_P | PTE_W;
    *paging_pte(L + 4096) = LAPIC_BASE | PTE_P | PTE_W | PTE_PCD | PTE_PWT;
    paging_flush();
    CHECK(mmio_read32(L + 0xff8) == 0xfbfaf9f8u, "dword at L+0xff8 reads RAM");
    CHECK(mmio_read32(L + 4096 + LAPIC_VERSION) == lapic_read(LAPIC_VERSION), "L+4 KiB+0x30 is the APIC's version");
    if (checks_failed) finish();
    printf("lapic_page_cross: dword load at L+0xffe, half RAM, half APIC: the VM should end here\n");
    uart_flush();
    u32 v = mmio_read32(L + 0xffe);
    fail(EXIT_FAIL, "the split load returned 0x%08x and the VM went on", v);
}
