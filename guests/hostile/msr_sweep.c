/* hostile msr_sweep: RDMSR of every index in 0-0x1FFF, 0x40000000-0x400000FF (the synthetic
 * range other hypervisors use), 0xC0000000-0xC0001FFF, 0xC0010000-0xC00100FF (AMD's) and the
 * edges around them, then WRMSR of 0 to every index that did not read.
 * hardware: an MSR the processor does not have raises #GP(0) on RDMSR and WRMSR (SDM Vol. 2B
 * RDMSR/WRMSR); the guest's processor has exactly the MSRs Matryoshka documents (README "the
 * MSRs a kernel needs", vmx/msr_policy.hpp), so each index either reads (the documented ones,
 * those of hidden CPUID features excepted) or raises #GP, never hangs, never reaches the host.
 * Write-only MSRs (IA32_PRED_CMD, IA32_BIOS_UPDT_TRIG) accept 0. The x2APIC range faults in
 * xAPIC mode.
 * expect: contained
 */
#include "guest.h"

TEST("msr_sweep");

struct range {
    u32 first, last;
};
static const struct range swept[] = {
    {0, 0x1fff}, {0x2000, 0x2003}, {0x3fffffff, 0x400000ff}, {0x7fffffff, 0x80000000},
    {0xbfffffff, 0xc0001fff}, {0xc0002000, 0xc0002003}, {0xc0010000, 0xc00100ff}, {0xfffffffe, 0xffffffff},
};

static int have_adjust, have_spec_ctrl, have_pred_cmd, have_tsc_aux;

/* The documented MSRs (vmx/msr_policy.cpp read_msr, the local APIC's in xAPIC mode). */
static int documented(u32 m)
{
    if (m >= 0x200 && m <= 0x20f) return 1; /* variable MTRRs */
    if (m >= 0x268 && m <= 0x26f) return 1; /* fixed 4K MTRRs */
    if (m >= 0xc0000080 && m <= 0xc0000084) return 1; /* EFER, STAR, LSTAR, CSTAR, FMASK */
    if (m >= 0xc0000100 && m <= 0xc0000102) return 1; /* FS_BASE, GS_BASE, KERNEL_GS_BASE */
    switch (m) {
    case 0x10: case 0x17: case 0x1b: case 0x3a: case 0x8b: case 0xfe: case 0x174: case 0x175: case 0x176:
    case 0x1a0: case 0x1d9: case 0x250: case 0x258: case 0x259: case 0x277: case 0x2ff: case 0x6e0:
        return 1;
    case 0x3b: return have_adjust;
    case 0x48: return have_spec_ctrl;
    case 0xc0000103: return have_tsc_aux;
    }
    return 0;
}

static int write_only(u32 m) { return m == 0x79 || (m == 0x49 && have_pred_cmd); }

int main(void)
{
    struct cpuid_regs l7 = cpuid(7, 0), e1 = cpuid(0x80000001, 0);
    have_adjust = (l7.ebx >> 1) & 1;
    have_spec_ctrl = (l7.edx >> 26 | l7.edx >> 27 | l7.edx >> 31) & 1;
    have_pred_cmd = (l7.edx >> 26) & 1;
    have_tsc_aux = ((e1.edx >> 27) | (l7.ecx >> 22)) & 1;
    u32 tried = 0, readable = 0, wrong = 0, write_wrong = 0;
    for (u32 r = 0; r < ARRAY_SIZE(swept); ++r) {
        u32 m = swept[r].first;
        do {
            u64 v = 0;
            int f = rdmsr_fault(m, &v);
            ++tried;
            int expect_read = documented(m);
            if (!f) ++readable;
            if (f ? (f != 13 + 1 || expect_read) : !expect_read) {
                if (wrong++ < 8)
                    printf("  RDMSR 0x%x: %s (0x%llx), expected %s\n", m, f ? vector_name(f - 1) : "read", v,
                           expect_read ? "a value" : "#GP");
            }
            if (f) {
                int w = wrmsr_fault(m, 0);
                if (write_only(m) ? w != 0 : w != 13 + 1) {
                    if (write_wrong++ < 8)
                        printf("  WRMSR 0x%x = 0: %s\n", m, w ? vector_name(w - 1) : "accepted");
                }
            }
        } while (m++ != swept[r].last);
    }
    note("%u MSR indices tried, %u readable", tried, readable);
    CHECK(wrong == 0, "RDMSR: the documented MSRs read, every other index raises #GP (%u wrong)", wrong);
    CHECK(write_wrong == 0, "WRMSR 0 of every unreadable index raises #GP, write-only ones accept it (%u wrong)",
          write_wrong);
    finish();
}
