/* hostile mmio_page_walk: a page table in the local APIC's page, so a plain load's page walk reads the APIC.
 * hardware: a PAE page directory entry whose page table is at 0xFEE00000 makes the walk for a
 *   linear address read its PTE from the APIC page. The APIC's registers are for 32-bit aligned
 *   loads and stores of the processor (SDM Vol. 3A 11.4.1); what a page walk reads there is not
 *   defined, so nothing a guest may rely on.
 * expect: ended instruction that does not make the access that exited, re-executed 64 times in a row, on 0xfee00028 \(read\)
 * Under Matryoshka the walk's read exits as an EPT violation on 0xFEE00028 (PTE 5 of the table)
 * while the instruction's own operand is at page offset 0: the emulator finds that the bytes at
 * RIP do not make the exit's access, which a cross-modified instruction or a stale TLB entry also
 * causes, and re-executes (mmio_insn_rewrite). Here every re-execution walks again and exits
 * again: after ReexecutionLimit::kMaxInARow (vmx/reexecution_limit.hpp) in a row at one RIP the
 * mismatch counts as permanent and the VM is ended alone with that report, never re-executed
 * forever. First the same load through the normal tables must work. */
#include "guest.h"

TEST("mmio_page_walk");

#define L 0x40000000u
#define PTE_INDEX 5u /* the PTE read from the APIC page: at 0xFEE00000 + 5 * 8 */

int main(void)
{
    static u32 word __attribute__((aligned(4096))) = 0x600dcafeu;
    paging_enable_pae();
    *paging_pte(L + PTE_INDEX * 4096) = (u32)(uintptr_t)&word | PTE_P | PTE_W;
    paging_flush();
    CHECK(mmio_read32(L + PTE_INDEX * 4096) == 0x600dcafeu, "the load through a page table in RAM works");
    if (checks_failed) finish();
    *paging_pde(L) = LAPIC_BASE | PTE_P | PTE_W;
    paging_flush();
    printf("mmio_page_walk: the same load with its page table in the APIC page: the VM should end here\n");
    uart_flush();
    u32 v = mmio_read32(L + PTE_INDEX * 4096);
    fail(EXIT_FAIL, "the load returned 0x%08x and the VM went on", v);
}
