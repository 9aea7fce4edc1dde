/* console_flood: more console output than the hypervisor queues for its UART. Prints lines=N
 * (default 400) numbered lines of 100 bytes, "flood NAME line IIII " and a fixed run of letters
 * (name=NAME, default "flood"), then PASS. Two of these at once send ~80 KiB through the
 * hypervisor's 64 KiB serial queue: each waits for room in its share (polling LSR), and the
 * integration test checks that every line arrives whole, once and in order.
 * raw=1 writes the lines to THR with REP OUTSB without looking at LSR, as a careless driver
 * does: what the UART cannot take while busy is lost (the PASS line, polled, still arrives).
 * pause=N first waits N million TSC ticks (a VM that starts printing once a flood has filled
 * the queue).
 * irq=1 writes them as Linux's 8250 driver does: 16 bytes per THR-empty interrupt (I/O APIC
 * pin 4, level), halting in between; nothing may be lost. */
#include "guest.h"

TEST("console_flood");

#define LINE_BYTES 100
#define MAX_LINES 1000
#define IOAPIC_BASE 0xfec00000u
#define UART_VECTOR 0x51
#define SPURIOUS_VECTOR 0xff

static char text[MAX_LINES * LINE_BYTES];
static u32 text_length, text_sent;
static volatile int text_done;

static void ioapic_write(u32 index, u32 value)
{
    mmio_write32(IOAPIC_BASE, index);
    mmio_write32(IOAPIC_BASE + 0x10, value);
}

/* A FIFO's worth per interrupt, without looking at LSR: THR empty means 16 bytes fit. */
static void thr_empty(struct frame *f)
{
    (void)f;
    if ((inb(COM1 + 2) & 0x0f) == 0x02) { /* IIR: THR empty; reading it clears it */
        for (int i = 0; i < 16 && text_sent < text_length; ++i) outb(COM1, (u8)text[text_sent++]);
        if (text_sent == text_length) {
            outb(COM1 + 1, 0x00); /* IER */
            text_done = 1;
        }
    }
    lapic_write(LAPIC_EOI, 0);
}

static void spurious(struct frame *f) { (void)f; }

static void send_by_interrupts(void)
{
    set_handler(UART_VECTOR, thr_empty);
    set_handler(SPURIOUS_VECTOR, spurious);
    lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
    ioapic_write(0x11 + 2 * 4, lapic_id() << 24);
    ioapic_write(0x10 + 2 * 4, (1u << 15) | UART_VECTOR); /* level, active high, fixed */
    outb(COM1 + 4, 0x0b);                                  /* MCR: DTR, RTS, OUT2 */
    outb(COM1 + 1, 0x02);                                  /* IER: THR empty */
    while (!text_done) sti_hlt();
    cli();
    ioapic_write(0x10 + 2 * 4, 0x10000 | UART_VECTOR);
    outb(COM1 + 4, 0x03);
}

int main(void)
{
    char given[16];
    const char *name = cmdline_get("name", given, sizeof given) ? given : "flood";
    u32 lines = (u32)cmdline_number("lines", 400);
    /* "flood NAME line IIII " + letters + '\n' = LINE_BYTES */
    char letters[LINE_BYTES];
    int letter_count = LINE_BYTES - (int)(sizeof "flood  line 0000 " - 1 + strlen(name)) - 1;
    if (letter_count < 1) fail(EXIT_ASSERT, "name=%s is too long", name);
    for (int i = 0; i < letter_count; ++i) letters[i] = (char)('a' + i % 26);
    letters[letter_count] = 0;
    u64 pause_ticks = cmdline_number("pause", 0) * 1000000;
    for (u64 t = rdtsc(); rdtsc() - t < pause_ticks;) pause();
    u64 start = rdtsc();
    int raw = (int)cmdline_number("raw", 0), irq = (int)cmdline_number("irq", 0);
    if (irq && lines > MAX_LINES) fail(EXIT_ASSERT, "irq=1 sends at most %u lines", MAX_LINES);
    for (u32 i = 0; i < lines; ++i) {
        if (!raw && !irq) {
            printf("flood %s line %04u %s\n", name, i, letters);
            continue;
        }
        char line[LINE_BYTES + 1];
        int length = snprintf(line, sizeof line, "flood %s line %04u %s\n", name, i, letters);
        if (irq) {
            memcpy(text + text_length, line, (size_t)length);
            text_length += (u32)length;
            continue;
        }
        const char *p = line;
        __asm__ volatile("rep outsb" : "+S"(p), "+c"(length) : "d"(COM1) : "memory");
    }
    if (irq) send_by_interrupts();
    /* A figure for comparisons, not a check: how long the writes kept this VM. */
    note("%u lines of %u bytes in %u M TSC ticks", lines, LINE_BYTES, (u32)((rdtsc() - start) / 1000000));
    finish();
}
