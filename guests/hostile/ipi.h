/* Sending IPIs the way the storm scenarios do (ipi_storm, ipi_storm_smp): through the xAPIC ICR
 * (high word first, then the low word, which sends; delivery status polled, bounded) or the
 * x2APIC ICR MSR. Not a scenario (no .c): included by them. */
#ifndef HOSTILE_IPI_H
#define HOSTILE_IPI_H

#include "guest.h"

#define ICR_LOW 0x300
#define ICR_HIGH 0x310
#define ICR_FIXED 0x000
#define ICR_NMI 0x400
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_LOGICAL (1u << 11)
#define ICR_PENDING (1u << 12)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL_TRIGGER (1u << 15)
#define ICR_ALL_EXCLUDING_SELF (3u << 18)
#define LAPIC_LDR 0xd0
#define LAPIC_DFR 0xe0
#define MSR_X2APIC_ID 0x802
#define MSR_X2APIC_EOI 0x80b
#define MSR_X2APIC_LDR 0x80d
#define MSR_X2APIC_ICR 0x830
#define APIC_BASE_X2APIC (1u << 10)
#define NMI_VECTOR 2
#define SIPI_PAGE 0x08 /* a SIPI that reached anyone would start it at 0x8000 */

/* False if the delivery status stayed pending. */
static inline int xapic_send(u32 dest, u32 low)
{
    lapic_write(ICR_HIGH, dest << 24);
    lapic_write(ICR_LOW, low);
    for (u32 i = 0; i < 100000; ++i)
        if (!(lapic_read(ICR_LOW) & ICR_PENDING)) return 1;
    return 0;
}

/* x2APIC has no delivery status (SDM Vol. 3A 11.12.9): the write sends. */
static inline void x2apic_send(u32 dest, u32 low) { wrmsr(MSR_X2APIC_ICR, (u64)dest << 32 | low); }

#endif
