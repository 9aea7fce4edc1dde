/* bench: costs of the operations a hypervisor traps, measured with RDTSC in the guest, each as
 * the minimum and the median over N iterations (cmdline n=N, default 1000, at most 4096):
 *   rdtsc      an empty measurement (the floor to subtract)
 *   cpuid      CPUID leaf 0 (always a VM exit under VT-x)
 *   out80      OUT to port 0x80 (unclaimed: the cheapest I/O exit)
 *   lapic_read a read of the local APIC version register (an MMIO exit and instruction decode)
 *   vmcall     the nop hypercall, 0x4d487fff (only under Matryoshka: natively VMCALL is #UD)
 *   floor      VMCALL 0x4d487ffe, which the benchmark image (build/matryoshka-bench.elf) answers
 *              before any other work: the cost of the exit and entry alone
 *   console_line  a 78-byte line printed through COM1 (16 samples: each one is a line of output);
 *              under Matryoshka it is the guest's polled UART writes plus whatever the hypervisor
 *              does with the line before it resumes the guest
 * and compute_mem: the ticks of a fixed loop (2M steps of an LCG updating words of a 1 MiB
 * array), which runs without exits and shows the cost of EPT on memory-bound code.
 * Output: one line per figure, "BENCH name ticks" (name = op_min, op_median, compute_mem), then
 * PASS bench. In Bochs the TSC counts emulated instructions, so the figures are exact. */
#include "guest.h"

TEST("bench");

#define MAX_N 4096
static u32 samples[MAX_N];
static u32 n = 1000;
static int use_lfence;

static inline u64 tsc(void)
{
    if (use_lfence) __asm__ volatile("lfence" ::: "memory");
    return rdtsc();
}

static void sort(u32 *a, u32 count)
{
    /* Shell sort (Ciura gaps): no recursion, fast enough for a few thousand samples. */
    static const u32 gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (u32 g = 0; g < ARRAY_SIZE(gaps); ++g) {
        u32 gap = gaps[g];
        for (u32 i = gap; i < count; ++i) {
            u32 v = a[i], j = i;
            for (; j >= gap && a[j - gap] > v; j -= gap) a[j] = a[j - gap];
            a[j] = v;
        }
    }
}

static void report(const char *name)
{
    sort(samples, n);
    printf("BENCH %s_min %u\n", name, samples[0]);
    printf("BENCH %s_median %u\n", name, samples[n / 2]);
}

static u32 clamp(u64 ticks) { return ticks > 0xffffffffull ? 0xffffffffu : (u32)ticks; }

#define MEASURE(name, body)                          \
    do {                                             \
        for (u32 i = 0; i < n; ++i) {                \
            u64 t0 = tsc();                          \
            body;                                    \
            samples[i] = clamp(tsc() - t0);          \
        }                                            \
        report(name);                                \
    } while (0)

static inline void do_cpuid(void)
{
    u32 a = 0, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
}

#define CONSOLE_LINE_SAMPLES 16
#define CONSOLE_LINE "console line: 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXY\n"
_Static_assert(sizeof CONSOLE_LINE - 1 == 78, "the figure is for a 78-byte line");

static void puts_line(const char *line) { printf("%s", line); }

static u32 array[256 * 1024]; /* 1 MiB */

static u32 compute_mem(void)
{
    u32 x = 12345, sum = 0;
    for (u32 i = 0; i < 2 * 1024 * 1024; ++i) {
        x = x * 1664525u + 1013904223u;
        u32 *w = &array[x >> 14];
        *w += x;
        sum ^= *w;
    }
    return sum;
}

int main(void)
{
    n = (u32)cmdline_number("n", 1000);
    if (n < 1) n = 1;
    if (n > MAX_N) n = MAX_N;
    use_lfence = (cpuid(1, 0).edx >> 26) & 1; /* SSE2: LFENCE orders RDTSC */
    note("bench: %u iterations per figure, TSC ticks%s", n, use_lfence ? ", lfence before rdtsc" : "");

    MEASURE("rdtsc", (void)0);
    MEASURE("cpuid", do_cpuid());
    MEASURE("out80", outb(0x80, 0));
    MEASURE("lapic_read", (void)lapic_read(LAPIC_VERSION));
    if (under_matryoshka()) {
        long r = hypercall(HC_NOP, 0, 0);
        if (r) note("the nop hypercall returned %ld", r);
        MEASURE("vmcall", (void)hypercall(HC_NOP, 0, 0));
        MEASURE("floor", (void)hypercall(HC_BENCH_FLOOR, 0, 0));
    } else {
        skip_native("vmcall figures (VMCALL outside VMX non-root is #UD)");
    }

    u32 samples_wanted = n;
    n = CONSOLE_LINE_SAMPLES;
    MEASURE("console_line", puts_line(CONSOLE_LINE));
    n = samples_wanted;

    memset(array, 0, sizeof array);
    u64 t0 = tsc();
    u32 sum = compute_mem();
    u64 t1 = tsc();
    printf("BENCH compute_mem %llu\n", t1 - t0);
    CHECK(sum == 0x2dab1ff0u, "compute_mem checksum 0x%08x", sum);
    finish();
}
