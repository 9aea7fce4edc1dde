/* hostile cpuid_flood: CPUID (an unconditional VM exit) in a tight loop, to starve other VMs.
 * hardware: CPUID at CPL 0 always completes and gives the same answer; the loop runs until its
 *   duration (cmdline ticks=M million TSC ticks) ends, then PASS. A hypervisor must charge each
 *   exit to this VM so the canary keeps its share (SDM Vol. 3C 26.1.2: CPUID always exits).
 * expect: contained
 * smp: pin=1
 */
#include "flood.h"

TEST("cpuid_flood");

int main(void)
{
    flood_init();
    flood_report("CPUID leaf 0 answered the same", flood(flood_cpuid_batch, flood_ticks()));
    finish();
}
