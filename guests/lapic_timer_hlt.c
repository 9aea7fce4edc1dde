/* lapic_timer_hlt: the local APIC timer delivers interrupts, and HLT sleeps until one comes.
 * xAPIC MMIO at 0xFEE00000: software-enable through the SVR, divide by 16, then
 *   1. one-shot, waited for with a bounded PAUSE loop (IF=1): the interrupt arrives once, the
 *      current count runs down to 0 and stays there;
 *   2. one-shot again, waited for with "sti; hlt" (step 1 showed the timer works; a hang here
 *      means HLT is not woken by the timer interrupt, and the line before says so);
 *   3. periodic: ticks with PAUSE and with HLT, then masking the LVT stops them;
 *   4. TSC-deadline mode when CPUID.1:ECX[24]: fires, clears IA32_TSC_DEADLINE, a past deadline
 *      fires at once, writing 0 disarms;
 *   5. x2APIC mode when CPUID.1:ECX[21]: a one-shot through the MSRs, EOI through MSR 0x80B.
 * Every handler sends EOI. An interrupt that never comes is a FAIL (exit 4), not a hang. */
#include "guest.h"

TEST("lapic_timer_hlt");

#define TIMER_VECTOR 0x40
#define SPURIOUS_VECTOR 0xff
#define GUARD_TICKS 2000000000ull /* TSC ticks before "never came" */

static volatile u32 ticks, spurious;
static volatile u64 tick_tsc[16];
static int x2apic_mode;

static void timer_handler(struct frame *f)
{
    (void)f;
    if (ticks < ARRAY_SIZE(tick_tsc)) tick_tsc[ticks] = rdtsc();
    ticks++;
    if (x2apic_mode) wrmsr(0x80b, 0);
    else lapic_write(LAPIC_EOI, 0);
}

static void spurious_handler(struct frame *f)
{
    (void)f;
    spurious++; /* no EOI for the spurious vector (SDM Vol. 3 11.9) */
}

/* Waits with IF=1 and PAUSE (bounded) until `ticks` reaches target. */
static int wait_ticks(u32 target)
{
    sti();
    int ok = wait_for(&ticks, target, GUARD_TICKS);
    cli();
    return ok;
}

static void spin(u64 tsc_ticks)
{
    sti();
    for (u64 t = rdtsc(); rdtsc() - t < tsc_ticks;) pause();
    cli();
}

static void one_shot(void)
{
    ticks = 0;
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR);
    u64 t0 = rdtsc();
    lapic_write(LAPIC_TIMER_INIT, 1000000);
    u32 c1 = lapic_read(LAPIC_TIMER_CURRENT);
    u32 c2 = lapic_read(LAPIC_TIMER_CURRENT);
    CHECK(c1 > 0 && c1 <= 1000000 && c2 <= c1, "one-shot: current count runs down from 1000000 (%u, %u)", c1, c2);
    if (!wait_ticks(1)) fail(EXIT_TIMEOUT, "one-shot timer interrupt (vector 0x40) never came");
    u64 took = tick_tsc[0] - t0;
    CHECK(ticks == 1, "one-shot: interrupt arrived after %llu TSC ticks", took);
    CHECK(lapic_read(LAPIC_TIMER_CURRENT) == 0, "one-shot: current count is 0 after expiry");
    spin(took * 3 + 100000);
    CHECK(ticks == 1, "one-shot: no second interrupt (%u)", ticks);

    /* 2: the same with HLT. */
    ticks = 0;
    note("hlt: waiting for the one-shot timer (a hang here: HLT not woken by the timer interrupt)");
    lapic_write(LAPIC_TIMER_INIT, 100000);
    sti_hlt();
    cli();
    CHECK(ticks == 1, "one-shot: sti; hlt woke up with the timer interrupt (ticks %u)", ticks);
}

static void periodic(void)
{
    ticks = 0;
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | LVT_PERIODIC);
    lapic_write(LAPIC_TIMER_INIT, 50000);
    if (!wait_ticks(4)) fail(EXIT_TIMEOUT, "periodic timer: %u of 4 interrupts came", ticks);
    CHECK(ticks >= 4, "periodic: 4 interrupts with PAUSE (%llu TSC ticks apart)", tick_tsc[3] - tick_tsc[2]);
    u32 cur = lapic_read(LAPIC_TIMER_CURRENT);
    CHECK(cur > 0 && cur <= 50000, "periodic: current count reloads (%u)", cur);
    u32 before = ticks;
    for (int i = 0; i < 4; ++i) {
        sti_hlt();
        cli();
    }
    CHECK(ticks >= before + 4, "periodic: 4 HLTs, each woken by a tick (%u -> %u)", before, ticks);
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | LVT_PERIODIC | LVT_MASKED);
    u64 period = tick_tsc[3] - tick_tsc[2];
    /* A tick may have been latched before the mask took effect: take one, then none. */
    spin(period + 100000);
    before = ticks;
    spin(period * 4 + 100000);
    CHECK(ticks == before, "periodic: masking the LVT stops the ticks (%u -> %u)", before, ticks);
    lapic_write(LAPIC_TIMER_INIT, 0);
}

static void tsc_deadline(void)
{
    ticks = 0;
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | LVT_TSC_DEADLINE);
    /* SDM Vol. 3 11.5.4.1: an MFENCE orders the LVT write before the MSR write. */
    __asm__ volatile("mfence" ::: "memory");
    u64 deadline = rdtsc() + 2000000;
    wrmsr(MSR_TSC_DEADLINE, deadline);
    if (!wait_ticks(1)) fail(EXIT_TIMEOUT, "TSC-deadline interrupt never came");
    CHECK(ticks == 1 && tick_tsc[0] >= deadline, "TSC deadline: interrupt at or after the deadline (%lld TSC ticks late)",
          (s64)(tick_tsc[0] - deadline));
    u64 msr = rdmsr(MSR_TSC_DEADLINE);
    /* SDM Vol. 3 11.5.4.1: firing disarms the timer and clears the MSR (Bochs keeps it). */
    CHECK_HV(msr == 0, "TSC deadline: IA32_TSC_DEADLINE reads 0 after firing (0x%llx)", msr);

    ticks = 0;
    wrmsr(MSR_TSC_DEADLINE, 1); /* in the past */
    if (!wait_ticks(1)) fail(EXIT_TIMEOUT, "TSC-deadline interrupt for a past deadline never came");
    CHECK(ticks == 1, "TSC deadline: a deadline in the past fires at once");

    ticks = 0;
    wrmsr(MSR_TSC_DEADLINE, rdtsc() + 2000000);
    wrmsr(MSR_TSC_DEADLINE, 0);
    spin(6000000);
    CHECK(ticks == 0, "TSC deadline: writing 0 disarms (%u interrupts)", ticks);
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR | LVT_MASKED);
}

static void x2apic(void)
{
    u64 base = rdmsr(MSR_APIC_BASE);
    u32 xapic_id = lapic_read(LAPIC_ID) >> 24; /* before the switch: MMIO is off in x2APIC mode */
    wrmsr(MSR_APIC_BASE, base | (1u << 10)); /* EXTD: x2APIC mode */
    x2apic_mode = 1;
    u32 id = (u32)rdmsr(0x802);
    CHECK(id == xapic_id, "x2APIC: ID MSR 0x802 reads the APIC ID (%u, xAPIC said %u)", id, xapic_id);
    u32 version = (u32)rdmsr(0x803);
    CHECK((version & 0xff) >= 0x10 && (version & 0xff) <= 0x15, "x2APIC: version MSR 0x803 reads an integrated APIC (0x%x)",
          version);
    ticks = 0;
    wrmsr(0x83e, 3);            /* divide by 16 */
    wrmsr(0x832, TIMER_VECTOR); /* LVT timer: one-shot */
    wrmsr(0x838, 100000);       /* initial count */
    if (!wait_ticks(1)) fail(EXIT_TIMEOUT, "x2APIC one-shot timer interrupt never came");
    CHECK(ticks == 1, "x2APIC: one-shot timer through MSRs 0x83E/0x832/0x838, EOI through 0x80B");
    CHECK(rdmsr(0x839) == 0, "x2APIC: current count MSR 0x839 is 0 after expiry");
    wrmsr(0x832, TIMER_VECTOR | LVT_MASKED);
}

int main(void)
{
    set_handler(TIMER_VECTOR, timer_handler);
    set_handler(SPURIOUS_VECTOR, spurious_handler);
    lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
    u32 svr = lapic_read(LAPIC_SVR);
    CHECK((svr & 0x1ff) == 0x1ff, "SVR: APIC software-enabled, spurious vector 0xff (0x%x)", svr);
    lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
    lapic_write(LAPIC_LVT_LINT1, LVT_MASKED);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_TIMER_DIVIDE, 3); /* divide by 16 */
    u32 div = lapic_read(LAPIC_TIMER_DIVIDE);
    CHECK((div & 0xb) == 3, "divide configuration reads back 3 (divide by 16) (0x%x)", div);

    one_shot();
    periodic();
    struct cpuid_regs l1 = cpuid(1, 0);
    if (l1.ecx & CPUID1_ECX_TSC_DEADLINE) tsc_deadline();
    else skip("TSC-deadline mode (CPUID.1:ECX[24] is 0)");
    if (l1.ecx & CPUID1_ECX_X2APIC) x2apic();
    else skip("x2APIC timer (CPUID.1:ECX[21] is 0)");
    CHECK(spurious == 0, "no spurious interrupts (%u)", spurious);
    finish();
}
