/* io_uart: port I/O as a driver sees it. The COM1 16550 probed like a driver does: scratch
 * register, LCR, the divisor latch behind LCR.DLAB (and that DLM is not IER), IER, IIR with no
 * interrupt pending, FIFO enable (soft), MCR, LSR.THRE/TEMT, and loopback through MCR bit 4
 * (soft: "SKIP" when the UART does not loop back). Then port 0xE9 output, an unclaimed port
 * (0x2F0: reads all ones, ignores writes), and string I/O: rep outsb of a line to the UART
 * forwards and backwards (DF=1), rep insb/insw from the unclaimed port fill all ones.
 * The console must show the lines "rep outsb to the UART works", "rep outsb backwards works"
 * and "port 0xe9 works" (the integration test checks them). */
#include "guest.h"

TEST("io_uart");

enum { THR = 0, RBR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };
#define UNCLAIMED 0x2f0

static u8 uart_in(u16 reg) { return inb(COM1 + reg); }
static void uart_out(u16 reg, u8 v) { outb(COM1 + reg, v); }

static int wait_lsr(u8 bits)
{
    for (u32 i = 0; i < 1000000; ++i) {
        if ((uart_in(LSR) & bits) == bits) return 1;
        pause();
    }
    return 0;
}

static void loopback(void)
{
    /* Nothing may be printed while the UART loops back: collect, then report. */
    u8 mcr = uart_in(MCR);
    wait_lsr(0x60);
    while (uart_in(LSR) & 1) uart_in(RBR); /* drain */
    uart_out(MCR, 0x1f);                    /* loop + OUT2 + OUT1 + RTS + DTR */
    u8 msr_all = uart_in(MSR);
    uart_out(MCR, 0x10);
    u8 msr_none = uart_in(MSR);
    uart_out(THR, 'Z');
    u32 i = 0;
    while (!(uart_in(LSR) & 1) && i++ < 100000) pause();
    u8 lsr = uart_in(LSR);
    u8 got = uart_in(RBR);
    u8 lsr_after = uart_in(LSR);
    uart_out(MCR, mcr);
    if (!(lsr & 1)) {
        skip("loopback (MCR bit 4): no byte came back (LSR 0x%02x); not implemented?", lsr);
        return;
    }
    CHECK(got == 'Z', "loopback: the byte written to THR reads back from RBR ('%c')", got >= 0x20 && got < 0x7f ? got : '?');
    CHECK(!(lsr_after & 1), "loopback: LSR.DR clear after reading RBR (LSR 0x%02x)", lsr_after);
    CHECK((msr_all & 0xf0) == 0xf0 && (msr_none & 0xf0) == 0,
          "loopback: MSR DCD/RI/DSR/CTS follow MCR OUT2/OUT1/DTR/RTS (0x%02x, 0x%02x)", msr_all, msr_none);
}

static void outsb(u16 port, const char *s, u32 n, int backwards)
{
    if (backwards) __asm__ volatile("std; rep outsb; cld" : "+S"(s), "+c"(n) : "d"(port) : "memory");
    else __asm__ volatile("rep outsb" : "+S"(s), "+c"(n) : "d"(port) : "memory");
}

int main(void)
{
    /* Scratch register: any value sticks. */
    uart_out(SCR, 0x5a);
    u8 a = uart_in(SCR);
    uart_out(SCR, 0xa5);
    u8 b = uart_in(SCR);
    CHECK(a == 0x5a && b == 0xa5, "scratch register holds 0x5a and 0xa5 (0x%02x 0x%02x)", a, b);

    u8 lcr = uart_in(LCR);
    uart_out(LCR, 0x1b); /* 8 bits, even parity, 1 stop */
    u8 lcr_b = uart_in(LCR);
    uart_out(LCR, 0x03);
    u8 lcr_3 = uart_in(LCR);
    CHECK(lcr_b == 0x1b && lcr_3 == 0x03, "LCR reads back 0x1b and 0x03 (0x%02x 0x%02x; was 0x%02x)", lcr_b, lcr_3, lcr);

    /* Divisor latch (DLAB = LCR bit 7); nothing is printed while DLAB is set. */
    uart_out(IER, 0);
    uart_out(LCR, 0x83);
    u8 old_dll = uart_in(DLL), old_dlm = uart_in(DLM);
    uart_out(DLL, 0x34);
    uart_out(DLM, 0x12);
    u8 dll = uart_in(DLL), dlm = uart_in(DLM);
    uart_out(LCR, 0x03);
    u8 ier = uart_in(IER);
    u8 scr = uart_in(SCR);
    uart_out(LCR, 0x83);
    u8 dll2 = uart_in(DLL), dlm2 = uart_in(DLM);
    uart_out(DLL, 0x01); /* 115200 baud */
    uart_out(DLM, 0x00);
    uart_out(LCR, 0x03);
    note("divisor latch was 0x%02x%02x", old_dlm, old_dll);
    CHECK(dll == 0x34 && dlm == 0x12, "divisor latch 0x1234 reads back (DLM 0x%02x DLL 0x%02x)", dlm, dll);
    CHECK(ier == 0, "IER still 0 after writing DLM 0x12 (IER 0x%02x)", ier);
    CHECK(scr == 0xa5, "scratch register unchanged by DLAB (0x%02x)", scr);
    CHECK(dll2 == 0x34 && dlm2 == 0x12, "divisor latch kept while DLAB was off (0x%02x%02x)", dlm2, dll2);
    CHECK(uart_in(LCR) == 0x03, "LCR back to 0x03 (8N1, DLAB off)");

    uart_out(IER, 0x0f);
    u8 ier_f = uart_in(IER);
    uart_out(IER, 0x00);
    u8 ier_0 = uart_in(IER);
    CHECK(ier_f == 0x0f && ier_0 == 0, "IER reads back 0x0f and 0x00 (0x%02x 0x%02x)", ier_f, ier_0);

    u8 iir = uart_in(IIR);
    CHECK(iir & 1, "IIR bit 0 set: no interrupt pending with IER 0 (IIR 0x%02x)", iir);
    uart_out(FCR, 0x07); /* enable and clear both FIFOs */
    iir = uart_in(IIR);
    if ((iir & 0xc0) == 0xc0) CHECK(1, "FIFOs enabled: IIR bits 7:6 = 11 (16550A)");
    else skip("FIFO enable: IIR 0x%02x after FCR 0x07 (no 16550A FIFO)", iir);

    u8 mcr = uart_in(MCR);
    uart_out(MCR, 0x0b);
    u8 mcr_b = uart_in(MCR);
    uart_out(MCR, 0x03);
    u8 mcr_3 = uart_in(MCR);
    CHECK(mcr_b == 0x0b && mcr_3 == 0x03, "MCR reads back 0x0b and 0x03 (0x%02x 0x%02x; was 0x%02x)", mcr_b, mcr_3, mcr);

    CHECK(wait_lsr(0x60), "LSR: THRE and TEMT set when idle (LSR 0x%02x)", uart_in(LSR));
    CHECK(!(uart_in(LSR) & 1), "LSR.DR clear: no input");

    loopback();

    /* Port 0xE9: the hypervisor's (and Bochs's/QEMU's -debugcon) debug console. */
    for (const char *p = "io_uart: port 0xe9 works\n"; *p; ++p) outb(0xe9, (u8)*p);
    note("wrote \"io_uart: port 0xe9 works\" to port 0xe9");

    /* An unclaimed port: reads all ones, writes vanish. */
    u8 u1 = inb(UNCLAIMED);
    outb(UNCLAIMED, 0x5a);
    u8 u2 = inb(UNCLAIMED);
    u16 uw = inw(UNCLAIMED);
    u32 ul = inl(UNCLAIMED);
    CHECK(u1 == 0xff && u2 == 0xff, "unclaimed port 0x2f0 reads 0xff before and after a write (0x%02x 0x%02x)", u1, u2);
    CHECK(uw == 0xffff && ul == 0xffffffff, "unclaimed port 0x2f0: inw 0x%04x, inl 0x%08x", uw, ul);

    /* String I/O: the UART gets whole strings without LSR polling (an emulated UART never drops). */
    static const char forward[] = "rep outsb to the UART works\n";
    wait_lsr(0x60);
    outsb(COM1, forward, sizeof forward - 1, 0);
    static const char backward[] = "\nskrow sdrawkcab bstuo per";
    wait_lsr(0x60);
    outsb(COM1, backward + sizeof backward - 2, sizeof backward - 1, 1);
    wait_lsr(0x60);
    note("wrote \"rep outsb to the UART works\" and \"rep outsb backwards works\" with rep outsb");

    u8 buf[20];
    memset(buf, 0, sizeof buf);
    u8 *d = buf + 2;
    u32 n = 16;
    __asm__ volatile("rep insb" : "+D"(d), "+c"(n) : "d"(UNCLAIMED) : "memory");
    int all = 1;
    for (int i = 2; i < 18; ++i) all &= buf[i] == 0xff;
    CHECK(all && !buf[0] && !buf[1] && !buf[18] && !buf[19] && d == buf + 18 && n == 0,
          "rep insb x16 from port 0x2f0 fills exactly 16 bytes with 0xff");

    memset(buf, 0, sizeof buf);
    d = buf + 17;
    n = 16;
    __asm__ volatile("std; rep insb; cld" : "+D"(d), "+c"(n) : "d"(UNCLAIMED) : "memory");
    all = 1;
    for (int i = 2; i < 18; ++i) all &= buf[i] == 0xff;
    CHECK(all && !buf[1] && !buf[18] && d == buf + 1, "rep insb backwards (DF=1) fills buf[17..2] with 0xff");

    u16 words[6] = {0, 0, 0, 0, 0, 0};
    u16 *w = words + 1;
    n = 4;
    __asm__ volatile("rep insw" : "+D"(w), "+c"(n) : "d"(UNCLAIMED) : "memory");
    CHECK(!words[0] && words[1] == 0xffff && words[4] == 0xffff && !words[5] && w == words + 5,
          "rep insw x4 from port 0x2f0 fills 4 words with 0xffff");
    finish();
}
