/* long_mode: into 64-bit mode and back. Builds 4-level page tables (identity map of the first
 * 4 GiB with 2 MiB pages, the APIC's page uncached, and an alias of the first GiB at 4 GiB),
 * then long_mode.asm enables PAE, EFER.LME and paging, far-jumps to 64-bit code, prints from
 * 64-bit mode, computes with a 64-bit value above 4 GiB, reads and writes RAM through the alias
 * above 4 GiB, reads EFER (LMA), sets CR8 and reads the TPR, uses RIP-relative addressing, and
 * returns through compatibility mode with paging off. The checks run back in 32-bit mode. An
 * exception in 64-bit mode prints "FAIL long_mode: exception vector ..." and exits 2. */
#include "guest.h"

TEST("long_mode");

struct lm_results {
    u64 big, alias_read, alias_written, efer, cr8, tpr, riprel, cs;
};

u32 long_mode_run(u32 pml4, struct lm_results *out);

static u64 pml4[512] __attribute__((aligned(4096)));
static u64 pdpt[512] __attribute__((aligned(4096)));
static u64 pd[4][512] __attribute__((aligned(4096)));

int main(void)
{
    struct cpuid_regs e1 = cpuid(0x80000001, 0);
    if (!(e1.edx & (1u << 29))) fail(EXIT_FAIL, "CPUID.80000001H:EDX[29] says no long mode");
    for (u32 g = 0; g < 4; ++g) {
        for (u32 i = 0; i < 512; ++i) {
            u64 phys = (u64)g << 30 | (u64)i << 21;
            pd[g][i] = phys | PTE_P | PTE_W | PTE_PS;
            if (phys == (LAPIC_BASE & ~0x1fffffu)) pd[g][i] |= PTE_PCD | PTE_PWT;
        }
        pdpt[g] = (u32)(uintptr_t)pd[g] | PTE_P | PTE_W;
    }
    pdpt[4] = (u32)(uintptr_t)pd[0] | PTE_P | PTE_W; /* 4 GiB..5 GiB -> physical 0..1 GiB */
    pml4[0] = (u32)(uintptr_t)pdpt | PTE_P | PTE_W;

    lapic_write(LAPIC_TPR, 0);
    note("entering 64-bit mode (CR3 0x%x)", (u32)(uintptr_t)pml4);
    struct lm_results r;
    memset(&r, 0, sizeof r);
    u32 status = long_mode_run((u32)(uintptr_t)pml4, &r);
    note("back in 32-bit protected mode");
    CHECK(status == 0, "returned from 64-bit mode");
    CHECK(r.big == 0xfdb9753013579bdeull, "64-bit arithmetic above 4 GiB: 0x%llx", r.big);
    CHECK(r.alias_read == 0x0123456789abcdefull, "read through the alias above 4 GiB: 0x%llx", r.alias_read);
    CHECK(r.alias_written == 0x5555aaaa5555aaaaull, "write through the alias above 4 GiB lands in RAM: 0x%llx",
          r.alias_written);
    CHECK((r.efer & (1u << 8)) && (r.efer & (1u << 10)), "EFER.LME and EFER.LMA set in 64-bit mode (0x%llx)", r.efer);
    CHECK(r.cs == SEL_CODE64, "CS is the 64-bit code segment 0x%llx", r.cs);
    CHECK(r.riprel == 0, "RIP-relative LEA gives the absolute address");
    CHECK(r.cr8 == 5, "CR8 reads back 5 (%llu)", r.cr8);
    CHECK((r.tpr & 0xf0) == 0x50, "CR8 = 5 shows as TPR 0x50 in the APIC (0x%llx)", r.tpr);
    CHECK(lapic_read(LAPIC_TPR) == 0, "CR8 = 0 cleared the TPR again");
    u64 efer = rdmsr(MSR_EFER);
    CHECK(!(efer & (1u << 10)) && !(efer & (1u << 8)), "EFER.LMA and LME clear again (0x%llx)", efer);
    CHECK(!(read_cr0() & (1u << 31)) && !(read_cr4() & (1u << 5)), "paging and PAE off again");
    finish();
}
