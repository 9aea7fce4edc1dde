/* Every vCPU of a scenario doing the same thing at once (exit_flood_smp, ipi_storm_smp,
 * shutdown_loop): the BSP starts the APs of the ACPI MADT (guests/lib/smp.c), releases them all
 * together and runs the work itself too, then waits (bounded) for the APs to finish theirs. Not a
 * scenario (no .c): included by them. */
#ifndef HOSTILE_VCPUS_H
#define HOSTILE_VCPUS_H

#include "guest.h"

#define VCPUS_WAIT_MS 20000

static u32 vcpu_ids[SMP_MAX_CPUS], vcpu_count;
static void (*vcpu_work)(u32 cpu);
static volatile u32 vcpus_go, vcpus_done;

static void vcpus_ap_main(u32 cpu)
{
    while (!vcpus_go) pause();
    vcpu_work(cpu);
    __atomic_fetch_add(&vcpus_done, 1, __ATOMIC_RELEASE);
}

/* Runs work(index in vcpu_ids) on every vCPU (on the APs with IF = 0); returns when all are
 * done. Fails if an AP does not come up or does not finish. */
static inline void on_every_vcpu(void (*work)(u32 cpu))
{
    smp_init();
    vcpu_count = acpi_madt_apic_ids(vcpu_ids, SMP_MAX_CPUS);
    if (!vcpu_count) {
        vcpu_ids[0] = smp_bsp_id;
        vcpu_count = 1;
    }
    ASSERT(vcpu_count <= SMP_MAX_CPUS);
    u32 bsp = 0;
    while (bsp < vcpu_count && vcpu_ids[bsp] != smp_bsp_id) ++bsp;
    ASSERT(bsp < vcpu_count);
    vcpu_work = work;
    u32 online = smp_start_aps(vcpu_ids, vcpu_count, vcpus_ap_main);
    if (online < vcpu_count - 1) {
        console_lock();
        smp_print_missing();
        fail(EXIT_TIMEOUT, "only %u of %u APs came up", online, vcpu_count - 1);
    }
    vcpus_go = 1;
    work(bsp);
    if (!smp_wait_count(&vcpus_done, vcpu_count - 1, VCPUS_WAIT_MS))
        LOCKED(fail(EXIT_TIMEOUT, "only %u of %u APs finished", vcpus_done, vcpu_count - 1));
}

#endif
