/* The few C library functions the guests (and GCC's own code generation) need, and 64-bit
 * division helpers so that no libgcc is needed in 32-bit code. */
#include "guest.h"

void *memset(void *d, int c, size_t n)
{
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    void *ret = d;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *x = a, *y = b;
    for (size_t i = 0; i < n; ++i)
        if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n]) ++n;
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; ++i) {
        if (a[i] != b[i]) return (u8)a[i] < (u8)b[i] ? -1 : 1;
        if (!a[i]) return 0;
    }
    return 0;
}

int strcmp(const char *a, const char *b) { return strncmp(a, b, (size_t)-1); }

u64 parse_number(const char *s, const char **end)
{
    u64 v = 0;
    const char *p = s;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        const char *digits = p + 2;
        for (p = digits;; ++p) {
            int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
                  : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;
            if (d < 0) break;
            v = v << 4 | (u64)d;
        }
        if (p == digits) p = s;
    } else {
        while (*p >= '0' && *p <= '9') v = v * 10 + (u64)(*p++ - '0');
    }
    if (p != s) {
        if (*p == 'K' || *p == 'k') v <<= 10, ++p;
        else if (*p == 'M' || *p == 'm') v <<= 20, ++p;
        else if (*p == 'G' || *p == 'g') v <<= 30, ++p;
    }
    if (end) *end = p;
    return v;
}

u64 udiv64(u64 n, u32 d, u32 *rem)
{
    u32 hi = (u32)(n >> 32), lo = (u32)n;
    u32 qhi = hi / d, qlo, r;
    hi %= d;
    /* hi < d, so the 64-by-32 DIV cannot overflow. */
    __asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(hi), "rm"(d));
    if (rem) *rem = r;
    return (u64)qhi << 32 | qlo;
}

/* GCC calls these for u64 / and % in 32-bit code; shift-and-subtract is enough here. */
static u64 udivmod64(u64 n, u64 d, u64 *rem)
{
    if (d >> 32 == 0) {
        u32 r;
        u64 q = udiv64(n, (u32)d, &r);
        if (rem) *rem = r;
        return q;
    }
    u64 q = 0, r = 0;
    for (int i = 63; i >= 0; --i) {
        r = r << 1 | (n >> i & 1);
        if (r >= d) {
            r -= d;
            q |= 1ull << i;
        }
    }
    if (rem) *rem = r;
    return q;
}

u64 __udivdi3(u64 n, u64 d);
u64 __umoddi3(u64 n, u64 d);
s64 __divdi3(s64 n, s64 d);
s64 __moddi3(s64 n, s64 d);
u64 __udivdi3(u64 n, u64 d) { return udivmod64(n, d, 0); }
u64 __umoddi3(u64 n, u64 d)
{
    u64 r;
    udivmod64(n, d, &r);
    return r;
}
s64 __divdi3(s64 n, s64 d)
{
    u64 q = udivmod64(n < 0 ? -(u64)n : (u64)n, d < 0 ? -(u64)d : (u64)d, 0);
    return (n < 0) != (d < 0) ? -(s64)q : (s64)q;
}
s64 __moddi3(s64 n, s64 d)
{
    u64 r;
    udivmod64(n < 0 ? -(u64)n : (u64)n, d < 0 ? -(u64)d : (u64)d, &r);
    return n < 0 ? -(s64)r : (s64)r;
}
