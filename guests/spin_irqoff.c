/* spin_irqoff: a hostile vCPU for the scheduler. It prints one line, then spins with interrupts
 * off: it never halts, never exits to the hypervisor and takes no interrupt, so only the
 * hypervisor's own preemption can take its CPU back. Run it beside another VM to check that VM
 * is not starved.
 *   ticks=M  stop after M million TSC ticks (reported, then PASS) so a test run can end;
 *            default 0: forever (cli; jmp .)
 */
#include "guest.h"

TEST("spin_irqoff");

int main(void)
{
    u64 limit = cmdline_number("ticks", 0) * 1000000;
    printf("spin_irqoff: spinning with interrupts off\n");
    __asm__ volatile("cli");
    if (!limit) {
        __asm__ volatile("1: jmp 1b");
        __builtin_unreachable();
    }
    u64 start = rdtsc();
    while (rdtsc() - start < limit) {
    }
    printf("spin_irqoff: spun %llu ticks with interrupts off\n", rdtsc() - start);
    return 0;
}
