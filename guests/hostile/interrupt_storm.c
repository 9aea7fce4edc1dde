/* hostile interrupt_storm: interrupts as fast as the local APIC can make them, from three sources
 * in turn, each for a third of its duration (cmdline ticks=M million TSC ticks, default 50):
 *   1. the timer periodic with the smallest period (initial count 1, divide by 1);
 *   2. the timer in TSC-deadline mode, re-armed in its handler with a deadline already passed;
 *   3. self-IPIs (xAPIC ICR, shorthand self) sent back to back from the handler.
 * hardware: each source keeps interrupting: a periodic count of 1 fires every timer tick, a
 *   deadline in the past fires at once (SDM Vol. 3A 11.5.4.1), a self-IPI is delivered at once;
 *   interrupts of one vector coalesce in the IRR, and as IRET opens no interrupt window the
 *   interrupted code may never run again: the guest starves itself, and only itself. So each
 *   handler ends its storm when the time is up; the guest checks each source interrupted many
 *   times and that it got its CPU back. The hypervisor must charge the storm to this VM alone.
 * expect: contained
 * smp: pin=1
 */
#include "guest.h"

TEST("interrupt_storm");

#define TIMER_VECTOR 0x40
#define DEADLINE_VECTOR 0x41
#define IPI_VECTOR 0x42
#define ICR_LOW 0x300
#define ICR_HIGH 0x310
#define ICR_SELF (1u << 18)
#define ICR_ASSERT (1u << 14)
#define MIN_INTERRUPTS 100 /* "many": far more than a few slices' worth of a broken storm */

static volatile u32 timer_count, deadline_count, ipi_count;
static volatile u64 storm_end;  /* TSC at which the handlers stop their source */
static volatile int storming;  /* cleared by the handler that stops */

static int time_is_up(void)
{
    if (rdtsc() < storm_end) return 0;
    storming = 0;
    return 1;
}

static void timer_handler(struct frame *f)
{
    (void)f;
    timer_count++;
    if (time_is_up()) {
        lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | TIMER_VECTOR);
        lapic_write(LAPIC_TIMER_INIT, 0);
    }
    lapic_write(LAPIC_EOI, 0);
}

static void deadline_handler(struct frame *f)
{
    (void)f;
    deadline_count++;
    if (!time_is_up()) wrmsr(MSR_TSC_DEADLINE, 1); /* long passed: fires again at once */
    lapic_write(LAPIC_EOI, 0);
}

static void self_ipi(void)
{
    lapic_write(ICR_HIGH, 0);
    lapic_write(ICR_LOW, ICR_SELF | ICR_ASSERT | IPI_VECTOR);
}

static void ipi_handler(struct frame *f)
{
    (void)f;
    ipi_count++;
    if (!time_is_up()) self_ipi();
    lapic_write(LAPIC_EOI, 0);
}

/* Starts a storm (start() arms the source) that its handler ends after `ticks`; waits with
 * interrupts on until it has (bounded: twice the time, then FAIL rather than hang). */
static void storm(u64 ticks, void (*start)(void))
{
    storm_end = rdtsc() + ticks;
    storming = 1;
    start();
    sti();
    while (storming && rdtsc() < storm_end + ticks) pause();
    cli();
    if (storming) fail(EXIT_TIMEOUT, "the storm's handler never ran after its end");
}

static void start_periodic(void)
{
    lapic_write(LAPIC_TIMER_DIVIDE, 0xb); /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | TIMER_VECTOR);
    lapic_write(LAPIC_TIMER_INIT, 1);
}

static void start_deadline(void)
{
    lapic_write(LAPIC_LVT_TIMER, LVT_TSC_DEADLINE | DEADLINE_VECTOR);
    wrmsr(MSR_TSC_DEADLINE, 1);
}

int main(void)
{
    u64 third = cmdline_number("ticks", 50) * 1000000 / 3;
    set_handler(TIMER_VECTOR, timer_handler);
    set_handler(DEADLINE_VECTOR, deadline_handler);
    set_handler(IPI_VECTOR, ipi_handler);
    lapic_write(LAPIC_SVR, 0x1ff);
    lapic_write(LAPIC_TPR, 0);

    storm(third, start_periodic);
    CHECK(timer_count >= MIN_INTERRUPTS, "periodic timer, count 1: %u interrupts, then the CPU back", timer_count);

    if (cpuid(1, 0).ecx & CPUID1_ECX_TSC_DEADLINE) {
        storm(third, start_deadline);
        lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | DEADLINE_VECTOR);
        CHECK(deadline_count >= MIN_INTERRUPTS, "TSC deadline always passed: %u interrupts, then the CPU back",
              deadline_count);
    } else {
        skip("TSC-deadline storm (no TSC-deadline timer in CPUID)");
    }

    storm(third, self_ipi);
    CHECK(ipi_count >= MIN_INTERRUPTS, "self-IPIs back to back: %u interrupts, then the CPU back", ipi_count);
    finish();
}
