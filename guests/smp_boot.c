/* smp_boot: starts the application processors the way an OS does and checks IPIs between CPUs.
 *
 * The number of CPUs N comes from the command line (`cpus=N`), else QEMU's fw_cfg NB_CPUS (key
 * 0x0005; QEMU and Matryoshka), else the enabled processors of the ACPI MADT (Bochs's BIOS), else
 * 1. The APIC IDs are 0..N-1; the BSP reads its own from the LAPIC ID register.
 *
 * The library (lib/smp.c) starts the APs with INIT-SIPI-SIPI, each prints `cpu N up` and counts
 * itself online; here each then waits with sti; hlt for the BSP's fixed IPI 0x60, replies with
 * fixed IPI 0x61 to the BSP, and stays in a sti; hlt loop.
 *
 * The BSP waits (bounded) for N-1 APs online, prints `all N CPUs up`, sends 0x60 to each AP in
 * turn and waits (bounded) for its 0x61, then checks every AP was started once, got exactly one
 * 0x60, and the BSP got N-1 replies. Every wait is bounded: a missing AP is a FAIL line. */
#include "guest.h"

TEST("smp_boot");

#define PING_VECTOR 0x60  /* BSP -> AP */
#define PONG_VECTOR 0x61  /* AP -> BSP */
#define REPLY_WAIT_MS 1000

/* ---- per-CPU state, indexed by APIC ID ---------------------------------------------------- */
static volatile u32 pings[256];     /* PING_VECTOR received */
static volatile u32 pongs;          /* PONG_VECTOR received by the BSP */
static volatile u32 pong_elsewhere; /* PONG_VECTOR received by a CPU other than the BSP */
static volatile u32 ap_send_stuck;  /* an AP's reply ICR never cleared its delivery status */

static void ping_handler(struct frame *f)
{
    (void)f;
    __atomic_fetch_add(&pings[lapic_id()], 1, __ATOMIC_SEQ_CST);
    lapic_write(LAPIC_EOI, 0);
}

static void pong_handler(struct frame *f)
{
    (void)f;
    if (lapic_id() == smp_bsp_id) __atomic_fetch_add(&pongs, 1, __ATOMIC_SEQ_CST);
    else __atomic_fetch_add(&pong_elsewhere, 1, __ATOMIC_SEQ_CST);
    lapic_write(LAPIC_EOI, 0);
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

/* ---- the APs (cpu = APIC ID: the IDs are 0..N-1) ------------------------------------------------ */
static void ap_main(u32 cpu)
{
    while (!pings[cpu]) {
        sti_hlt();
        cli();
    }
    if (!send_fixed_ipi(smp_bsp_id, PONG_VECTOR)) __atomic_fetch_add(&ap_send_stuck, 1, __ATOMIC_SEQ_CST);
}

/* ---- the BSP ------------------------------------------------------------------------------------ */
int main(void)
{
    set_handler(PING_VECTOR, ping_handler);
    set_handler(PONG_VECTOR, pong_handler);
    smp_init();

    u32 n, ids[SMP_MAX_CPUS];
    const char *source;
    if (cmdline_get("cpus", 0, 0)) {
        n = (u32)cmdline_number("cpus", 0);
        source = "command line";
    } else if ((n = fw_cfg_cpus())) {
        source = "fw_cfg NB_CPUS";
    } else if ((n = acpi_madt_apic_ids(ids, SMP_MAX_CPUS))) {
        source = "ACPI MADT";
    } else {
        n = 1;
        source = "no fw_cfg or ACPI: assumed";
    }
    note("%u CPUs (%s), BSP APIC ID %u, timer %u counts/ms", n, source, smp_bsp_id, smp_timer_per_ms);
    if (n < 1 || n > SMP_MAX_CPUS) fail(EXIT_ASSERT, "%u CPUs: 1..%u supported", n, SMP_MAX_CPUS);
    CHECK(smp_bsp_id < n, "BSP APIC ID %u is one of 0..%u", smp_bsp_id, n - 1);
    if (n == 1) {
        note("one CPU: no APs to start");
        printf("all 1 CPUs up\n");
        finish();
    }

    for (u32 id = 0; id < n; ++id) ids[id] = id;
    u64 t0 = rdtsc();
    u32 online = smp_start_aps(ids, n, ap_main);
    u64 t1 = rdtsc();
    console_lock();
    if (online < n - 1) {
        smp_print_missing();
        fail(EXIT_TIMEOUT, "only %u of %u APs came up", online, n - 1);
    }
    printf("all %u CPUs up\n", n);
    console_unlock();
    /* APs print nothing more: no lock needed below. */
    note("start-up took %llu TSC ticks", t1 - t0);

    u32 sent = 0;
    for (u32 id = 0; id < n; ++id) {
        if (id == smp_bsp_id) continue;
        ++sent;
        int ok = send_fixed_ipi(id, PING_VECTOR);
        int replied = ok && smp_wait_count(&pongs, sent, REPLY_WAIT_MS);
        CHECK(ok && replied, "cpu %u: IPI 0x%x sent, reply 0x%x came (%u replies)", id, PING_VECTOR, PONG_VECTOR, pongs);
        if (!replied) sent = pongs;
    }
    smp_delay_us(10000); /* late duplicates (a second start, a second IPI) would show up here */
    for (u32 id = 0; id < n; ++id) {
        if (id == smp_bsp_id) continue;
        CHECK(smp_started[id] == 1 && pings[id] == 1, "cpu %u: started once (%u), exactly one IPI 0x%x (%u)", id,
              smp_started[id], PING_VECTOR, pings[id]);
    }
    CHECK(pongs == n - 1 && pong_elsewhere == 0, "BSP got %u replies 0x%x (of %u), other CPUs %u", pongs, PONG_VECTOR,
          n - 1, pong_elsewhere);
    CHECK(pings[smp_bsp_id] == 0, "BSP got no IPI 0x%x (%u)", PING_VECTOR, pings[smp_bsp_id]);
    CHECK(smp_online == n - 1 && ap_next_slot == n - 1, "%u APs online, trampoline entered %u times", smp_online,
          ap_next_slot);
    CHECK(ap_send_stuck == 0, "AP reply ICRs delivered (%u stuck)", ap_send_stuck);
    CHECK(smp_spurious == 0, "no spurious interrupts (%u)", smp_spurious);
    finish();
}
