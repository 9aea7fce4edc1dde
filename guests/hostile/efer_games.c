/* hostile efer_games: IA32_EFER written every way a mode switch can go wrong: reserved bits,
 * LME set while paging is on (legacy paging), LME cleared and LMA written while in IA-32e mode,
 * CR0.PG with LME but without CR4.PAE, and SCE/NXE round trips in both modes.
 * hardware: reserved bits (1-7, 9, 12-63 here) raise #GP(0); changing LME while CR0.PG = 1
 * raises #GP(0); LMA is read-only (written values are ignored, it follows CR0.PG and LME);
 * paging with LME = 1 and CR4.PAE = 0 raises #GP(0) on the MOV to CR0 (SDM Vol. 4 Table 2-2
 * IA32_EFER, Vol. 3 10.8.5 "Initializing IA-32e Mode", Vol. 2B WRMSR, MOV CR); NXE is writable
 * only when CPUID.80000001H:EDX.NX = 1, SCE with SYSCALL.
 * expect: contained
 */
#include "guest.h"

TEST("efer_games");

#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

static u32 page_dir[1024] __attribute__((aligned(4096)));

static u64 efer64(void)
{
    u64 v = 0;
    long64_op(long64_rdmsr, MSR_EFER, &v);
    return v;
}

int main(void)
{
    struct cpuid_regs e1 = cpuid(0x80000001, 0);
    int nx = (e1.edx >> 20) & 1, sce = (e1.edx >> 11) & 1;
    u64 efer = rdmsr(MSR_EFER);
    CHECK(!(efer & (EFER_LME | EFER_LMA)), "IA32_EFER at start: LME = LMA = 0 (0x%llx)", efer);

    const int reserved[] = {1, 2, 7, 9, 12, 13, 14, 15, 16, 31, 32, 48, 63};
    for (u32 i = 0; i < ARRAY_SIZE(reserved); ++i) {
        int f = wrmsr_fault(MSR_EFER, efer | (1ull << reserved[i]));
        CHECK(f == 13 + 1, "IA32_EFER reserved bit %d raises #GP (%s)", reserved[i], f ? vector_name(f - 1) : "no fault");
    }
    CHECK(wrmsr_fault(MSR_EFER, efer | EFER_NXE) == (nx ? 0 : 13 + 1), "IA32_EFER.NXE %s",
          nx ? "accepted (CPUID NX)" : "raises #GP (no NX in CPUID)");
    CHECK(wrmsr_fault(MSR_EFER, efer | EFER_SCE) == (sce ? 0 : 13 + 1), "IA32_EFER.SCE %s",
          sce ? "accepted (CPUID SYSCALL)" : "raises #GP (no SYSCALL in CPUID)");
    wrmsr(MSR_EFER, efer);
    CHECK(!wrmsr_fault(MSR_EFER, efer | EFER_LMA) && !(rdmsr(MSR_EFER) & EFER_LMA),
          "writing LMA = 1 in protected mode is ignored (0x%llx)", rdmsr(MSR_EFER));

    /* Legacy 32-bit paging (4 MiB pages, identity) on: LME may not change. */
    for (u32 i = 0; i < 1024; ++i) page_dir[i] = i << 22 | 0x83;
    u32 cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();
    write_cr4(cr4 | (1u << 4)); /* PSE */
    write_cr3((u32)(uintptr_t)page_dir);
    write_cr0(cr0 | CR0_PG);
    int f = wrmsr_fault(MSR_EFER, efer | EFER_LME);
    write_cr0(cr0);
    write_cr3(cr3);
    write_cr4(cr4);
    CHECK(f == 13 + 1, "setting LME with CR0.PG = 1 raises #GP (%s)", f ? vector_name(f - 1) : "no fault");
    CHECK(!(rdmsr(MSR_EFER) & EFER_LME), "LME still 0");

    /* LME = 1, CR4.PAE = 0, then CR0.PG: #GP, and no IA-32e mode. */
    wrmsr(MSR_EFER, efer | EFER_LME);
    write_cr3(long64_pml4());
    f = write_cr0_fault(cr0 | CR0_PG);
    CHECK(f == 13 + 1, "CR0.PG with EFER.LME = 1 and CR4.PAE = 0 raises #GP (%s)", f ? vector_name(f - 1) : "no fault");
    CHECK(!(read_cr0() & CR0_PG) && !(rdmsr(MSR_EFER) & EFER_LMA), "paging still off, LMA 0");
    wrmsr(MSR_EFER, efer);
    write_cr3(cr3);

    /* In IA-32e mode. */
    u64 lm = efer64();
    CHECK((lm & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA), "64-bit mode: LME = LMA = 1 (0x%llx)", lm);
    u64 v = lm & ~EFER_LME;
    f = long64_op(long64_wrmsr, MSR_EFER, &v);
    CHECK(f == 13 + 1, "64-bit mode: clearing LME raises #GP (%s)", f ? vector_name((u32)f - 1) : "no fault");
    v = lm & ~(EFER_LME | EFER_LMA);
    f = long64_op(long64_wrmsr, MSR_EFER, &v);
    CHECK(f == 13 + 1, "64-bit mode: clearing LME and LMA raises #GP (%s)", f ? vector_name((u32)f - 1) : "no fault");
    v = lm & ~EFER_LMA;
    f = long64_op(long64_wrmsr, MSR_EFER, &v);
    CHECK(!f, "64-bit mode: writing LMA = 0 (LME kept) completes (%s)", f ? vector_name((u32)f - 1) : "no fault");
    v = lm | (1ull << 63);
    f = long64_op(long64_wrmsr, MSR_EFER, &v);
    CHECK(f == 13 + 1, "64-bit mode: reserved bit 63 raises #GP (%s)", f ? vector_name((u32)f - 1) : "no fault");
    if (nx) {
        v = lm ^ EFER_NXE;
        f = long64_op(long64_wrmsr, MSR_EFER, &v);
        CHECK(!f, "64-bit mode: toggling NXE completes");
    }
    u64 end = rdmsr(MSR_EFER);
    CHECK(!(end & (EFER_LME | EFER_LMA)), "back in protected mode: LME = LMA = 0 (0x%llx)", end);
    finish();
}
