/* hostile tsc_msrs: moves its own TSC to the extremes (0, just below 2^64, +2^40 through
 * IA32_TSC_ADJUST) and arms IA32_TSC_DEADLINE around them.
 * hardware: the TSC takes the written value and keeps counting, wrapping at 2^64; a TSC write
 * moves IA32_TSC_ADJUST by the same amount and an IA32_TSC_ADJUST write moves the TSC (SDM
 * Vol. 3 18.17.3); the TSC-deadline timer fires when the TSC (the value RDTSC returns, TSC
 * writes included) reaches IA32_TSC_DEADLINE, at once for a deadline already passed, never
 * for 0, and the MSR then reads 0; outside TSC-deadline mode writes are ignored and it reads 0
 * (SDM Vol. 3 11.5.4.1). The hypervisor's own time and the other VMs' TSCs are untouched.
 * expect: contained
 */
#include "guest.h"

TEST("tsc_msrs");

#define MSR_TSC_ADJUST 0x3b
#define TIMER_VECTOR 0x40
#define SPURIOUS_VECTOR 0xff
#define WAIT_TICKS 200000000ull   /* a bounded wait for an interrupt, in TSC ticks */
#define SHORT_WAIT 2000000ull     /* the deadlines below lie this far ahead */

static volatile u32 ticks;
static volatile u64 tick_tsc;

static void timer_handler(struct frame *f)
{
    (void)f;
    tick_tsc = rdtsc();
    ticks++;
    lapic_write(LAPIC_EOI, 0);
}

/* Waits with IF=1 until the timer interrupt came or `limit` TSC ticks passed; works across a
 * wrap of the TSC (elapsed time is a difference). */
static int wait_interrupt(u64 limit)
{
    sti();
    u64 start = rdtsc();
    while (!ticks && rdtsc() - start < limit) pause();
    cli();
    return ticks != 0;
}

/* Arms the deadline and checks the interrupt comes, not before the deadline. */
static void deadline_at(const char *what, u64 deadline)
{
    ticks = 0;
    wrmsr(MSR_TSC_DEADLINE, deadline);
    int fired = wait_interrupt(WAIT_TICKS);
    CHECK(fired, "%s: the deadline 0x%llx fired", what, deadline);
    if (fired)
        CHECK(tick_tsc - deadline < WAIT_TICKS, "%s: not before the deadline (interrupt at TSC 0x%llx)", what,
              tick_tsc);
    CHECK(rdmsr(MSR_TSC_DEADLINE) == 0, "%s: IA32_TSC_DEADLINE reads 0 afterwards", what);
}

static void tsc_writes(int have_adjust)
{
    u64 adjust0 = have_adjust ? rdmsr(MSR_TSC_ADJUST) : 0;
    u64 before = rdtsc();
    wrmsr(MSR_TSC, 0);
    u64 after = rdtsc();
    CHECK(after < SHORT_WAIT * 100, "TSC written 0: RDTSC reads 0x%llx right after", after);
    CHECK(rdtsc() > after, "TSC keeps counting after the write");
    if (have_adjust) {
        u64 moved = rdmsr(MSR_TSC_ADJUST) - adjust0; /* = 0 - TSC at the write */
        CHECK(-moved - before < SHORT_WAIT * 100, "IA32_TSC_ADJUST moved by the TSC write's step (-0x%llx)", -moved);
    }

    u64 near_end = ~0ull - 5 * SHORT_WAIT;
    wrmsr(MSR_TSC, near_end);
    u64 t = rdtsc();
    CHECK(t >= near_end, "TSC written 2^64 - 0x%llx reads 0x%llx", 5 * SHORT_WAIT, t);
    u64 start = t, now = t;
    while (now >= start && now - start < WAIT_TICKS) now = rdtsc();
    CHECK(now < start, "the TSC wraps past 2^64 to 0x%llx", now);

    if (have_adjust) {
        u64 adjust = rdmsr(MSR_TSC_ADJUST);
        u64 t0 = rdtsc();
        wrmsr(MSR_TSC_ADJUST, adjust + (1ull << 40));
        u64 t1 = rdtsc();
        CHECK(t1 - t0 >= (1ull << 40) && t1 - t0 < (1ull << 40) + SHORT_WAIT * 100,
              "IA32_TSC_ADJUST + 2^40 moves the TSC by 2^40 (0x%llx -> 0x%llx)", t0, t1);
        CHECK(rdmsr(MSR_TSC_ADJUST) == adjust + (1ull << 40), "IA32_TSC_ADJUST reads back what was written");
    } else {
        skip("IA32_TSC_ADJUST (CPUID.(EAX=7,ECX=0):EBX[1] is 0)");
    }
}

static void deadlines(void)
{
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | LVT_MASKED); /* one-shot mode */
    wrmsr(MSR_TSC_DEADLINE, rdtsc() + SHORT_WAIT);
    CHECK(rdmsr(MSR_TSC_DEADLINE) == 0, "one-shot mode: IA32_TSC_DEADLINE write ignored, reads 0");

    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | LVT_TSC_DEADLINE);
    wrmsr(MSR_TSC, 0);
    deadline_at("TSC moved back to 0", rdtsc() + SHORT_WAIT);

    wrmsr(MSR_TSC, ~0ull - 4 * SHORT_WAIT);
    deadline_at("TSC near 2^64", rdtsc() + SHORT_WAIT);
    /* The last value before the wrap: fires at 2^64 - 1 (TSC >= deadline), not after the wrap. */
    wrmsr(MSR_TSC, ~0ull - SHORT_WAIT);
    deadline_at("deadline 2^64 - 1 just ahead", ~0ull);

    /* TSC just below 2^64, deadline 1 (what "now + a little" gives once it wraps): numerically
     * passed, so it fires at once. */
    wrmsr(MSR_TSC, ~0ull - 50 * SHORT_WAIT);
    ticks = 0;
    wrmsr(MSR_TSC_DEADLINE, 1);
    CHECK(wait_interrupt(WAIT_TICKS), "TSC near 2^64, deadline 1 (passed): fires at once");

    ticks = 0;
    wrmsr(MSR_TSC, 0);
    wrmsr(MSR_TSC_DEADLINE, ~0ull);
    CHECK(!wait_interrupt(10 * SHORT_WAIT), "deadline 2^64 - 1: no interrupt");
    CHECK(rdmsr(MSR_TSC_DEADLINE) == ~0ull, "deadline 2^64 - 1 reads back while armed");
    wrmsr(MSR_TSC_DEADLINE, 0);
    CHECK(rdmsr(MSR_TSC_DEADLINE) == 0, "deadline 0 disarms");
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | LVT_MASKED);
}

int main(void)
{
    struct cpuid_regs l1 = cpuid(1, 0), l7 = cpuid(7, 0);
    int have_adjust = (l7.ebx >> 1) & 1;
    u64 v = 0;
    if (!have_adjust)
        CHECK(rdmsr_fault(MSR_TSC_ADJUST, &v) == 13 + 1, "IA32_TSC_ADJUST without CPUID support raises #GP");
    else
        CHECK(!rdmsr_fault(MSR_TSC_ADJUST, &v), "IA32_TSC_ADJUST readable (0x%llx)", v);
    tsc_writes(have_adjust);

    if (!(l1.ecx & CPUID1_ECX_TSC_DEADLINE)) {
        skip("TSC-deadline mode (CPUID.1:ECX[24] is 0)");
        finish();
    }
    set_handler(TIMER_VECTOR, timer_handler);
    lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
    lapic_write(LAPIC_TPR, 0);
    deadlines();
    finish();
}
