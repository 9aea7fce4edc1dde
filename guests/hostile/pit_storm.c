/* hostile pit_storm: the PIT's counter 0 at its shortest period (mode 2, count 2: 596 kHz) through the I/O APIC, while the canary runs.
 * hardware: 8254 mode 2 (rate generator, datasheet "Mode 2") with count N pulses OUT low once
 * every N input clocks (1.193182 MHz); N = 2 is the smallest count mode 2 allows. OUT is ISA
 * IRQ 0, I/O APIC pin 2 (the MADT's override): an edge entry interrupts on each period. The
 * CPU cannot take 596,000 interrupts a second under a hypervisor: periods that pass before the
 * interrupt is taken merge into one (an edge-triggered request is one IRR bit), so the guest
 * sees a steady stream, never more interrupts than periods.
 * expect: contained
 * smp: pin=1
 * As in interrupt_storm, a storm this fast may starve the interrupted code (an interrupt is due
 * at every IRET): the handler EOIs and counts until STORM_INTERRUPTS, then masks the pin and
 * stops the counter, and the main code gets its CPU back. Checks: the storm delivered them all,
 * no more interrupts than PIT periods elapsed (TSC over CPUID 0x15's frequency), and at most one
 * after the mask (the edge the local APIC already held in IRR while the vector was in service:
 * masking the pin does not recall it). The hypervisor must charge the storm to this VM alone:
 * the canary's share shows it. */
#include "platform.h"

TEST("pit_storm");

#define PIT_VECTOR 0x50
#define PIT_HZ 1193182u
#define STORM_INTERRUPTS 20000
#define GUARD_TICKS 20000000000ull /* TSC ticks before "the storm stopped" */

static volatile u32 interrupts, after_mask;

static void pit_handler(struct frame *f)
{
    (void)f;
    if (++interrupts == STORM_INTERRUPTS) {
        ioapic_write(IOAPIC_ENTRY_LOW(PIT_GSI), IOAPIC_MASKED | PIT_VECTOR);
        outb(0x43, 0x30); /* counter 0, mode 0, no count yet: OUT stays low */
    } else if (interrupts > STORM_INTERRUPTS) {
        ++after_mask;
    }
    lapic_write(LAPIC_EOI, 0);
}

static u64 tsc_hz(void)
{
    struct cpuid_regs r = cpuid(0x15, 0);
    return r.eax && r.ebx ? (u64)r.ecx * r.ebx / r.eax : 0;
}

int main(void)
{
    u64 hz = tsc_hz();
    CHECK(hz, "CPUID 0x15 gives the TSC frequency (%u kHz)", (u32)(hz / 1000));
    lapic_write(LAPIC_SVR, 0x1ff);
    set_handler(PIT_VECTOR, pit_handler);
    ioapic_write(IOAPIC_ENTRY_HIGH(PIT_GSI), 0);
    ioapic_write(IOAPIC_ENTRY_LOW(PIT_GSI), PIT_VECTOR);
    u64 start = rdtsc();
    outb(0x43, 0x34); /* counter 0, LSB then MSB, mode 2 */
    outb(0x40, 2);
    outb(0x40, 0);
    sti();
    while (interrupts < STORM_INTERRUPTS && rdtsc() - start < GUARD_TICKS) pause();
    u64 elapsed = rdtsc() - start;
    for (u32 i = 0; i < 100000; ++i) pause();
    cli();
    CHECK(interrupts >= STORM_INTERRUPTS, "%u interrupts from the PIT (wanted %u)", interrupts, STORM_INTERRUPTS);
    u64 periods = hz ? elapsed * (PIT_HZ / 2) / hz + 1 : 0;
    CHECK(interrupts <= periods, "no more interrupts than PIT periods elapsed (%u of %u)", interrupts, (u32)periods);
    CHECK(after_mask <= 1, "at most the one request already in IRR after the mask (%u)", after_mask);
    finish();
}
