/* smp_boot: starts the application processors the way an OS does and checks IPIs between CPUs.
 *
 * The number of CPUs N comes from the command line (`cpus=N`), else QEMU's fw_cfg NB_CPUS (key
 * 0x0005; QEMU and Matryoshka), else the enabled processors of the ACPI MADT (Bochs's BIOS), else
 * 1. The APIC IDs are 0..N-1; the BSP reads its own from the LAPIC ID register.
 *
 * The BSP copies the real-mode trampoline (smp_boot.asm) to a free page below 1 MiB (0x8000
 * unless the boot information is there) and, for each AP in turn, sends INIT, waits 10 ms,
 * sends SIPI (vector = the page number), waits 200 us and sends the second SIPI (SDM Vol. 3A
 * "MP Initialization", INIT-SIPI-SIPI), all through the xAPIC ICR (high word first, delivery
 * status polled, bounded). The waits use the BSP's LAPIC timer one-shot and HLT; their lengths
 * assume the fastest timer clock among 1 GHz (QEMU's) and CPUID.16H's base frequency (under
 * Matryoshka the timer runs at the TSC rate), so they are at least as long as asked.
 *
 * Each AP: 32-bit protected mode through the trampoline, its own stack, the BSP's IDT; enables
 * its LAPIC, prints `cpu N up` (the UART shared under a lock xchg spinlock), counts itself
 * online, waits with sti; hlt for the BSP's fixed IPI 0x60, replies with fixed IPI 0x61 to the
 * BSP, and stays in a sti; hlt loop.
 *
 * The BSP waits (bounded) for N-1 APs online, prints `all N CPUs up`, sends 0x60 to each AP in
 * turn and waits (bounded) for its 0x61, then checks every AP was started once, got exactly one
 * 0x60, and the BSP got N-1 replies. Every wait is bounded: a missing AP is a FAIL line. */
#include "guest.h"

TEST("smp_boot");

#define MAX_CPUS 32
#define AP_STACK_SIZE 8192
#define TIMER_VECTOR 0x40
#define PING_VECTOR 0x60  /* BSP -> AP */
#define PONG_VECTOR 0x61  /* AP -> BSP */
#define SPURIOUS_VECTOR 0xff

#define ICR_LOW 0x300
#define ICR_HIGH 0x310
#define ICR_FIXED 0x000
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600
#define ICR_PENDING (1u << 12)
#define ICR_ASSERT (1u << 14)
#define LVT_MASKED (1u << 16)

#define GUARD_TICKS 2000000000ull /* TSC ticks before the first timer interrupt is "never came" */
#define ONLINE_WAIT_MS 2000
#define REPLY_WAIT_MS 1000

/* ---- shared with smp_boot.asm ------------------------------------------------------------- */
extern char ap_trampoline[], ap_trampoline_end[], ap_tramp_gdtr[], ap_tramp_gdt[];
struct {
    u16 limit;
    u32 base;
} __attribute__((packed)) ap_idtr;
volatile u32 ap_next_slot;          /* lock xadd: each AP that enters takes the next slot */
u32 ap_slot_limit = MAX_CPUS - 1;
u32 ap_stack_tops[MAX_CPUS - 1];
static u8 ap_stacks[MAX_CPUS - 1][AP_STACK_SIZE] __attribute__((aligned(16)));
void ap_main(u32 apic_id) NORETURN;

/* ---- per-CPU state, indexed by APIC ID ---------------------------------------------------- */
static volatile u32 started[256];   /* ap_main entered */
static volatile u32 pings[256];     /* PING_VECTOR received */
static volatile u32 online;         /* APs that finished their start-up */
static volatile u32 pongs;          /* PONG_VECTOR received by the BSP */
static volatile u32 pong_elsewhere; /* PONG_VECTOR received by a CPU other than the BSP */
static volatile u32 spurious;
static volatile u32 timer_fired;
static volatile u32 ap_send_stuck;  /* an AP's reply ICR never cleared its delivery status */
static u32 bsp_id;

/* ---- console lock: the UART is shared ------------------------------------------------------ */
static volatile u32 console_lock_word;

static void console_lock(void)
{
    for (;;) {
        u32 old = 1;
        __asm__ volatile("lock xchgl %0, %1" : "+r"(old), "+m"(console_lock_word) : : "memory");
        if (!old) return;
        while (console_lock_word) pause();
    }
}

static void console_unlock(void)
{
    barrier();
    console_lock_word = 0;
    barrier();
}

#define LOCKED(stmt) do { console_lock(); stmt; console_unlock(); } while (0)

/* ---- local APIC ------------------------------------------------------------------------------ */
static u32 lapic_id(void) { return lapic_read(LAPIC_ID) >> 24; }

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

static void ping_handler(struct frame *f)
{
    (void)f;
    __atomic_fetch_add(&pings[lapic_id()], 1, __ATOMIC_SEQ_CST);
    lapic_write(LAPIC_EOI, 0);
}

static void pong_handler(struct frame *f)
{
    (void)f;
    if (lapic_id() == bsp_id) __atomic_fetch_add(&pongs, 1, __ATOMIC_SEQ_CST);
    else __atomic_fetch_add(&pong_elsewhere, 1, __ATOMIC_SEQ_CST);
    lapic_write(LAPIC_EOI, 0);
}

static void timer_handler(struct frame *f)
{
    (void)f;
    timer_fired = 1;
    lapic_write(LAPIC_EOI, 0);
}

static void spurious_handler(struct frame *f)
{
    (void)f;
    __atomic_fetch_add(&spurious, 1, __ATOMIC_SEQ_CST); /* no EOI for the spurious vector */
}

/* ---- the BSP's clock: LAPIC timer one-shot, divide by 1 ------------------------------------ */
static u32 timer_per_ms; /* timer counts per millisecond, an upper bound of the real rate */
static int timer_checked;

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
        if (!ok) LOCKED(fail(EXIT_TIMEOUT, "the BSP's LAPIC timer (vector 0x%x) never fired", TIMER_VECTOR));
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

static void delay_us(u32 us) { delay_counts((u32)(((u64)timer_per_ms * us + 999) / 1000)); }

/* Sleeps in 1 ms timer slices until *counter >= target, at most `ms` slices. */
static int wait_count(volatile u32 *counter, u32 target, u32 ms)
{
    if (!timer_checked) delay_us(1);
    for (u32 i = 0; i < ms && *counter < target; ++i) {
        timer_arm(timer_per_ms);
        cli();
        while (*counter < target && !timer_fired) {
            sti_hlt();
            cli();
        }
    }
    lapic_write(LAPIC_TIMER_INIT, 0);
    return *counter >= target;
}

/* ---- how many CPUs ---------------------------------------------------------------------------- */
static u32 fw_cfg_cpus(void)
{
    char sig[4];
    fw_cfg_read(0x0000, sig, 4);
    if (memcmp(sig, "QEMU", 4)) return 0;
    u16 n = 0;
    fw_cfg_read(0x0005, &n, 2);
    return n;
}

static int checksum_ok(const u8 *p, u32 len)
{
    u8 sum = 0;
    for (u32 i = 0; i < len; ++i) sum += p[i];
    return sum == 0;
}

static const u8 *find_rsdp(u32 start, u32 end)
{
    for (u32 a = start; a + 20 <= end; a += 16) {
        const u8 *p = (const u8 *)(uintptr_t)a;
        if (!memcmp(p, "RSD PTR ", 8) && checksum_ok(p, 20)) return p;
    }
    return 0;
}

/* ACPI MADT: processor local APIC entries (type 0) with the enabled flag. 0 without ACPI. */
static u32 madt_cpus(void)
{
    uintptr_t bda_ebda = 0x40e; /* the BIOS data area's EBDA segment */
    __asm__("" : "+r"(bda_ebda)); /* hides the constant address from -Warray-bounds */
    u32 ebda = (u32)*(volatile u16 *)bda_ebda << 4;
    const u8 *rsdp = ebda >= 0x80000 && ebda < 0xa0000 ? find_rsdp(ebda, ebda + 1024) : 0;
    if (!rsdp) rsdp = find_rsdp(0xe0000, 0x100000);
    if (!rsdp) return 0;
    const u8 *rsdt = (const u8 *)(uintptr_t)*(const u32 *)(rsdp + 16);
    if (!rsdt || memcmp(rsdt, "RSDT", 4)) return 0;
    u32 len = *(const u32 *)(rsdt + 4);
    for (u32 off = 36; off + 4 <= len; off += 4) {
        const u8 *t = (const u8 *)(uintptr_t)*(const u32 *)(rsdt + off);
        if (!t || memcmp(t, "APIC", 4)) continue;
        u32 tlen = *(const u32 *)(t + 4), n = 0;
        for (u32 e = 44; e + 2 <= tlen && t[e + 1] >= 2; e += t[e + 1])
            if (t[e] == 0 && t[e + 1] >= 8 && (*(const u32 *)(t + e + 4) & 1)) ++n;
        return n;
    }
    return 0;
}

/* ---- where the trampoline goes ---------------------------------------------------------------- */
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

/* ---- the APs --------------------------------------------------------------------------------- */
void ap_main(u32 apic_id)
{
    lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR); /* software enable */
    lapic_write(LAPIC_TPR, 0);
    __atomic_fetch_add(&started[apic_id & 0xff], 1, __ATOMIC_SEQ_CST);
    LOCKED(printf("cpu %u up\n", apic_id));
    __atomic_fetch_add(&online, 1, __ATOMIC_SEQ_CST);
    cli();
    while (!pings[apic_id & 0xff]) {
        sti_hlt();
        cli();
    }
    if (!send_ipi(bsp_id, ICR_ASSERT | ICR_FIXED | PONG_VECTOR)) __atomic_fetch_add(&ap_send_stuck, 1, __ATOMIC_SEQ_CST);
    for (;;) sti_hlt(); /* interruptible: a second ping would still be counted */
}

/* ---- the BSP ------------------------------------------------------------------------------------ */
int main(void)
{
    set_handler(TIMER_VECTOR, timer_handler);
    set_handler(PING_VECTOR, ping_handler);
    set_handler(PONG_VECTOR, pong_handler);
    set_handler(SPURIOUS_VECTOR, spurious_handler);
    lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
    lapic_write(LAPIC_TPR, 0);
    lapic_write(LAPIC_TIMER_DIVIDE, 0xb); /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, TIMER_VECTOR); /* one-shot */
    bsp_id = lapic_id();

    /* Timer clock: 1 GHz (QEMU), or CPUID.16H's base frequency when higher (Matryoshka's
     * timer counts at the TSC rate); an overestimate only lengthens the waits. */
    u64 timer_hz = 1000000000ull;
    if (cpuid(0, 0).eax >= 0x16) {
        u32 mhz = cpuid(0x16, 0).eax & 0xffff;
        if ((u64)mhz * 1000000 > timer_hz) timer_hz = (u64)mhz * 1000000;
    }
    timer_per_ms = (u32)udiv64(timer_hz, 1000, 0);

    u32 n;
    const char *source;
    if (cmdline_get("cpus", 0, 0)) {
        n = (u32)cmdline_number("cpus", 0);
        source = "command line";
    } else if ((n = fw_cfg_cpus())) {
        source = "fw_cfg NB_CPUS";
    } else if ((n = madt_cpus())) {
        source = "ACPI MADT";
    } else {
        n = 1;
        source = "no fw_cfg or ACPI: assumed";
    }
    note("%u CPUs (%s), BSP APIC ID %u, timer %u counts/ms", n, source, bsp_id, timer_per_ms);
    if (n < 1 || n > MAX_CPUS) fail(EXIT_ASSERT, "%u CPUs: 1..%u supported", n, MAX_CPUS);
    CHECK(bsp_id < n, "BSP APIC ID %u is one of 0..%u", bsp_id, n - 1);
    if (n == 1) {
        note("one CPU: no APs to start");
        printf("all 1 CPUs up\n");
        finish();
    }

    u32 page = pick_trampoline_page();
    if (!page) fail(EXIT_ASSERT, "no free page below 1 MiB for the AP trampoline");
    u32 size = (u32)(ap_trampoline_end - ap_trampoline);
    memcpy((void *)(uintptr_t)page, ap_trampoline, size);
    *(volatile u32 *)(uintptr_t)(page + (u32)(ap_tramp_gdtr - ap_trampoline) + 2) =
        page + (u32)(ap_tramp_gdt - ap_trampoline);
    __asm__ volatile("sidt %0" : "=m"(ap_idtr));
    for (u32 i = 0; i < ARRAY_SIZE(ap_stack_tops); ++i) ap_stack_tops[i] = (u32)(uintptr_t)ap_stacks[i] + AP_STACK_SIZE;
    note("trampoline: %u bytes at 0x%x (SIPI vector 0x%02x)", size, page, page >> 12);

    /* INIT-SIPI-SIPI to each AP in turn. From here on the APs print too: the BSP takes the lock. */
    u64 t0 = rdtsc();
    for (u32 id = 0; id < n; ++id) {
        if (id == bsp_id) continue;
        int ok = send_ipi(id, ICR_ASSERT | ICR_INIT);
        delay_us(10000);
        ok &= send_ipi(id, ICR_ASSERT | ICR_STARTUP | (page >> 12));
        delay_us(200);
        ok &= send_ipi(id, ICR_ASSERT | ICR_STARTUP | (page >> 12));
        delay_us(200);
        if (!ok) LOCKED(CHECK(0, "INIT/SIPI to APIC ID %u: ICR delivery status stayed pending", id));
    }
    int all = wait_count(&online, n - 1, ONLINE_WAIT_MS);
    u64 t1 = rdtsc();
    console_lock();
    if (!all) {
        printf("missing APs:");
        for (u32 id = 0; id < n; ++id)
            if (id != bsp_id && !started[id]) printf(" %u", id);
        printf("\n");
        fail(EXIT_TIMEOUT, "only %u of %u APs came up", online, n - 1);
    }
    printf("all %u CPUs up\n", n);
    console_unlock();
    /* APs print nothing more: no lock needed below. */
    note("start-up took %llu TSC ticks", t1 - t0);

    u32 sent = 0;
    for (u32 id = 0; id < n; ++id) {
        if (id == bsp_id) continue;
        ++sent;
        int ok = send_ipi(id, ICR_ASSERT | ICR_FIXED | PING_VECTOR);
        int replied = ok && wait_count(&pongs, sent, REPLY_WAIT_MS);
        CHECK(ok && replied, "cpu %u: IPI 0x%x sent, reply 0x%x came (%u replies)", id, PING_VECTOR, PONG_VECTOR, pongs);
        if (!replied) sent = pongs;
    }
    delay_us(10000); /* late duplicates (a second start, a second IPI) would show up here */
    for (u32 id = 0; id < n; ++id) {
        if (id == bsp_id) continue;
        CHECK(started[id] == 1 && pings[id] == 1, "cpu %u: started once (%u), exactly one IPI 0x%x (%u)", id,
              started[id], PING_VECTOR, pings[id]);
    }
    CHECK(pongs == n - 1 && pong_elsewhere == 0, "BSP got %u replies 0x%x (of %u), other CPUs %u", pongs, PONG_VECTOR,
          n - 1, pong_elsewhere);
    CHECK(pings[bsp_id] == 0, "BSP got no IPI 0x%x (%u)", PING_VECTOR, pings[bsp_id]);
    CHECK(online == n - 1 && ap_next_slot == n - 1, "%u APs online, trampoline entered %u times", online, ap_next_slot);
    CHECK(ap_send_stuck == 0, "AP reply ICRs delivered (%u stuck)", ap_send_stuck);
    CHECK(spurious == 0, "no spurious interrupts (%u)", spurious);
    finish();
}
