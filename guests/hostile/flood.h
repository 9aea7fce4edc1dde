/* The loops of the "exit flood" scenarios (cpuid_flood, pio_flood, vmcall_flood, irqoff_spin,
 * exit_flood_smp, lapic_widths): each causes VM exits (or none at all, irqoff_spin) as fast as it can for a
 * fixed guest-TSC duration, checking that every result is what hardware gives, so a hypervisor
 * that lets it starve the canary shows in the canary's share and one that answers wrongly shows
 * here. Not a scenario (no .c): included by them. Duration: cmdline ticks=M million TSC ticks
 * (default 50, one second of Bochs's 50 MHz TSC). */
#ifndef HOSTILE_FLOOD_H
#define HOSTILE_FLOOD_H

#include "guest.h"

#define FLOOD_BATCH 64           /* operations between two looks at the TSC */
#define FLOOD_EMPTY_PORT 0x300   /* nothing decodes it on a PC (prototype-card range) */

struct flood_result {
    u64 operations, wrong, ticks;
};

typedef u32 (*flood_batch_fn)(void); /* runs FLOOD_BATCH operations, returns the wrong answers */

static inline u64 flood_ticks(void) { return cmdline_number("ticks", 50) * 1000000; }

static inline struct flood_result flood(flood_batch_fn batch, u64 ticks)
{
    struct flood_result r = {0, 0, 0};
    u64 start = rdtsc();
    do {
        r.wrong += batch();
        r.operations += FLOOD_BATCH;
    } while ((r.ticks = rdtsc() - start) < ticks);
    return r;
}

/* CPUID leaf 0: the same vendor and maximum leaf every time (a CPUID at CPL 0 never faults). */
static struct cpuid_regs flood_cpuid_expected;
static inline u32 flood_cpuid_batch(void)
{
    u32 wrong = 0;
    for (u32 i = 0; i < FLOOD_BATCH; ++i) {
        struct cpuid_regs r = cpuid(0, 0);
        wrong += r.eax != flood_cpuid_expected.eax || r.ebx != flood_cpuid_expected.ebx ||
                 r.ecx != flood_cpuid_expected.ecx || r.edx != flood_cpuid_expected.edx;
    }
    return wrong;
}

/* A write and a read of a port nothing decodes: the write is dropped, the read is all ones. */
static inline u32 flood_pio_batch(void)
{
    u32 wrong = 0;
    for (u32 i = 0; i < FLOOD_BATCH; ++i) {
        outb(FLOOD_EMPTY_PORT, (u8)i);
        wrong += inb(FLOOD_EMPTY_PORT) != 0xff;
    }
    return wrong;
}

/* Matryoshka's nop hypercall (VMCALL, RAX = HC_NOP) returns 0 (natively VMCALL is #UD). */
static inline u32 flood_vmcall_batch(void)
{
    u32 wrong = 0;
    for (u32 i = 0; i < FLOOD_BATCH; ++i) wrong += hypercall(HC_NOP, 0, 0) != 0;
    return wrong;
}

/* Nothing that exits: with IF = 0 only the hypervisor's own preemption takes the CPU back. */
static inline u32 flood_spin_batch(void)
{
    for (u32 i = 0; i < FLOOD_BATCH; ++i) pause();
    return (read_eflags() >> 9) & 1; /* IF came back on: wrong */
}

static inline void flood_init(void) { flood_cpuid_expected = cpuid(0, 0); }

static inline void flood_report(const char *what, struct flood_result r)
{
    CHECK(r.wrong == 0, "%s: %llu operations in %llu ticks, %llu wrong answers", what, r.operations, r.ticks,
          r.wrong);
}

#endif
