/* hostile mem_pae_maxphyaddr: PAE paging (SDM Vol. 3A 4.4) with physical addresses at and above MAXPHYADDR.
 * hardware: a paging-structure entry with a bit set in [MAXPHYADDR, 51], or bit 63 (XD) while
 * EFER.NXE = 0, is reserved: the access raises #PF with P and RSVD set in the error code (SDM Vol.
 * 3A 4.7, Table 4-11 and 4.4.2), whatever the entry points to. An address below MAXPHYADDR that
 * nothing decodes is no fault: the access goes to the bus.
 * expect: ended access to guest-physical address outside the VM's memory: 0x[0-9a-f]{9,} \(read\)
 * First the reserved-bit faults (reads and writes; a 4 KiB PTE and a 2 MiB PDE; bit MAXPHYADDR,
 * bit 51, bit 63), each checked; any failure ends the scenario with FAIL. Then a read of the last
 * page below MAXPHYADDR, far above the VM's RAM: the hypervisor's policy is to end the VM alone,
 * naming the address (printed first, so the log can be compared). */
#include "guest.h"

TEST("mem_pae_maxphyaddr");

#define WINDOW 0x40000000u /* a linear page far above RAM, remapped below */

static void read_window(void *arg) { (void)arg; (void)*(volatile u32 *)WINDOW; }
static void write_window(void *arg) { (void)arg; *(volatile u32 *)WINDOW = 1; }

static void expect_rsvd(const char *what, u32 write)
{
    int faulted = expect_fault(14, write ? write_window : read_window, 0);
    u32 want = PF_P | PF_RSVD | (write ? PF_W : 0);
    CHECK(faulted && last_fault.error == want && last_fault.cr2 == WINDOW, "%s: %s #PF error 0x%x (want 0x%x), CR2 0x%x",
          what, write ? "write" : "read", faulted ? last_fault.error : 0xffffffffu, want, last_fault.cr2);
}

int main(void)
{
    ASSERT(cpuid(0x80000000, 0).eax >= 0x80000008);
    u32 maxphy = cpuid(0x80000008, 0).eax & 0xff;
    note("MAXPHYADDR %u", maxphy);
    ASSERT(maxphy >= 36 && maxphy <= 52);
    static u32 target[1024] __attribute__((aligned(4096)));
    target[0] = 0x600dd00d;
    u64 ram_page = (u32)(uintptr_t)target;

    paging_enable_pae();
    u64 *pte = paging_pte(WINDOW);
    *pte = ram_page | PTE_P | PTE_W;
    invlpg(WINDOW);
    CHECK(*(volatile u32 *)WINDOW == 0x600dd00d, "the window maps a RAM page");

    u64 bits[3] = {1ull << maxphy, 1ull << 51, 1ull << 63};
    const char *names[3] = {"PTE bit MAXPHYADDR", "PTE bit 51", "PTE bit 63 (XD, EFER.NXE=0)"};
    for (u32 i = 0; i < 3; ++i) {
        if (i == 1 && maxphy == 52) continue;
        *pte = ram_page | PTE_P | PTE_W | bits[i];
        invlpg(WINDOW);
        expect_rsvd(names[i], 0);
        expect_rsvd(names[i], 1);
    }
    *pte = ram_page | PTE_P | PTE_W;
    u64 *pde = paging_pde(WINDOW);
    u64 saved_pde = *pde;
    *pde = 0x200000 | PTE_P | PTE_W | PTE_PS | (1ull << maxphy);
    paging_flush();
    expect_rsvd("2 MiB PDE bit MAXPHYADDR", 0);
    *pde = saved_pde;
    paging_flush();
    CHECK(*(volatile u32 *)WINDOW == 0x600dd00d, "the window maps the RAM page again");
    if (checks_failed) finish();

    u64 top = (1ull << maxphy) - 4096;
    *pte = top | PTE_P | PTE_W;
    invlpg(WINDOW);
    printf("mem_pae_maxphyaddr: reading guest-physical 0x%llx (the last page below MAXPHYADDR): the VM should end here\n",
           top);
    uart_flush();
    u32 v = *(volatile u32 *)WINDOW;
    fail(EXIT_FAIL, "read 0x%08x from guest-physical 0x%llx and went on", v, top);
}
