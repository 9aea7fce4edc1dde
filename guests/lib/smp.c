/* Several CPUs in a guest: the processors of the ACPI MADT, a console lock, fixed IPIs, the BSP's
 * LAPIC-timer clock and the start of the application processors (the trampoline is smp.asm).
 *
 * Start-up: the BSP copies the real-mode trampoline to a free page below 1 MiB (0x8000 unless
 * the boot information is there) and, for each AP in turn, sends INIT, waits 10 ms, sends SIPI
 * (vector = the page number), waits 200 us and sends the second SIPI (SDM Vol. 3A "MP
 * Initialization", INIT-SIPI-SIPI), all through the xAPIC ICR (high word first, delivery status
 * polled, bounded). The waits use the BSP's LAPIC timer one-shot and HLT; their lengths assume
 * the fastest timer clock among 1 GHz (QEMU's) and CPUID.16H's base frequency (under Matryoshka
 * the timer runs at the TSC rate), so they are at least as long as asked.
 *
 * Each AP: 32-bit protected mode through the trampoline, its own stack, the BSP's IDT; enables
 * its LAPIC, prints `cpu N up`, counts itself online and runs the guest's function. Every wait
 * is bounded: a missing AP is reported, never a hang. */
#include "guest.h"

#define AP_STACK_SIZE 8192

#define ICR_LOW 0x300
#define ICR_HIGH 0x310
#define ICR_FIXED 0x000
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_PENDING (1u << 12)
#define ICR_ASSERT (1u << 14)

#define GUARD_TICKS 2000000000ull /* TSC ticks before the first timer interrupt is "never came" */
#define ONLINE_WAIT_MS 2000

/* ---- shared with smp.asm -------------------------------------------------------------------- */
extern char ap_trampoline[], ap_trampoline_end[], ap_tramp_gdtr[], ap_tramp_gdt[];
struct {
    u16 limit;
    u32 base;
} __attribute__((packed)) ap_idtr;
volatile u32 ap_next_slot;          /* lock xadd: each AP that enters takes the next slot */
u32 ap_slot_limit = SMP_MAX_CPUS - 1;
u32 ap_stack_tops[SMP_MAX_CPUS - 1];
static u8 ap_stacks[SMP_MAX_CPUS - 1][AP_STACK_SIZE] __attribute__((aligned(16)));
void smp_ap_main(u32 apic_id) NORETURN;

volatile u32 smp_started[256];
volatile u32 smp_online;
volatile u32 smp_spurious;
u32 smp_bsp_id, smp_timer_per_ms;

static u32 cpu_ids[SMP_MAX_CPUS], cpu_count;
static void (*ap_function)(u32 cpu);

/* ---- console lock ------------------------------------------------------------------------------ */
static volatile u32 console_lock_word;

void console_lock(void)
{
    for (;;) {
        u32 old = 1;
        __asm__ volatile("lock xchgl %0, %1" : "+r"(old), "+m"(console_lock_word) : : "memory");
        if (!old) return;
        while (console_lock_word) pause();
    }
}

void console_unlock(void)
{
    barrier();
    console_lock_word = 0;
    barrier();
}

/* ---- IPIs --------------------------------------------------------------------------------------- */
/* ICR high (destination) first, then low (which sends); then the delivery status, bounded. */
static int send_ipi(u32 dest, u32 low)
{
    lapic_write(ICR_HIGH, dest << 24);
    lapic_write(ICR_LOW, low);
    for (u32 i = 0; i < 1000000; ++i) {
        if (!(lapic_read(ICR_LOW) & ICR_PENDING)) return 1;
        pause();
    }
    return 0;
}

int send_fixed_ipi(u32 dest, u8 vector) { return send_ipi(dest, ICR_ASSERT | ICR_FIXED | vector); }

/* ---- the BSP's clock: LAPIC timer one-shot, divide by 1 ---------------------------------------- */
static volatile u32 timer_fired;
static int timer_checked;

static void timer_handler(struct frame *f)
{
    (void)f;
    timer_fired = 1;
    lapic_write(LAPIC_EOI, 0);
}

static void spurious_handler(struct frame *f)
{
    (void)f;
    __atomic_fetch_add(&smp_spurious, 1, __ATOMIC_SEQ_CST); /* no EOI for the spurious vector */
}

static void deadline_handler(struct frame *f)
{
    (void)f;
    lapic_write(LAPIC_EOI, 0);
}

void smp_init(void)
{
    set_handler(SMP_TIMER_VECTOR, timer_handler);
    set_handler(SMP_DEADLINE_VECTOR, deadline_handler);
    set_handler(SMP_SPURIOUS_VECTOR, spurious_handler);
    lapic_write(LAPIC_SVR, 0x100 | SMP_SPURIOUS_VECTOR); /* software enable */
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_TIMER_DIVIDE, 0xb); /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, SMP_TIMER_VECTOR); /* one-shot */
    smp_bsp_id = lapic_id();

    /* Timer clock: 1 GHz (QEMU), or CPUID.16H's base frequency when higher (Matryoshka's
     * timer counts at the TSC rate); an overestimate only lengthens the waits. */
    u64 timer_hz = 1000000000ull;
    if (cpuid(0, 0).eax >= 0x16) {
        u32 mhz = cpuid(0x16, 0).eax & 0xffff;
        if ((u64)mhz * 1000000 > timer_hz) timer_hz = (u64)mhz * 1000000;
    }
    smp_timer_per_ms = (u32)udiv64(timer_hz, 1000, 0);
}

static void timer_arm(u32 counts)
{
    timer_fired = 0;
    lapic_write(LAPIC_TIMER_INIT, counts ? counts : 1);
}

/* Sleeps (HLT) until the one-shot fires. The first time, a bounded PAUSE loop instead: a timer
 * that never fires is a FAIL, not a hang; once it fired, HLT is safe. */
static void delay_counts(u32 counts)
{
    timer_arm(counts);
    if (!timer_checked) {
        sti();
        int ok = wait_for(&timer_fired, 1, GUARD_TICKS);
        cli();
        if (!ok) LOCKED(fail(EXIT_TIMEOUT, "the BSP's LAPIC timer (vector 0x%x) never fired", SMP_TIMER_VECTOR));
        timer_checked = 1;
        return;
    }
    /* An expiry latched while IF=0 at the end of an earlier wait may still be pending: only an
     * interrupt with the current count at 0 ends this one. */
    cli();
    for (;;) {
        int expired = lapic_read(LAPIC_TIMER_CURRENT) == 0;
        if (timer_fired && expired) break;
        if (timer_fired) timer_fired = 0; /* the stale one */
        sti_hlt();
        cli();
    }
}

void smp_delay_us(u32 us) { delay_counts((u32)(((u64)smp_timer_per_ms * us + 999) / 1000)); }

int smp_sleep_until(u64 tsc)
{
    if (!(cpuid(1, 0).ecx & CPUID1_ECX_TSC_DEADLINE)) return 0;
    u32 lvt = lapic_read(LAPIC_LVT_TIMER);
    cli();
    lapic_write(LAPIC_LVT_TIMER, SMP_DEADLINE_VECTOR | LVT_TSC_DEADLINE);
    /* SDM Vol. 3A 11.5.4.1: an MFENCE orders the LVT write before the MSR write. */
    __asm__ volatile("mfence" ::: "memory");
    wrmsr(MSR_TSC_DEADLINE, tsc);
    /* A deadline already past fires at once; any other interrupt just ends one HLT. */
    while (rdtsc() < tsc) {
        sti_hlt();
        cli();
    }
    wrmsr(MSR_TSC_DEADLINE, 0);
    lapic_write(LAPIC_LVT_TIMER, lvt);
    return 1;
}

int smp_wait_count(volatile u32 *counter, u32 target, u32 ms)
{
    if (!timer_checked) smp_delay_us(1);
    for (u32 i = 0; i < ms && *counter < target; ++i) {
        timer_arm(smp_timer_per_ms);
        cli();
        while (*counter < target && !timer_fired) {
            sti_hlt();
            cli();
        }
    }
    lapic_write(LAPIC_TIMER_INIT, 0);
    return *counter >= target;
}

/* ---- the ACPI MADT -------------------------------------------------------------------------------- */
/* Processor local APIC entries (type 0) with the enabled flag. */
u32 acpi_madt_apic_ids(u32 *ids, u32 max)
{
    const u8 *t = acpi_find_table("APIC");
    if (!t) return 0;
    u32 tlen = *(const u32 *)(t + 4), n = 0;
    for (u32 e = 44; e + 2 <= tlen && t[e + 1] >= 2; e += t[e + 1]) {
        if (t[e] != 0 || t[e + 1] < 8 || !(*(const u32 *)(t + e + 4) & 1)) continue;
        if (n < max) ids[n] = t[e + 3];
        ++n;
    }
    return n;
}

/* ---- where the trampoline goes -------------------------------------------------------------------- */
static int overlaps(u32 a, u32 alen, u32 b, u32 blen) { return a < b + blen && b < a + alen; }

/* Is [page, page + 4 KiB) clear of everything the loader left below 1 MiB? */
static int page_free(u32 page)
{
    const struct mb_info *mb = boot_info;
    if (!mb) return 1;
    if (mb->flags & MB_INFO_MEM && page + 4096 > mb->mem_lower * 1024u) return 0;
    if (overlaps(page, 4096, (u32)(uintptr_t)mb, sizeof *mb)) return 0;
    if (mb->flags & MB_INFO_CMDLINE && mb->cmdline &&
        overlaps(page, 4096, mb->cmdline, strlen((const char *)(uintptr_t)mb->cmdline) + 1))
        return 0;
    if (mb->flags & MB_INFO_MMAP && overlaps(page, 4096, mb->mmap_addr, mb->mmap_length)) return 0;
    if (mb->flags & MB_INFO_LOADER_NAME && mb->boot_loader_name &&
        overlaps(page, 4096, mb->boot_loader_name, strlen((const char *)(uintptr_t)mb->boot_loader_name) + 1))
        return 0;
    if (mb->flags & MB_INFO_MODS && mb->mods_count) {
        if (overlaps(page, 4096, mb->mods_addr, mb->mods_count * sizeof(struct mb_module))) return 0;
        const struct mb_module *m = (const struct mb_module *)(uintptr_t)mb->mods_addr;
        for (u32 i = 0; i < mb->mods_count; ++i) {
            if (overlaps(page, 4096, m[i].start, m[i].end - m[i].start)) return 0;
            if (m[i].string && overlaps(page, 4096, m[i].string, strlen((const char *)(uintptr_t)m[i].string) + 1))
                return 0;
        }
    }
    return 1;
}

static u32 pick_trampoline_page(void)
{
    static const u32 candidates[] = {0x8000, 0x7000, 0x6000, 0x5000, 0x4000, 0x3000, 0x2000, 0x1000,
                                     0x10000, 0x20000, 0x30000, 0x40000, 0x50000, 0x60000, 0x70000};
    for (u32 i = 0; i < ARRAY_SIZE(candidates); ++i)
        if (page_free(candidates[i])) return candidates[i];
    return 0;
}

/* ---- the APs ------------------------------------------------------------------------------------------ */
void smp_ap_main(u32 apic_id)
{
    lapic_write(LAPIC_SVR, 0x100 | SMP_SPURIOUS_VECTOR); /* software enable */
    lapic_write(LAPIC_TPR, 0);
    __atomic_fetch_add(&smp_started[apic_id & 0xff], 1, __ATOMIC_SEQ_CST);
    u32 cpu = 0;
    while (cpu < cpu_count && cpu_ids[cpu] != apic_id) ++cpu;
    if (cpu == cpu_count) { /* started, yet not one of ours: it must not run with a wrong index */
        LOCKED(printf("cpu %u up, but not in the CPU list: parked\n", apic_id));
        for (;;) __asm__ volatile("cli; hlt");
    }
    LOCKED(printf("cpu %u up\n", apic_id));
    __atomic_fetch_add(&smp_online, 1, __ATOMIC_SEQ_CST);
    ap_function(cpu);
    for (;;) sti_hlt(); /* interruptible: an IPI sent later still arrives */
}

/* ---- the BSP --------------------------------------------------------------------------------------- */
u32 smp_start_aps(const u32 *apic_ids, u32 n, void (*fn)(u32 cpu))
{
    if (n > SMP_MAX_CPUS) fail(EXIT_ASSERT, "%u CPUs: at most %u supported", n, SMP_MAX_CPUS);
    memcpy(cpu_ids, apic_ids, n * sizeof *apic_ids);
    cpu_count = n;
    ap_function = fn;
    if (n <= 1) return 0;

    u32 page = pick_trampoline_page();
    if (!page) fail(EXIT_ASSERT, "no free page below 1 MiB for the AP trampoline");
    u32 size = (u32)(ap_trampoline_end - ap_trampoline);
    memcpy((void *)(uintptr_t)page, ap_trampoline, size);
    *(volatile u32 *)(uintptr_t)(page + (u32)(ap_tramp_gdtr - ap_trampoline) + 2) =
        page + (u32)(ap_tramp_gdt - ap_trampoline);
    __asm__ volatile("sidt %0" : "=m"(ap_idtr));
    for (u32 i = 0; i < ARRAY_SIZE(ap_stack_tops); ++i) ap_stack_tops[i] = (u32)(uintptr_t)ap_stacks[i] + AP_STACK_SIZE;
    note("trampoline: %u bytes at 0x%x (SIPI vector 0x%02x)", size, page, page >> 12);

    /* From the first SIPI on the APs print too: the BSP takes the lock. */
    for (u32 i = 0; i < n; ++i) {
        u32 id = apic_ids[i];
        if (id == smp_bsp_id) continue;
        int ok = send_ipi(id, ICR_ASSERT | ICR_INIT);
        smp_delay_us(10000);
        ok &= send_ipi(id, ICR_ASSERT | ICR_STARTUP | (page >> 12));
        smp_delay_us(200);
        ok &= send_ipi(id, ICR_ASSERT | ICR_STARTUP | (page >> 12));
        smp_delay_us(200);
        if (!ok) LOCKED(CHECK(0, "INIT/SIPI to APIC ID %u: ICR delivery status stayed pending", id));
    }
    smp_wait_count(&smp_online, n - 1, ONLINE_WAIT_MS);
    return smp_online;
}

void smp_print_missing(void)
{
    printf("missing APs:");
    for (u32 i = 0; i < cpu_count; ++i)
        if (cpu_ids[i] != smp_bsp_id && !smp_started[cpu_ids[i] & 0xff]) printf(" %u", cpu_ids[i]);
    printf("\n");
}

u32 smp_start_all(void (*fn)(u32 cpu))
{
    smp_init();
    u32 ids[SMP_MAX_CPUS];
    u32 n = acpi_madt_apic_ids(ids, SMP_MAX_CPUS);
    if (n < 2) fail(EXIT_ASSERT, "%u CPUs in the ACPI MADT: this test needs at least 2", n);
    if (n > SMP_MAX_CPUS) fail(EXIT_ASSERT, "%u CPUs in the MADT: at most %u supported", n, SMP_MAX_CPUS);
    u32 online = smp_start_aps(ids, n, fn);
    if (online < n - 1) {
        console_lock();
        smp_print_missing();
        fail(EXIT_TIMEOUT, "only %u of %u APs came up", online, n - 1);
    }
    return n;
}
