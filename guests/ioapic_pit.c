/* ioapic_pit: the PC platform devices an unmodified kernel relies on, used the way Linux does.
 *   1. the 8259 pair answers the ICW sequence, keeps its IMR, shows IRR/ISR, and is masked;
 *   2. PCI configuration mechanism #1 finds the host bridge at 00:00.0, and nothing at 00:01.0;
 *   3. CPUID 0x15 tells the TSC frequency; the ACPI PM timer (FADT PM_TMR_BLK) counts at
 *      3.579545 MHz against it;
 *   4. the TSC calibrated against PIT counter 2 (mode 0, gate and OUT2 through port 0x61, as
 *      Linux's pit_calibrate_tsc) agrees with CPUID 0x15;
 *   5. the I/O APIC (MADT entry, version 0x11 with 24 pins) delivers PIT counter 0 interrupts
 *      (mode 2, ISA IRQ 0 through the MADT override to pin 2) to this CPU's local APIC, and
 *      masking the pin stops them;
 *   6. a level-triggered pin: the UART's THR-empty interrupt on pin 4 sets Remote IRR, comes
 *      again after each EOI while the UART still asserts it, and stops once IIR is read;
 *   7. powers off through the FADT's PM1a control block with \_S5's sleep type.
 * The result is "PASS ioapic_pit" followed by the VM's power-off (not the debug-exit port). */
#include "guest.h"

TEST("ioapic_pit");

#define IOAPIC_BASE 0xfec00000u
#define PIT_VECTOR 0x50
#define UART_VECTOR 0x51
#define SPURIOUS_VECTOR 0xff
#define GUARD_TICKS 4000000000ull /* TSC ticks before "never came" */
#define PIT_HZ 1193182u

static volatile u32 pit_ticks, uart_interrupts, uart_redirection_seen;

static u32 ioapic_read(u32 index)
{
    mmio_write32(IOAPIC_BASE, index);
    return mmio_read32(IOAPIC_BASE + 0x10);
}

static void ioapic_write(u32 index, u32 value)
{
    mmio_write32(IOAPIC_BASE, index);
    mmio_write32(IOAPIC_BASE + 0x10, value);
}

static u32 pci_read(u32 bus, u32 dev, u32 fn, u32 reg)
{
    outl(0xcf8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc));
    return inl(0xcfc);
}

static void check_pics(void)
{
    outb(0x20, 0x11); /* ICW1: edge, cascade, ICW4 */
    outb(0x21, 0x20); /* ICW2: vectors 0x20-0x27 */
    outb(0x21, 0x04); /* ICW3: slave on IRQ2 */
    outb(0x21, 0x01); /* ICW4: 8086 mode */
    outb(0xa0, 0x11);
    outb(0xa1, 0x28);
    outb(0xa1, 0x02);
    outb(0xa1, 0x01);
    outb(0x21, 0xfb); /* Linux's probe: all but the cascade */
    outb(0xa1, 0xff);
    CHECK(inb(0x21) == 0xfb && inb(0xa1) == 0xff, "8259: IMR reads back (0x%x, 0x%x)", inb(0x21), inb(0xa1));
    outb(0x20, 0x0b);
    u8 isr = inb(0x20);
    outb(0x20, 0x0a);
    CHECK(isr == 0, "8259: OCW3 reads ISR 0x%x and IRR 0x%x", isr, inb(0x20));
    outb(0x21, 0xff); /* masked, as a kernel with an I/O APIC leaves it */
    CHECK(inb(0x21) == 0xff, "8259: masked");
}

static void check_pci(void)
{
    outb(0xcfb, 0x01);
    outl(0xcf8, 0x80000000u);
    CHECK(inl(0xcf8) == 0x80000000u, "PCI: configuration mechanism #1 (CONFIG_ADDRESS reads back)");
    u32 id = pci_read(0, 0, 0, 0), class_rev = pci_read(0, 0, 0, 8);
    CHECK(id == 0x12378086u, "PCI: host bridge 8086:1237 at 00:00.0 (0x%x)", id);
    CHECK(class_rev >> 8 == 0x060000u, "PCI: 00:00.0 is class 06.00.00, a host bridge (0x%x)", class_rev);
    CHECK(pci_read(0, 1, 0, 0) == 0xffffffffu, "PCI: nothing at 00:01.0 (all ones)");
    outl(0xcf8, 0);
}

static u32 pm_timer_port;

static u32 pm_timer(void) { return inl((u16)pm_timer_port) & 0xffffffu; }

/* TSC ticks per second from CPUID 0x15 (crystal * EBX / EAX), 0 if not enumerated. */
static u64 cpuid_tsc_hz(void)
{
    if (cpuid(0, 0).eax < 0x15) return 0;
    struct cpuid_regs r = cpuid(0x15, 0);
    if (!r.eax || !r.ebx || !r.ecx) return 0;
    return (u64)r.ecx * r.ebx / r.eax;
}

static int within_percent(u64 value, u64 reference, u32 percent)
{
    u64 diff = value > reference ? value - reference : reference - value;
    return diff * 100 <= reference * percent;
}

static void check_pm_timer(const u8 *fadt, u64 tsc_hz)
{
    pm_timer_port = *(const u32 *)(fadt + 76);
    CHECK(pm_timer_port == 0x608, "ACPI: FADT PM_TMR_BLK at 0x%x", pm_timer_port);
    u32 p0 = pm_timer();
    u64 t0 = rdtsc();
    while (rdtsc() - t0 < tsc_hz / 100) pause(); /* 10 ms */
    u32 p1 = pm_timer();
    u64 t1 = rdtsc();
    u64 pm = (p1 - p0) & 0xffffffu;
    u64 expected = (t1 - t0) * 3579545ull / tsc_hz;
    CHECK(within_percent(pm, expected, 5), "ACPI PM timer: %llu ticks in %llu TSC ticks (%llu expected at 3.579545 MHz)",
          pm, t1 - t0, expected);
}

/* Linux's pit_calibrate_tsc(): counter 2 in mode 0 counts `latch` ticks; OUT2 (port 0x61 bit 5)
 * rises at the end. */
static u64 pit_calibrated_tsc_hz(u32 ms)
{
    u32 latch = PIT_HZ / (1000 / ms);
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);
    outb(0x43, 0xb0);
    outb(0x42, latch & 0xff);
    outb(0x42, latch >> 8);
    u64 t0 = rdtsc(), t1 = t0;
    while (!(inb(0x61) & 0x20)) {
        t1 = rdtsc();
        if (t1 - t0 > GUARD_TICKS) return 0;
    }
    outb(0x61, inb(0x61) & ~0x01);
    return (t1 - t0) * 1000 / ms;
}

static void pit_handler(struct frame *f)
{
    (void)f;
    pit_ticks++;
    lapic_write(LAPIC_EOI, 0);
}

static void uart_handler(struct frame *f)
{
    (void)f;
    if (++uart_interrupts == 1) uart_redirection_seen = ioapic_read(0x10 + 2 * 4);
    if (uart_interrupts >= 3) inb(COM1 + 2); /* IIR: clears THR empty, the line falls */
    lapic_write(LAPIC_EOI, 0);
}

static void spurious_handler(struct frame *f) { (void)f; }

static void check_ioapic(void)
{
    const u8 *madt = acpi_find_table("APIC");
    ASSERT(madt);
    u32 address = 0, pit_gsi = 0;
    for (u32 e = 44; e + 2 <= *(const u32 *)(madt + 4) && madt[e + 1] >= 2; e += madt[e + 1]) {
        if (madt[e] == 1) address = *(const u32 *)(madt + e + 4);
        if (madt[e] == 2 && madt[e + 3] == 0) pit_gsi = *(const u32 *)(madt + e + 4);
    }
    CHECK(address == IOAPIC_BASE, "MADT: I/O APIC at 0x%x", address);
    CHECK(pit_gsi == 2, "MADT: ISA IRQ 0 overridden to GSI %u", pit_gsi);
    u32 version = ioapic_read(1);
    CHECK(version == 0x00170011u, "I/O APIC: version 0x%x (0x11, 24 redirection entries)", version);

    set_handler(PIT_VECTOR, pit_handler);
    set_handler(UART_VECTOR, uart_handler);
    set_handler(SPURIOUS_VECTOR, spurious_handler);
    lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
    u32 me = lapic_id();

    /* PIT counter 0, mode 2, 100 Hz, through pin 2: edge, active high, fixed, physical. */
    ioapic_write(0x11 + 2 * pit_gsi, me << 24);
    ioapic_write(0x10 + 2 * pit_gsi, PIT_VECTOR);
    u32 divisor = PIT_HZ / 100;
    outb(0x43, 0x34);
    outb(0x40, divisor & 0xff);
    outb(0x40, divisor >> 8);
    sti();
    int came = wait_for(&pit_ticks, 5, GUARD_TICKS);
    cli();
    if (!came) fail(EXIT_TIMEOUT, "PIT interrupts through I/O APIC pin 2 never came (%u)", pit_ticks);
    CHECK(pit_ticks >= 5, "I/O APIC: PIT counter 0 interrupts arrive on vector 0x%x (%u)", PIT_VECTOR, pit_ticks);
    for (int i = 0; i < 3; ++i) sti_hlt(); /* HLT wakes with them too */
    cli();
    CHECK(1, "I/O APIC: HLT wakes with the PIT interrupt");
    ioapic_write(0x10 + 2 * pit_gsi, 0x10000 | PIT_VECTOR);
    u32 before = pit_ticks;
    sti();
    for (u64 t = rdtsc(); rdtsc() - t < cpuid_tsc_hz() / 20;) pause(); /* 5 periods */
    cli();
    CHECK(pit_ticks <= before + 1, "I/O APIC: masking pin 2 stops them (%u more)", pit_ticks - before);
    outb(0x43, 0x30); /* counter 0 back to mode 0, no count: quiet */

    /* Level-triggered: the UART's THR-empty interrupt on pin 4. The handler EOIs without
     * serving it twice (the pin is still asserted: it comes again), then reads IIR. */
    uart_flush();
    ioapic_write(0x11 + 2 * 4, me << 24);
    ioapic_write(0x10 + 2 * 4, (1u << 15) | UART_VECTOR);
    outb(COM1 + 4, 0x0b); /* MCR: DTR, RTS, OUT2 (the IRQ line driver) */
    outb(COM1 + 1, 0x02); /* IER: THR empty */
    sti();
    wait_for(&uart_interrupts, 3, GUARD_TICKS / 4);
    for (u64 t = rdtsc(); rdtsc() - t < cpuid_tsc_hz() / 100;) pause();
    cli();
    outb(COM1 + 1, 0x00);
    outb(COM1 + 4, 0x03);
    u32 redirection = ioapic_read(0x10 + 2 * 4);
    ioapic_write(0x10 + 2 * 4, 0x10000 | UART_VECTOR);
    CHECK(uart_interrupts == 3, "I/O APIC: level-triggered UART interrupt delivered again after each EOI while asserted (%u)",
          uart_interrupts);
    CHECK(uart_redirection_seen & (1u << 14), "I/O APIC: Remote IRR set while the level interrupt is in service (0x%x)",
          uart_redirection_seen);
    CHECK(!(redirection & (1u << 14)), "I/O APIC: Remote IRR clear after the last EOI (0x%x)", redirection);
}

/* \_S5's first value: `NameOp "_S5_" PackageOp PkgLength NumElements (BytePrefix n | Zero | One)`. */
static int s5_sleep_type(const u8 *dsdt)
{
    u32 len = *(const u32 *)(dsdt + 4);
    for (u32 i = 36; i + 9 <= len; ++i) {
        if (memcmp(dsdt + i, "_S5_", 4) || dsdt[i + 4] != 0x12) continue;
        u8 op = dsdt[i + 7];
        return op == 0x0a ? dsdt[i + 8] : op <= 1 ? op : -1;
    }
    return -1;
}

int main(void)
{
    check_pics();
    check_pci();
    u64 tsc_hz = cpuid_tsc_hz();
    if (!tsc_hz) fail(EXIT_ASSERT, "CPUID 0x15 does not enumerate the TSC frequency");
    CHECK(1, "CPUID 0x15: TSC %llu kHz", tsc_hz / 1000);
    const u8 *fadt = acpi_find_table("FACP");
    if (!fadt) fail(EXIT_ASSERT, "no FADT");
    check_pm_timer(fadt, tsc_hz);
    u64 pit_hz = pit_calibrated_tsc_hz(10);
    CHECK(within_percent(pit_hz, tsc_hz, 5), "PIT counter 2 calibration: TSC %llu kHz (CPUID: %llu kHz)", pit_hz / 1000,
          tsc_hz / 1000);
    check_ioapic();

    const u8 *dsdt = (const u8 *)(uintptr_t)*(const u32 *)(fadt + 40);
    int s5 = s5_sleep_type(dsdt);
    u32 pm1a_cnt = *(const u32 *)(fadt + 64);
    CHECK(s5 >= 0 && pm1a_cnt, "ACPI: \\_S5 sleep type %d, PM1a_CNT at 0x%x", s5, pm1a_cnt);
    if (checks_failed) finish();
    printf("PASS %s\n", test_name);
    uart_flush();
    outw((u16)pm1a_cnt, (u16)((inw((u16)pm1a_cnt) & ~(7u << 10)) | (u32)s5 << 10 | 1u << 13));
    fail(EXIT_FAIL, "still running after SLP_EN with \\_S5");
}
