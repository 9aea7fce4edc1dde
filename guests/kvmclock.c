/* kvmclock: the KVM-compatible paravirtual clock (CPUID 0x40000001 EAX[3], KVM_FEATURE_CLOCKSOURCE2)
 * as Linux's kvm-clock driver uses it. Under Matryoshka: MSR_KVM_SYSTEM_TIME_NEW (0x4b564d01)
 * reads 0 until written and reads back what was written; the structure it points at gets an even,
 * non-zero version, a non-zero multiplier and no flag but PVCLOCK_TSC_STABLE_BIT; the clock it
 * gives never goes back over 1000 readings; it advances by exactly the TSC ticks it is given at the
 * rate CPUID 0x15 states (within 1%, arithmetic on the same TSC readings, not timing); an address
 * outside RAM is accepted and nothing breaks; MSR_KVM_WALL_CLOCK_NEW (0x4b564d00) fills its
 * structure with an even version and nanoseconds below 10^9. Natively: SKIP (no such MSRs). */
#include "guest.h"

TEST("kvmclock");

#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00u
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01u

struct pvclock_vcpu_time_info {
    u32 version, pad0;
    u64 tsc_timestamp, system_time;
    u32 tsc_to_system_mul;
    signed char tsc_shift;
    u8 flags, pad[2];
};

struct pvclock_wall_clock {
    u32 version, sec, nsec;
};

static volatile struct pvclock_vcpu_time_info time_info __attribute__((aligned(64)));
static volatile struct pvclock_wall_clock wall_clock __attribute__((aligned(16)));

/* Linux's pvclock_clocksource_read(): retry while the version is odd or changed. */
static u64 clock_ns(u64 *tsc_out)
{
    u32 version;
    u64 ns, tsc;
    do {
        version = time_info.version;
        __asm__ volatile("" ::: "memory");
        tsc = rdtsc();
        u64 delta = tsc - time_info.tsc_timestamp;
        signed char shift = time_info.tsc_shift;
        delta = shift < 0 ? delta >> -shift : delta << shift;
        u32 mul = time_info.tsc_to_system_mul;
        ns = time_info.system_time + (((delta & 0xffffffffu) * mul) >> 32) + (delta >> 32) * mul;
        __asm__ volatile("" ::: "memory");
    } while ((version & 1) || version != time_info.version);
    if (tsc_out) *tsc_out = tsc;
    return ns;
}

int main(void)
{
    if (!under_matryoshka() || !(cpuid(0x40000001, 0).eax & (1u << 3))) {
        skip_native("kvmclock (no KVM_FEATURE_CLOCKSOURCE2)");
        finish();
    }
    u64 v = 1;
    int fault = rdmsr_fault(MSR_KVM_SYSTEM_TIME_NEW, &v);
    CHECK(!fault && v == 0, "MSR_KVM_SYSTEM_TIME_NEW reads 0 at first (0x%llx)", v);

    u64 enable = (u32)(unsigned long)&time_info | 1;
    CHECK(!wrmsr_fault(MSR_KVM_SYSTEM_TIME_NEW, enable), "MSR_KVM_SYSTEM_TIME_NEW write 0x%llx accepted", enable);
    fault = rdmsr_fault(MSR_KVM_SYSTEM_TIME_NEW, &v);
    CHECK(!fault && v == enable, "it reads back 0x%llx", v);
    u32 version = time_info.version;
    CHECK(version && !(version & 1), "version %u is even and non-zero", version);
    CHECK(time_info.tsc_to_system_mul >= 0x80000000u, "tsc_to_system_mul 0x%x, tsc_shift %d",
          time_info.tsc_to_system_mul, time_info.tsc_shift);
    CHECK(!(time_info.flags & ~1u), "flags 0x%x: at most PVCLOCK_TSC_STABLE_BIT", time_info.flags);
    note("flags 0x%x, system_time %llu ns at TSC %llu", time_info.flags, time_info.system_time,
         time_info.tsc_timestamp);

    u64 previous = clock_ns(0), backwards = 0;
    for (int i = 0; i < 1000; ++i) {
        u64 now = clock_ns(0);
        if (now < previous) ++backwards;
        previous = now;
    }
    CHECK(!backwards, "1000 readings never went back (%llu did)", backwards);

    /* The rate: ns advanced for the ticks that passed, against CPUID 0x15's TSC frequency. */
    struct cpuid_regs tsc_leaf = cpuid(0x15, 0);
    if (tsc_leaf.eax && tsc_leaf.ebx && tsc_leaf.ecx) {
        u64 hz = (u64)tsc_leaf.ecx * tsc_leaf.ebx / tsc_leaf.eax;
        u64 t0, t1;
        u64 n0 = clock_ns(&t0);
        while (rdtsc() - t0 < 1000000) pause();
        u64 n1 = clock_ns(&t1);
        u64 ticks = t1 - t0, ns = n1 - n0;
        u64 expected = ticks * 1000000000ull, got = ns * hz;  /* both x hz: no division */
        u64 error = expected > got ? expected - got : got - expected;
        CHECK(error * 100 <= expected, "%llu ns for %llu ticks at %llu Hz (within 1%%)", ns, ticks, hz);
    } else {
        skip_native("the clock's rate (CPUID 0x15 has no TSC frequency)");
    }

    /* An address outside RAM: accepted, nothing written (as KVM), and the MSR reads it back. */
    u64 outside = 0xfffff000ull | 1;
    CHECK(!wrmsr_fault(MSR_KVM_SYSTEM_TIME_NEW, outside), "an address outside RAM is accepted");
    fault = rdmsr_fault(MSR_KVM_SYSTEM_TIME_NEW, &v);
    CHECK(!fault && v == outside, "and reads back (0x%llx)", v);
    CHECK(time_info.version == version, "the old structure is left alone (version %u)", time_info.version);
    CHECK(!wrmsr_fault(MSR_KVM_SYSTEM_TIME_NEW, enable), "re-enabled");
    CHECK(time_info.version == version + 2, "a new publication: version %u", time_info.version);

    u64 wall = (u32)(unsigned long)&wall_clock;
    CHECK(!wrmsr_fault(MSR_KVM_WALL_CLOCK_NEW, wall), "MSR_KVM_WALL_CLOCK_NEW write accepted");
    CHECK(wall_clock.version && !(wall_clock.version & 1) && wall_clock.nsec < 1000000000u,
          "wall clock: version %u, %u s %u ns at system time 0", wall_clock.version, wall_clock.sec, wall_clock.nsec);
    CHECK(!wrmsr_fault(MSR_KVM_SYSTEM_TIME_NEW, 0), "kvmclock disabled");
    finish();
}
