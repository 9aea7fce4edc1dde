/* canary: the VM that runs beside every hostile scenario (guests/hostile/README.md) and proves
 * it was not hurt. Pure compute, no HLT, interrupts on (so any interrupt, NMI or INIT that
 * leaks in from another VM ends it with a FAIL, as does any lost register or memory word).
 *
 * Each round r = 1..rounds: checks that every word of its region still holds round r-1's value
 * and sums the region, checks the sum against the one computed when writing, rewrites the
 * region with round r's values, and checks the general registers (held across a busy loop),
 * XMM0-XMM7, the x87 stack and control word and MXCSR loaded at the start. Prints
 *     canary round R sum 0xSUM
 * per round, where SUM is the 32-bit sum of round R-1's words, so the runner can recompute it
 * from the region line (tools/test-hostile): a word w(a, r) = (a * 0x9e3779b1) ^ (r * 0x85ebca6b)
 * for each 4-byte address a of [start, end), round 0 being the first fill. Then
 *     canary: R rounds intact
 * and PASS through debug-exit 0; any corruption is FAIL.
 * Command line: rounds=N (default 24), kib=K (region size, default 128). */
#include "guest.h"

TEST("canary");

#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_MP (1u << 1)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define GPR_SPIN 20000 /* busy-loop iterations with every general register holding a value */

static u32 region_start, region_end;
static u32 xmm_in[8][4] __attribute__((aligned(16)));
static u32 xmm_out[8][4] __attribute__((aligned(16)));
static u8 x87_in[3][10];
static const u16 fcw_loaded = 0x0f7f; /* round toward zero, extended precision, all masked */
static const u32 mxcsr_loaded = 0x5f80; /* round down, all masked */

static inline u32 word_for(u32 addr, u32 round) { return (addr * 0x9e3779b1u) ^ (round * 0x85ebca6bu); }

static u32 fill(u32 round)
{
    u32 sum = 0;
    for (u32 a = region_start; a != region_end; a += 4) {
        u32 w = word_for(a, round);
        *(volatile u32 *)a = w;
        sum += w;
    }
    return sum;
}

/* Sums the region and counts the words that differ from `round`'s; reports the first. */
static u32 verify(u32 round, u32 *sum, u32 *first_bad)
{
    u32 bad = 0, s = 0;
    for (u32 a = region_start; a != region_end; a += 4) {
        u32 v = *(volatile u32 *)a;
        s += v;
        if (v != word_for(a, round) && !bad++) *first_bad = a;
    }
    *sum = s;
    return bad;
}

/* ST(0)-ST(2) in 80-bit format, read without popping (a copy is pushed and stored). */
static void read_x87_stack(u8 st[3][10])
{
    __asm__ volatile("fld %%st(0)\n fstpt 0(%0)\n fld %%st(1)\n fstpt 10(%0)\n fld %%st(2)\n fstpt 20(%0)" ::"r"(st)
                     : "memory");
}

static void load_fpu_state(void)
{
    __asm__ volatile("mov %%cr0, %%eax\n and %0, %%eax\n or %1, %%eax\n mov %%eax, %%cr0" ::"i"(~(CR0_EM | CR0_TS)),
                     "i"(CR0_MP) : "eax");
    __asm__ volatile("mov %%cr4, %%eax\n or %0, %%eax\n mov %%eax, %%cr4" ::"i"(CR4_OSFXSR | CR4_OSXMMEXCPT) : "eax");
    for (u32 r = 0; r < 8; ++r)
        for (u32 i = 0; i < 4; ++i) xmm_in[r][i] = word_for(r * 16 + i * 4, 0xfeed);
    __asm__ volatile("movdqa 0x00(%0), %%xmm0\n movdqa 0x10(%0), %%xmm1\n movdqa 0x20(%0), %%xmm2\n"
                     "movdqa 0x30(%0), %%xmm3\n movdqa 0x40(%0), %%xmm4\n movdqa 0x50(%0), %%xmm5\n"
                     "movdqa 0x60(%0), %%xmm6\n movdqa 0x70(%0), %%xmm7" ::"r"(xmm_in) : "memory");
    /* Three values on the x87 stack (1, pi, log2(10)), recorded as loaded. */
    __asm__ volatile("fninit\n fldl2t\n fldpi\n fld1\n fldcw %0" ::"m"(fcw_loaded));
    read_x87_stack(x87_in);
    __asm__ volatile("ldmxcsr %0" ::"m"(mxcsr_loaded));
}

static int fpu_state_intact(char *why, size_t size)
{
    __asm__ volatile("movdqa %%xmm0, 0x00(%0)\n movdqa %%xmm1, 0x10(%0)\n movdqa %%xmm2, 0x20(%0)\n"
                     "movdqa %%xmm3, 0x30(%0)\n movdqa %%xmm4, 0x40(%0)\n movdqa %%xmm5, 0x50(%0)\n"
                     "movdqa %%xmm6, 0x60(%0)\n movdqa %%xmm7, 0x70(%0)" ::"r"(xmm_out) : "memory");
    for (u32 r = 0; r < 8; ++r)
        for (u32 i = 0; i < 4; ++i)
            if (xmm_out[r][i] != xmm_in[r][i]) {
                snprintf(why, size, "XMM%u[%u] is 0x%08x, expected 0x%08x", r, i, xmm_out[r][i], xmm_in[r][i]);
                return 0;
            }
    u8 st[3][10];
    u16 fcw, fsw;
    u32 mxcsr;
    read_x87_stack(st);
    __asm__ volatile("fnstcw %0\n fnstsw %1\n stmxcsr %2" : "=m"(fcw), "=m"(fsw), "=m"(mxcsr));
    for (u32 i = 0; i < 3; ++i)
        if (memcmp(st[i], x87_in[i], 10)) {
            snprintf(why, size, "x87 ST(%u) changed (exponent word 0x%02x%02x)", i, st[i][9], st[i][8]);
            return 0;
        }
    if (fcw != fcw_loaded || (fsw >> 11 & 7) != 5 || mxcsr != mxcsr_loaded) {
        snprintf(why, size, "x87 control word 0x%x, top %u, MXCSR 0x%x changed", fcw, fsw >> 11 & 7, mxcsr);
        return 0;
    }
    return 1;
}

/* Holds a value in every general register (EBP too) through a busy loop long enough to be
 * preempted and to take interrupts; returns how many registers differ afterwards. */
static u32 gpr_mismatches(u32 seed)
{
    u32 wrong;
    __asm__ volatile("push %%ebp\n"
                     "mov %1, %%eax\n lea 0x1111(%%eax), %%ebx\n lea 0x2222(%%eax), %%ecx\n"
                     "lea 0x3333(%%eax), %%edx\n lea 0x4444(%%eax), %%esi\n lea 0x5555(%%eax), %%edi\n"
                     "lea 0x6666(%%eax), %%ebp\n"
                     "push %%eax\n mov %2, %%eax\n"
                     "0: dec %%eax\n jnz 0b\n"
                     "pop %%eax\n"
                     "sub %%eax, %%ebx\n sub %%eax, %%ecx\n sub %%eax, %%edx\n sub %%eax, %%esi\n"
                     "sub %%eax, %%edi\n sub %%eax, %%ebp\n"
                     "xor %%eax, %%eax\n"
                     "cmp $0x1111, %%ebx\n je 1f\n inc %%eax\n 1:\n"
                     "cmp $0x2222, %%ecx\n je 2f\n inc %%eax\n 2:\n"
                     "cmp $0x3333, %%edx\n je 3f\n inc %%eax\n 3:\n"
                     "cmp $0x4444, %%esi\n je 4f\n inc %%eax\n 4:\n"
                     "cmp $0x5555, %%edi\n je 5f\n inc %%eax\n 5:\n"
                     "cmp $0x6666, %%ebp\n je 6f\n inc %%eax\n 6:\n"
                     "pop %%ebp\n"
                     "mov %%eax, %0"
                     : "=m"(wrong)
                     : "m"(seed), "i"(GPR_SPIN)
                     : "eax", "ebx", "ecx", "edx", "esi", "edi", "cc", "memory");
    return wrong;
}

int main(void)
{
    u32 rounds = (u32)cmdline_number("rounds", 24);
    u32 kib = (u32)cmdline_number("kib", 128);
    region_start = (boot_data_end() + 4095) & ~4095u;
    if (region_start < 0x200000) region_start = 0x200000;
    region_end = region_start + kib * 1024;
    ASSERT(kib > 0 && rounds > 0);
    printf("canary: region 0x%08x-0x%08x, %u rounds\n", region_start, region_end, rounds);

    /* Interrupts on with the LAPIC software-enabled and no vector of its own: any interrupt
     * or NMI that arrives came from elsewhere and ends the canary with FAIL. */
    lapic_write(LAPIC_SVR, 0x1ff);
    lapic_write(LAPIC_TPR, 0);
    load_fpu_state();
    sti();

    u32 written_sum = fill(0);
    char why[96];
    for (u32 round = 1; round <= rounds; ++round) {
        u32 sum = 0, first_bad = 0;
        u32 bad = verify(round - 1, &sum, &first_bad);
        if (bad || sum != written_sum)
            fail(EXIT_FAIL, "round %u: %u words changed (the first at 0x%08x), sum 0x%08x, expected 0x%08x", round,
                 bad, first_bad, sum, written_sum);
        printf("canary round %u sum 0x%08x\n", round, sum);
        written_sum = fill(round);
        u32 wrong = gpr_mismatches(round * 0x01000193u);
        if (wrong) fail(EXIT_FAIL, "round %u: %u general registers changed across the busy loop", round, wrong);
        if (!fpu_state_intact(why, sizeof why)) fail(EXIT_FAIL, "round %u: %s", round, why);
    }
    cli();
    printf("canary: %u rounds intact\n", rounds);
    finish();
}
