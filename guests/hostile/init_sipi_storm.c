/* hostile init_sipi_storm: resets its own AP with INIT and restarts it with SIPI, thousands of
 * times, for its duration (cmdline ticks=M million TSC ticks, default 50): half of the time one
 * cycle at a time (INIT, SIPI, wait until the AP's real-mode code has counted its start, a second
 * SIPI), half of the time back to back without waiting (INIT and SIPI while the AP runs).
 * The AP's code (a page of its own below 1 MiB, SIPI vector = page number) increments a counter
 * and halts with interrupts off.
 * hardware: INIT is not masked by IF or HLT: it puts the AP in wait-for-SIPI; a SIPI then starts
 *   it in real mode at CS:IP = (vector << 8):0; a SIPI to an AP not waiting for one is ignored
 *   (SDM Vol. 3A 9.4.4 and 11.6.1). So each waited cycle counts exactly one start (the second
 *   SIPI none), back-to-back cycles count at most one start each, and the AP still starts after
 *   the storm. Each INIT makes the hypervisor reset a vCPU: only this VM's.
 * expect: contained
 * run: vcpus=2
 * smp: pin=0-1
 */
#include "ipi.h"

TEST("init_sipi_storm");

#define AP_PAGE 0x6000u
#define AP_COUNTER (AP_PAGE + 0x800) /* a 16-bit counter in the same page */
#define START_WAIT_TICKS 50000000ull

/* Real mode: cli; xor ax, ax; mov ds, ax; lock inc word [AP_COUNTER]; 1: hlt; jmp 1b. */
static const u8 ap_code[] = {0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0xf0, 0xff, 0x06, AP_COUNTER & 0xff, AP_COUNTER >> 8,
                             0xf4, 0xeb, 0xfd};

static volatile u16 *const counter = (volatile u16 *)AP_COUNTER;

static void send(u32 dest, u32 low)
{
    if (!xapic_send(dest, low)) fail(EXIT_TIMEOUT, "ICR delivery status stayed pending (dest 0x%x)", dest);
}

static int in_ap_page(u32 addr) { return addr >= AP_PAGE && addr < AP_PAGE + 4096; }

static int wait_starts(u16 target)
{
    for (u64 t = rdtsc(); rdtsc() - t < START_WAIT_TICKS;)
        if (*counter == target) return 1;
    return 0;
}

/* One waited cycle; false if the AP did not start exactly once. */
static int cycle(u32 ap)
{
    u16 before = *counter;
    send(ap, ICR_ASSERT | ICR_LEVEL_TRIGGER | ICR_INIT);
    send(ap, ICR_ASSERT | ICR_STARTUP | (AP_PAGE >> 12));
    if (!wait_starts((u16)(before + 1))) return 0;
    send(ap, ICR_ASSERT | ICR_STARTUP | (AP_PAGE >> 12)); /* ignored: not waiting for SIPI */
    for (u64 t = rdtsc(); rdtsc() - t < 20000;) pause();
    return *counter == (u16)(before + 1);
}

int main(void)
{
    u32 ids[SMP_MAX_CPUS];
    u32 n = acpi_madt_apic_ids(ids, SMP_MAX_CPUS);
    ASSERT(n == 2);
    u32 ap = ids[0] == lapic_id() ? ids[1] : ids[0];
    /* The loader leaves its information elsewhere (Matryoshka and GRUB: from 0x9000 up). */
    ASSERT(boot_info && !in_ap_page((u32)(uintptr_t)boot_info) && !in_ap_page(boot_info->mmap_addr) &&
           !in_ap_page(boot_info->cmdline));
    memcpy((void *)AP_PAGE, ap_code, sizeof ap_code);
    *counter = 0;
    lapic_write(LAPIC_SVR, 0x1ff);
    u64 half = cmdline_number("ticks", 50) * 1000000 / 2;

    u32 cycles = 0, bad = 0;
    for (u64 start = rdtsc(); rdtsc() - start < half; ++cycles) bad += !cycle(ap);
    CHECK(cycles > 0 && bad == 0, "%u waited INIT-SIPI-SIPI cycles: the AP started exactly once each (%u wrong)",
          cycles, bad);

    u16 before = *counter;
    u32 rapid = 0;
    for (u64 start = rdtsc(); rdtsc() - start < half; ++rapid) {
        send(ap, ICR_ASSERT | ICR_LEVEL_TRIGGER | ICR_INIT);
        send(ap, ICR_ASSERT | ICR_STARTUP | (AP_PAGE >> 12));
    }
    for (u64 t = rdtsc(); rdtsc() - t < 1000000;) pause();
    u16 starts = (u16)(*counter - before);
    CHECK(starts <= rapid, "%u back-to-back INIT-SIPI pairs: %u starts, at most one each", rapid, starts);
    CHECK(cycle(ap), "after the storm the AP still starts exactly once per INIT-SIPI-SIPI");
    finish();
}
