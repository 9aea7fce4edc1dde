/* spinlock: the lock-holder-preemption benchmark. Every vCPU takes ONE shared ticket lock in a
 * loop: cli, fetch-and-add `next`, PAUSE until `serving` is its ticket, a short critical section,
 * `serving` + 1, sti (Linux's spin_lock_irqsave / spin_unlock_irqrestore), then some work outside
 * the lock. A ticket lock hands the lock over in FIFO order, so a preempted holder, or a preempted
 * waiter whose turn comes, stalls every vCPU behind it: the throughput shows how well the
 * scheduler avoids preempting them.
 *
 * The CPUs are the enabled processors of the ACPI MADT the hypervisor writes; the APs start
 * through the library (lib/smp.c, INIT-SIPI-SIPI). Command line:
 *   duration=M  run for M million TSC ticks (default 200)
 *   cs=N        loop iterations inside the critical section (default 24, ~200 instructions)
 *   ncs=N       loop iterations outside it (default 400, ~2000 instructions)
 *   hint=1      before each acquisition, the preemption-hint hypercall (VMCALL
 *               RAX=0x4d480002, RBX=50 us); its result (the microseconds granted) is ignored
 *   skew=K      each vCPU, once online, sleeps (HLT until a TSC-deadline timer) until an instant
 *               of its own within the next K thousand TSC ticks before its loop starts (default
 *               500: one 10 ms slice of Bochs's 50 MHz TSC; 0: at once; at most 4000000)
 *   seed=S      picks those instants (default 1): runs with other seeds sample other orders
 *   warmup=M    million TSC ticks from the last AP coming up to the start of the measured
 *               window (default 10, twenty 10 ms slices)
 *
 * The vCPUs start their loops at scattered instants (skew=), as threads a kernel starts over
 * time. When each vCPU first wants a physical CPU decides where it sits in the host scheduler's
 * queues and where that CPU's slices begin, and an emulator without timer noise keeps both for
 * the whole run: under round-robin a run either convoys throughout or keeps a VM's vCPUs running
 * together much of the time (co-scheduling by accident) throughout. With every vCPU starting
 * the moment it was online, 4 of 5 starts landed in the second state (sched/README.md, "The
 * start decides round-robin"). The window opens once the start is over, so the figure is the
 * steady state.
 *
 * The critical section adds the shared counter's value to each word of a shared array and then
 * increments the counter: two holders at once would lose updates, which the final check finds
 * (counter = sum of the per-vCPU counts = tickets served, each word = its share of 0+1+...).
 *
 * Output: `SPINLOCK config ...`, then at the end one `SPINLOCK vcpu=I acquisitions=A` per vCPU,
 * `SPINLOCK vcpus=N acquisitions=A ticks=T per_mticks=R` (the measured window only: A
 * acquisitions in T ticks of the BSP's wall time, from the window's start to the last vCPU's
 * stop; R = A per million ticks) and `SPINLOCK integrity ok` (PASS, debug-exit 0) or `SPINLOCK
 * integrity BROKEN ...` (FAIL, debug-exit 1). The per-vCPU counts cover the whole run. */
#include "guest.h"

TEST("spinlock");

#define CS_WORDS 8               /* the shared array: i % CS_WORDS must stay a mask */
#define HINT_US 50
#define REPORT_WAIT_MS 5000      /* for the APs' reports once time is up */

struct ticket_lock {
    volatile u32 next;    /* the ticket the next comer draws */
    volatile u32 serving; /* the ticket that holds the lock */
};

static struct ticket_lock lock;
static volatile u32 shared_counter;
static volatile u32 shared_words[CS_WORDS];

/* One cache line each: the vCPUs' own counters do not share lines with each other. */
static struct {
    u32 acquisitions;
    u32 sink;      /* the non-critical work's result, kept so that the work is done */
    u64 stop_tsc;  /* when this vCPU saw the stop flag */
} __attribute__((aligned(64))) per_cpu[SMP_MAX_CPUS];

static volatile u32 stop, reported;
static u64 online_tsc, start_tsc, duration_ticks, warmup_ticks;
static u32 served_at_start, window_open;
static u32 cs_iterations, ncs_iterations, hint, skew_ticks, seed;

static void lock_acquire(void)
{
    cli();
    if (hint) (void)hypercall(HC_PREEMPTION_HINT, HINT_US, 0);
    u32 ticket = __atomic_fetch_add(&lock.next, 1, __ATOMIC_ACQUIRE);
    while (__atomic_load_n(&lock.serving, __ATOMIC_ACQUIRE) != ticket) pause();
}

/* Only the holder writes `serving`: a plain increment, published by the release store. */
static void lock_release(void)
{
    __atomic_store_n(&lock.serving, lock.serving + 1, __ATOMIC_RELEASE);
    sti();
}

static void critical_section(void)
{
    u32 value = shared_counter;
    for (u32 i = 0; i < cs_iterations; ++i) shared_words[i % CS_WORDS] += value;
    shared_counter = value + 1;
}

/* A linear congruential step per iteration: work the compiler cannot fold away. */
static u32 noncritical_work(u32 x)
{
    for (u32 i = 0; i < ncs_iterations; ++i) x = x * 1103515245u + 12345u;
    return x;
}

/* The BSP's clock: opens the measured window once the warm-up is over and closes it after the
 * duration. `serving` only grows, so its value at the start counts what the warm-up served. */
static void keep_time(void)
{
    u64 now = rdtsc();
    if (!window_open) {
        if (now - online_tsc < warmup_ticks) return;
        start_tsc = now;
        served_at_start = __atomic_load_n(&lock.serving, __ATOMIC_ACQUIRE);
        window_open = 1;
    } else if (now - start_tsc >= duration_ticks) {
        stop = 1;
    }
}

/* vCPU `cpu`'s start offset in [0, skew_ticks]: a hash of the seed and the index (MurmurHash3's
 * 32-bit finalizer), so that every vCPU and every seed gets its own. */
static u32 start_offset(u32 cpu)
{
    u32 h = seed * 0x9e3779b9u + cpu * 0x85ebca6bu;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h % (skew_ticks + 1);
}

/* The loop of every vCPU; the BSP's also keeps the time. */
static void worker(u32 cpu, int is_bsp)
{
    u32 n = 0, x = cpu;
    if (skew_ticks) smp_sleep_until(rdtsc() + start_offset(cpu));
    while (!stop) {
        lock_acquire();
        critical_section();
        lock_release();
        ++n;
        x = noncritical_work(x);
        if (is_bsp) keep_time();
    }
    per_cpu[cpu].acquisitions = n;
    per_cpu[cpu].sink = x;
    per_cpu[cpu].stop_tsc = rdtsc();
}

static void ap_main(u32 cpu)
{
    worker(cpu, 0);
    __atomic_fetch_add(&reported, 1, __ATOMIC_RELEASE);
}

/* What each shared word must hold after `count` critical sections: the counter values 0..count-1
 * added once per iteration i with i % CS_WORDS == word, modulo 2^32. */
static u32 expected_word(u32 word, u32 count)
{
    u32 times = (cs_iterations + CS_WORDS - 1 - word) / CS_WORDS;
    return (u32)((u64)times * ((u64)count * (count - 1) / 2));
}

int main(void)
{
    smp_init();
    duration_ticks = cmdline_number("duration", 200) * 1000000;
    cs_iterations = (u32)cmdline_number("cs", 24);
    ncs_iterations = (u32)cmdline_number("ncs", 400);
    hint = cmdline_number("hint", 0) != 0;
    u64 skew = cmdline_number("skew", 500);
    if (skew > 4000000) fail(EXIT_ASSERT, "skew=%llu: at most 4000000 (thousand ticks)", skew);
    skew_ticks = (u32)skew * 1000;
    seed = (u32)cmdline_number("seed", 1);
    warmup_ticks = cmdline_number("warmup", 10) * 1000000;
    if (hint && !under_matryoshka()) {
        note("hint=1 ignored: VMCALL is #UD outside VMX non-root");
        hint = 0;
    }
    if (skew_ticks && !(cpuid(1, 0).ecx & CPUID1_ECX_TSC_DEADLINE)) {
        note("skew ignored: no TSC-deadline timer (CPUID.1:ECX[24]) to sleep on");
        skew_ticks = 0;
    }

    u32 ids[SMP_MAX_CPUS];
    u32 n = acpi_madt_apic_ids(ids, SMP_MAX_CPUS);
    if (!n) {
        note("no ACPI MADT: one CPU");
        ids[0] = smp_bsp_id;
        n = 1;
    }
    if (n > SMP_MAX_CPUS) fail(EXIT_ASSERT, "%u CPUs in the MADT: at most %u supported", n, SMP_MAX_CPUS);
    u32 bsp = 0;
    while (bsp < n && ids[bsp] != smp_bsp_id) ++bsp;
    if (bsp == n) fail(EXIT_ASSERT, "the BSP's APIC ID %u is not in the MADT", smp_bsp_id);
    printf("SPINLOCK config vcpus=%u duration=%llu warmup=%llu cs=%u ncs=%u hint=%u skew=%u seed=%u\n", n,
           duration_ticks, warmup_ticks, cs_iterations, ncs_iterations, hint, skew_ticks, seed);

    u32 online = smp_start_aps(ids, n, ap_main);
    if (online < n - 1) {
        console_lock();
        smp_print_missing();
        fail(EXIT_TIMEOUT, "only %u of %u APs came up", online, n - 1);
    }
    /* The APs print nothing from here on. */

    online_tsc = rdtsc();
    worker(bsp, 1);
    if (!smp_wait_count(&reported, n - 1, REPORT_WAIT_MS))
        fail(EXIT_TIMEOUT, "only %u of %u APs stopped within %u ms", reported, n - 1, REPORT_WAIT_MS);

    u64 end_tsc = 0, total = 0;
    for (u32 i = 0; i < n; ++i) {
        if (per_cpu[i].stop_tsc > end_tsc) end_tsc = per_cpu[i].stop_tsc;
        total += per_cpu[i].acquisitions;
        printf("SPINLOCK vcpu=%u acquisitions=%u\n", i, per_cpu[i].acquisitions);
    }
    u64 ticks = end_tsc - start_tsc;
    u64 measured = lock.serving - served_at_start;
    printf("SPINLOCK vcpus=%u acquisitions=%llu ticks=%llu per_mticks=%llu\n", n, measured, ticks,
           measured * 1000000 / ticks);

    u32 bad_words = 0;
    for (u32 w = 0; w < CS_WORDS; ++w) bad_words += shared_words[w] != expected_word(w, shared_counter);
    if (shared_counter != total || lock.next != total || lock.serving != total || bad_words) {
        printf("SPINLOCK integrity BROKEN counter=%u acquisitions=%llu next=%u serving=%u bad_words=%u\n",
               shared_counter, total, lock.next, lock.serving, bad_words);
        fail(EXIT_FAIL, "the lock let two holders in");
    }
    printf("SPINLOCK integrity ok\n");
    finish();
}
