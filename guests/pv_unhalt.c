/* pv_unhalt: KVM's paravirtual spinlock hypercalls as Linux uses them (vmx/hypercall.hpp).
 *
 * CPUID 0x40000001 shows KVM_FEATURE_PV_UNHALT (EAX bit 7) and KVM_FEATURE_PV_SCHED_YIELD (bit 13).
 * Every AP waits as Linux's kvm_wait does with interrupts off: HLT with IF=0, which only a kick
 * ends, then a look at what the BSP posted. The BSP posts rounds to one AP at a time: it writes
 * the round, kicks the AP (KVM_HC_KICK_CPU) and yields to it (KVM_HC_SCHED_YIELD) until it
 * answers, each wait bounded. After each round it kicks and yields to APIC IDs that are no vCPU of
 * this VM (past its last one, which another VM's vCPUs may have; 0xff; 0xffffffff): both return 0
 * and wake nobody. At the end every AP's HLT ended exactly once per kick it was sent: no kick was
 * lost (each round was answered) and nothing else ended a HLT with IF=0 (no wake without a new
 * round). cmdline rounds=N (default 20). Natively: SKIP (VMCALL is #UD). */
#include "guest.h"

TEST("pv_unhalt");

#define KVM_FEATURE_PV_UNHALT (1u << 7)
#define KVM_FEATURE_PV_SCHED_YIELD (1u << 13)
#define ROUND_STOP 0xffffffffu
#define ANSWER_WAIT_TICKS 500000000ull /* 10 s of Bochs's 50 MHz TSC, per answer */

static u32 ids[SMP_MAX_CPUS];
static volatile u32 round_of[SMP_MAX_CPUS];  /* by MADT index: posted by the BSP */
static volatile u32 answer_of[SMP_MAX_CPUS]; /* the last round the AP took */
static volatile u32 wakes_of[SMP_MAX_CPUS];  /* its HLTs that ended */
static volatile u32 idle_wakes_of[SMP_MAX_CPUS]; /* of those, the ones that found no new round */
static u32 bad_results, yields;

/* Interrupts are off (smp_start_aps): the HLT comes first, as the kick may already be there. */
static void ap_main(u32 cpu)
{
    for (;;) {
        __asm__ volatile("hlt" ::: "memory");
        ++wakes_of[cpu];
        u32 round = __atomic_load_n(&round_of[cpu], __ATOMIC_ACQUIRE);
        if (round == answer_of[cpu]) {
            ++idle_wakes_of[cpu];
            continue;
        }
        __atomic_store_n(&answer_of[cpu], round, __ATOMIC_RELEASE);
        if (round == ROUND_STOP) return;
    }
}

/* Posts `round` to the AP, kicks it and yields to it until it answers; false after the bound. */
static int kick_and_wait(u32 cpu, u32 round)
{
    __atomic_store_n(&round_of[cpu], round, __ATOMIC_RELEASE);
    bad_results += hypercall(HC_KVM_KICK_CPU, 0, ids[cpu]) != 0;
    u64 start = rdtsc();
    while (__atomic_load_n(&answer_of[cpu], __ATOMIC_ACQUIRE) != round) {
        if (rdtsc() - start > ANSWER_WAIT_TICKS) return 0;
        bad_results += hypercall(HC_KVM_SCHED_YIELD, ids[cpu], 0) != 0;
        ++yields;
        pause();
    }
    return 1;
}

/* Kicks and yields naming no vCPU of this VM: `first_unused` and the next three (another VM's
 * vCPUs at most), the xAPIC and x2APIC broadcast IDs. */
static void name_nobody(u32 first_unused)
{
    const u32 nobody[] = {first_unused, first_unused + 1, first_unused + 2, first_unused + 3, 0xff, 0xffffffffu};
    for (u32 i = 0; i < ARRAY_SIZE(nobody); ++i) {
        bad_results += hypercall(HC_KVM_KICK_CPU, 0, nobody[i]) != 0;
        bad_results += hypercall(HC_KVM_SCHED_YIELD, nobody[i], 0) != 0;
    }
}

int main(void)
{
    if (!under_matryoshka()) {
        skip_native("KVM's paravirtual hypercalls (VMCALL outside VMX non-root is #UD)");
        finish();
    }
    u32 features = cpuid(0x40000001, 0).eax;
    CHECK(features & KVM_FEATURE_PV_UNHALT, "CPUID 0x40000001 EAX shows KVM_FEATURE_PV_UNHALT (0x%x)", features);
    CHECK(features & KVM_FEATURE_PV_SCHED_YIELD, "CPUID 0x40000001 EAX shows KVM_FEATURE_PV_SCHED_YIELD (0x%x)",
          features);
    u32 rounds = (u32)cmdline_number("rounds", 20);
    u32 n = smp_start_all(ap_main);
    acpi_madt_apic_ids(ids, SMP_MAX_CPUS);
    u32 first_unused = 0;
    for (u32 cpu = 0; cpu < n; ++cpu)
        if (ids[cpu] >= first_unused) first_unused = ids[cpu] + 1;
    LOCKED(printf("%u CPUs, %u rounds per AP\n", n, rounds));

    for (u32 round = 1; round <= rounds; ++round) {
        for (u32 cpu = 0; cpu < n; ++cpu)
            if (ids[cpu] != smp_bsp_id && !kick_and_wait(cpu, round))
                fail(EXIT_TIMEOUT, "cpu %u never answered round %u (HLT with IF=0 not ended by the kick)", ids[cpu],
                     round);
        name_nobody(first_unused);
    }
    for (u32 cpu = 0; cpu < n; ++cpu)
        if (ids[cpu] != smp_bsp_id && !kick_and_wait(cpu, ROUND_STOP))
            fail(EXIT_TIMEOUT, "cpu %u never answered the stop", ids[cpu]);

    for (u32 cpu = 0; cpu < n; ++cpu) {
        if (ids[cpu] == smp_bsp_id) continue;
        CHECK(wakes_of[cpu] == rounds + 1 && !idle_wakes_of[cpu],
              "cpu %u: HLT with IF=0 ended once per kick (%u of %u), never without a new round (%u times)", ids[cpu],
              wakes_of[cpu], rounds + 1, idle_wakes_of[cpu]);
    }
    CHECK(!bad_results, "every kick and yield returned 0, also naming no vCPU (%u did not)", bad_results);
    note("the BSP yielded %u times while it waited", yields);
    finish();
}
