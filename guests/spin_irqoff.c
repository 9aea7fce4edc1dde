/* spin_irqoff: a hostile vCPU for the scheduler. It prints one line, then spins forever with
 * interrupts off (cli; jmp .): it never halts, never exits and takes no interrupt, so only the
 * hypervisor's own preemption can take its CPU back. Run it beside another VM to check that VM
 * is not starved. */
#include "guest.h"

TEST("spin_irqoff");

int main(void)
{
    printf("spin_irqoff: spinning with interrupts off\n");
    __asm__ volatile("cli\n1: jmp 1b");
    __builtin_unreachable();
}
