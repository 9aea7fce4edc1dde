/* COM1 console (polled 16550), printf, exit through the debug-exit port, and the check lines. */
#include "guest.h"

#define UART_LSR_THRE 0x20

/* 115200 8N1, FIFOs on, no interrupts, DTR+RTS: what a driver sets before the first byte. Bochs
 * honours the word length, and its BIOS leaves LCR at 0 (5 data bits). */
void uart_init(void)
{
    outb(COM1 + 1, 0x00); /* IER */
    outb(COM1 + 3, 0x80); /* LCR: DLAB */
    outb(COM1 + 0, 0x01); /* DLL: divisor 1 */
    outb(COM1 + 1, 0x00); /* DLM */
    outb(COM1 + 3, 0x03); /* LCR: 8N1 */
    outb(COM1 + 2, 0x07); /* FCR: enable and clear the FIFOs */
    outb(COM1 + 4, 0x03); /* MCR: DTR, RTS */
}

void uart_putc(char c)
{
    /* Wait for THR empty, bounded: a UART that never says so must not hang the test silently. */
    for (u32 i = 0; i < 1000000 && !(inb(COM1 + 5) & UART_LSR_THRE); ++i) pause();
    outb(COM1, (u8)c);
}

void uart_flush(void)
{
    for (u32 i = 0; i < 1000000 && !(inb(COM1 + 5) & 0x40); ++i) pause();
}

void uart_puts(const char *s)
{
    while (*s) uart_putc(*s++);
}

/* ---- formatter ---------------------------------------------------------------------------- */
struct sink {
    char *buf;   /* NULL: the UART */
    size_t size, pos;
};

static void emit(struct sink *s, char c)
{
    if (!s->buf) uart_putc(c);
    else if (s->pos + 1 < s->size) s->buf[s->pos] = c;
    ++s->pos;
}

static void emit_padded(struct sink *s, const char *text, size_t len, int width, int left, char pad,
                        int sign_first)
{
    size_t i = 0;
    /* With zero padding the sign (or 0x) goes before the zeros. */
    if (pad == '0' && sign_first && len > 0) {
        emit(s, text[0]);
        ++i;
    }
    int fill = width > (int)len ? width - (int)len : 0;
    if (!left)
        while (fill-- > 0) emit(s, pad);
    for (; i < len; ++i) emit(s, text[i]);
    if (left)
        while (fill-- > 0) emit(s, ' ');
}

static size_t utoa64(u64 v, unsigned base, int upper, char *out)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    size_t n = 0;
    do {
        u32 rem;
        v = udiv64(v, base, &rem);
        tmp[n++] = digits[rem];
    } while (v);
    for (size_t i = 0; i < n; ++i) out[i] = tmp[n - 1 - i];
    return n;
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
    for (; *fmt; ++fmt) {
        if (*fmt != '%') {
            emit(s, *fmt);
            continue;
        }
        ++fmt;
        int left = 0, width = 0, longs = 0;
        char pad = ' ';
        for (;; ++fmt) {
            if (*fmt == '-') left = 1;
            else if (*fmt == '0') pad = '0';
            else break;
        }
        if (*fmt == '*') {
            width = va_arg(ap, int);
            ++fmt;
        }
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'h' || *fmt == 'z') {
            if (*fmt == 'l') ++longs;
            ++fmt;
        }
        char buf[26];
        size_t len = 0;
        switch (*fmt) {
        case 'd':
        case 'i': {
            s64 v = longs >= 2 ? va_arg(ap, s64) : va_arg(ap, s32);
            u64 mag = v < 0 ? (u64)0 - (u64)v : (u64)v;
            if (v < 0) buf[len++] = '-';
            len += utoa64(mag, 10, 0, buf + len);
            emit_padded(s, buf, len, width, left, pad, v < 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            u64 v = longs >= 2 ? va_arg(ap, u64) : va_arg(ap, u32);
            len = utoa64(v, *fmt == 'u' ? 10 : 16, *fmt == 'X', buf);
            emit_padded(s, buf, len, width, left, pad, 0);
            break;
        }
        case 'p': {
            u32 v = (u32)(uintptr_t)va_arg(ap, void *);
            buf[0] = '0';
            buf[1] = 'x';
            len = 2;
            for (int shift = 28; shift >= 0; shift -= 4) buf[len++] = "0123456789abcdef"[(v >> shift) & 15];
            emit_padded(s, buf, len, width, left, ' ', 0);
            break;
        }
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str) str = "(null)";
            emit_padded(s, str, strlen(str), width, left, ' ', 0);
            break;
        }
        case 'c':
            buf[0] = (char)va_arg(ap, int);
            emit_padded(s, buf, 1, width, left, ' ', 0);
            break;
        case '%':
            emit(s, '%');
            break;
        case '\0':
            return;
        default: /* unknown conversion: print it as written */
            emit(s, '%');
            emit(s, *fmt);
        }
    }
}

int vprintf(const char *fmt, va_list ap)
{
    struct sink s = {0, 0, 0};
    format(&s, fmt, ap);
    return (int)s.pos;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct sink s = {buf, size, 0};
    format(&s, fmt, ap);
    if (size) buf[s.pos < size ? s.pos : size - 1] = '\0';
    return (int)s.pos;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

/* ---- exit ----------------------------------------------------------------------------------- */
void exit(int code)
{
    cli();
    uart_flush();
    /* isa-debug-exit (QEMU, Matryoshka): the VM ends here. */
    outb(0xf4, (u8)code);
    /* Still running: no debug-exit device. Bochs's shutdown port ends a native Bochs run
     * (Bochs has no debug-exit; the verdict is the PASS/FAIL line). */
    for (const char *p = "Shutdown"; *p; ++p) outb(0x8900, (u8)*p);
    for (;;) __asm__ volatile("cli; hlt");
}

/* ---- checks ------------------------------------------------------------------------------------ */
int checks_failed;
static char first_failure[120];

static void remember_failure(const char *fmt, va_list ap, const char *file, int line)
{
    if (checks_failed++) return;
    int n = vsnprintf(first_failure, sizeof first_failure, fmt, ap);
    if (n < (int)sizeof first_failure)
        snprintf(first_failure + n, sizeof first_failure - n, " (%s:%d)", file, line);
}

int check_at(int ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    uart_puts(ok ? "ok " : "not ok ");
    vprintf(fmt, ap);
    va_end(ap);
    if (!ok) {
        printf(" (%s:%d)", file, line);
        va_start(ap, fmt);
        remember_failure(fmt, ap, file, line);
        va_end(ap);
    }
    uart_putc('\n');
    return ok;
}

int check_hv_at(int ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (ok || under_matryoshka()) {
        char text[160];
        vsnprintf(text, sizeof text, fmt, ap);
        check_at(ok, file, line, "%s", text);
    } else {
        uart_puts("SKIP ");
        vprintf(fmt, ap);
        uart_puts(" (not under Matryoshka)\n");
    }
    va_end(ap);
    return ok;
}

void fail_at(int code, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s: %s:%d: ", test_name, file, line);
    vprintf(fmt, ap);
    va_end(ap);
    uart_putc('\n');
    exit(code);
}

void fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL %s: ", test_name);
    vprintf(fmt, ap);
    va_end(ap);
    uart_putc('\n');
    exit(code);
}

void skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    uart_puts("SKIP ");
    vprintf(fmt, ap);
    va_end(ap);
    uart_putc('\n');
}

void skip_native(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    uart_puts("SKIP ");
    vprintf(fmt, ap);
    va_end(ap);
    uart_puts(" (not under Matryoshka)\n");
}

void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    uart_puts("  ");
    vprintf(fmt, ap);
    va_end(ap);
    uart_putc('\n');
}

void finish(void)
{
    if (!checks_failed) {
        printf("PASS %s\n", test_name);
        exit(EXIT_PASS);
    }
    if (checks_failed > 1) printf("FAIL %s: %s and %d more\n", test_name, first_failure, checks_failed - 1);
    else printf("FAIL %s: %s\n", test_name, first_failure);
    exit(EXIT_FAIL);
}
