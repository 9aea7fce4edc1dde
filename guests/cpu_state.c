/* cpu_state: the register state VMX does not switch stays the guest's own. Loads every XMM
 * register, the x87 control word, MXCSR, CR2 and DR0-DR3 with values derived from pattern=,
 * then spins until it has been preempted `preemptions=` times (a jump in the TSC while it
 * spins), and checks every value again. Run as two VMs on one CPU: a hypervisor that does not
 * save and restore this state between them shows up as the other VM's values. */
#include "guest.h"

TEST("cpu_state");


static u32 pattern;
static u32 xmm_in[8][4] __attribute__((aligned(16)));
static u32 xmm_out[8][4] __attribute__((aligned(16)));

static u32 value_for(u32 index) { return (index * 0x9e3779b1u) ^ (pattern * 0x01010101u); }

static void load_state(void)
{
    for (u32 r = 0; r < 8; ++r)
        for (u32 i = 0; i < 4; ++i) xmm_in[r][i] = value_for(r * 4 + i);
    __asm__ volatile("movdqa 0x00(%0), %%xmm0\n movdqa 0x10(%0), %%xmm1\n movdqa 0x20(%0), %%xmm2\n"
                     "movdqa 0x30(%0), %%xmm3\n movdqa 0x40(%0), %%xmm4\n movdqa 0x50(%0), %%xmm5\n"
                     "movdqa 0x60(%0), %%xmm6\n movdqa 0x70(%0), %%xmm7" ::"r"(xmm_in) : "memory");
    u16 fcw = (u16)(0x0300 | (pattern & 0x3f)); /* double precision, pattern-chosen exception masks */
    __asm__ volatile("fninit\n fldcw %0" ::"m"(fcw));
    u32 mxcsr = 0x1f80 | ((pattern & 3) << 13); /* rounding control from the pattern */
    __asm__ volatile("ldmxcsr %0" ::"m"(mxcsr));
    u32 cr2 = value_for(100) & ~0xfffu;
    __asm__ volatile("mov %0, %%cr2" ::"r"(cr2));
    u32 dr[4] = {value_for(101), value_for(102), value_for(103), value_for(104)};
    __asm__ volatile("mov %0, %%db0" ::"r"(dr[0]));
    __asm__ volatile("mov %0, %%db1" ::"r"(dr[1]));
    __asm__ volatile("mov %0, %%db2" ::"r"(dr[2]));
    __asm__ volatile("mov %0, %%db3" ::"r"(dr[3]));
}

static void check_state(void)
{
    __asm__ volatile("movdqa %%xmm0, 0x00(%0)\n movdqa %%xmm1, 0x10(%0)\n movdqa %%xmm2, 0x20(%0)\n"
                     "movdqa %%xmm3, 0x30(%0)\n movdqa %%xmm4, 0x40(%0)\n movdqa %%xmm5, 0x50(%0)\n"
                     "movdqa %%xmm6, 0x60(%0)\n movdqa %%xmm7, 0x70(%0)" ::"r"(xmm_out) : "memory");
    u32 wrong = 0;
    for (u32 r = 0; r < 8; ++r)
        for (u32 i = 0; i < 4; ++i) wrong += xmm_out[r][i] != xmm_in[r][i];
    CHECK(wrong == 0, "XMM0-XMM7 kept their values (%u words differ; xmm0[0] 0x%x, expected 0x%x)", wrong,
          xmm_out[0][0], xmm_in[0][0]);
    u16 fcw;
    __asm__ volatile("fnstcw %0" : "=m"(fcw));
    /* Bit 6 of the control word is reserved and always reads 1. */
    CHECK(fcw == (u16)(0x0340 | (pattern & 0x3f)), "x87 control word kept (0x%x)", fcw);
    u32 mxcsr;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    CHECK(mxcsr == (0x1f80 | ((pattern & 3) << 13)), "MXCSR kept (0x%x)", mxcsr);
    u32 cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    CHECK(cr2 == (value_for(100) & ~0xfffu), "CR2 kept (0x%x)", cr2);
    u32 dr0, dr3;
    __asm__ volatile("mov %%db0, %0" : "=r"(dr0));
    __asm__ volatile("mov %%db3, %0" : "=r"(dr3));
    CHECK(dr0 == value_for(101) && dr3 == value_for(104), "DR0 and DR3 kept (0x%x, 0x%x)", dr0, dr3);
}

int main(void)
{
    char text[16];
    pattern = cmdline_get("pattern", text, sizeof text) ? (u32)parse_number(text, NULL) & 0xff : 0x5a;
    u32 wanted = (u32)cmdline_number("preemptions", 20);
    u32 cr0, cr4;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0" ::"r"((cr0 & ~(CR0_EM | CR0_TS)) | CR0_MP));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %0, %%cr4" ::"r"(cr4 | CR4_OSFXSR | CR4_OSXMMEXCPT));
    load_state();
    note("state loaded with pattern 0x%x; waiting for %u preemptions", pattern, wanted);

    /* A spin loop iteration takes a few dozen ticks; a gap of a thousand or more means another
     * vCPU ran in between (pause-loop exits hand the CPU over every few thousand ticks, slices
     * end with the preemption timer). Bounded: no preemption at all gives FAIL, not a hang. */
    u32 seen = 0;
    u64 last = rdtsc(), start = last, widest = 0;
    while (seen < wanted && rdtsc() - start < 2000000000ull) {
        u64 now = rdtsc();
        if (now - last > widest) widest = now - last;
        if (now - last > 1000) seen++;
        last = now;
        __asm__ volatile("pause");
    }
    note("preempted %u times in %llu ticks, the longest for %llu", seen, rdtsc() - start, widest);
    CHECK(seen >= wanted, "preempted %u times (wanted %u)", seen, wanted);
    check_state();
    finish();
}
