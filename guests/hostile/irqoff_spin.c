/* hostile irqoff_spin: spins with interrupts off (CLI; PAUSE loop), never exiting by itself.
 * hardware: a CPU with IF = 0 runs on and takes no maskable interrupt; nothing stops it. Only the
 *   hypervisor's own preemption (VMX-preemption timer or host interrupts, which exit whatever IF
 *   is) can give the canary its share. Bounded by its duration (cmdline ticks=M million TSC
 *   ticks) so the run ends: then it checks IF is still 0 and PASS.
 * expect: contained
 * smp: pin=1
 */
#include "flood.h"

TEST("irqoff_spin");

int main(void)
{
    cli();
    flood_report("spun with IF = 0 throughout", flood(flood_spin_batch, flood_ticks()));
    finish();
}
