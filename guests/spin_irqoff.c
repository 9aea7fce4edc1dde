/* spin_irqoff: a hostile vCPU for the scheduler. It prints one line, then spins with interrupts
 * off: it never halts, never exits to the hypervisor and takes no interrupt, so only the
 * hypervisor's own preemption can take its CPU back. Run it beside another VM to check that VM
 * is not starved.
 *   ticks=M  stop after M million TSC ticks (reported, then PASS) so a test run can end;
 *            default 0: forever (cli; jmp .)
 *   irq=1    spin with interrupts on instead: still no exit of its own (nothing interrupts it
 *            but the hypervisor), for emulators whose external-interrupt exiting ignores a
 *            guest's IF=0 only while IF changes (Bochs 2.7, see vmx/slice_timer.hpp)
 */
#include "guest.h"

TEST("spin_irqoff");

int main(void)
{
    u64 limit = cmdline_number("ticks", 0) * 1000000;
    int interrupts_on = cmdline_number("irq", 0) != 0;
    printf("spin_irqoff: spinning with interrupts %s\n", interrupts_on ? "on" : "off");
    if (interrupts_on) __asm__ volatile("sti");
    else __asm__ volatile("cli");
    if (!limit) {
        __asm__ volatile("1: jmp 1b");
        __builtin_unreachable();
    }
    u64 start = rdtsc();
    while (rdtsc() - start < limit) {
    }
    u64 spun = rdtsc() - start;
    __asm__ volatile("cli");
    printf("spin_irqoff: spun %llu ticks with interrupts %s\n", spun, interrupts_on ? "on" : "off");
    return 0;
}
