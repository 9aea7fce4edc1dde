/* hostile xsetbv_masks: XSETBV with CR4.OSXSAVE = 0, then with bad values: x87 (bit 0) clear,
 * AVX without SSE, a component CPUID.(EAX=0DH,ECX=0) does not report, bit 63, XCR index
 * (ECX) 1 and 0xFFFFFFFF; XGETBV of a bad index.
 * hardware: #UD while CR4.OSXSAVE = 0; #GP(0) for each bad value or index, XCR0 unchanged
 * (SDM Vol. 2D "XSETBV", "XGETBV"; Vol. 1 13.3 "Enabling the XSAVE Feature Set"); valid values
 * (x87|SSE, x87|SSE|AVX when reported) are accepted and read back with XGETBV.
 * expect: contained
 */
#include "guest.h"

TEST("xsetbv_masks");

static u32 xcr_index;
static u64 xcr_value;
static void do_xsetbv(void *p)
{
    (void)p;
    __asm__ volatile("xsetbv" : : "c"(xcr_index), "a"((u32)xcr_value), "d"((u32)(xcr_value >> 32)) : "memory");
}
static void do_xgetbv(void *p)
{
    (void)p;
    u32 lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(xcr_index));
    xcr_value = (u64)hi << 32 | lo;
}

static int xsetbv_fault(u32 index, u64 value)
{
    xcr_index = index;
    xcr_value = value;
    return try_call(do_xsetbv, 0) ? (int)last_fault.vector + 1 : 0;
}

static u64 xcr0(void)
{
    xcr_index = 0;
    try_call(do_xgetbv, 0);
    return xcr_value;
}

int main(void)
{
    if (!(cpuid(1, 0).ecx & CPUID1_ECX_XSAVE)) {
        CHECK(xsetbv_fault(0, 1) == 6 + 1, "XSETBV without XSAVE in CPUID raises #UD");
        finish();
    }
    u32 cr4 = read_cr4();
    int f = xsetbv_fault(0, 3);
    CHECK(f == 6 + 1, "XSETBV with CR4.OSXSAVE = 0 raises #UD (%s)", f ? vector_name(f - 1) : "no fault");
    write_cr4(cr4 | (1u << 18));
    struct cpuid_regs d = cpuid(0xd, 0);
    u64 supported = (u64)d.edx << 32 | d.eax;
    u64 start = xcr0();
    note("XCR0 0x%llx, CPUID.(EAX=0DH,ECX=0) supported 0x%llx", start, supported);
    CHECK(start & 1, "XCR0.x87 is 1");

    const struct {
        const char *what;
        u32 index;
        u64 value;
    } bad[] = {
        {"x87 clear (SSE only)", 0, 2},
        {"0 (x87 clear)", 0, 0},
        {"AVX without SSE", 0, 5},
        {"bit 63", 0, 3ull | 1ull << 63},
        {"every bit", 0, ~0ull},
        {"XCR1", 1, 3},
        {"XCR 0xFFFFFFFF", 0xffffffffu, 3},
    };
    for (u32 i = 0; i < ARRAY_SIZE(bad); ++i) {
        f = xsetbv_fault(bad[i].index, bad[i].value);
        CHECK(f == 13 + 1 && xcr0() == start, "XSETBV %s (ECX %u, 0x%llx) raises #GP, XCR0 unchanged (%s)", bad[i].what,
              bad[i].index, bad[i].value, f ? vector_name(f - 1) : "no fault");
    }
    for (u32 bit = 2; bit < 64; ++bit) {
        if (supported & (1ull << bit)) continue;
        f = xsetbv_fault(0, 3 | 1ull << bit);
        if (f != 13 + 1) CHECK(0, "XSETBV with unreported component %u: %s", bit, f ? vector_name(f - 1) : "accepted");
    }
    CHECK(xcr0() == start, "unreported components 2-63 each raise #GP");
    CHECK(!xsetbv_fault(0, 3) && xcr0() == 3, "XSETBV x87|SSE accepted, XGETBV reads 3");
    if (supported & 4) CHECK(!xsetbv_fault(0, 7) && xcr0() == 7, "XSETBV x87|SSE|AVX accepted, XGETBV reads 7");
    xcr_index = 2;
    f = try_call(do_xgetbv, 0) ? (int)last_fault.vector + 1 : 0;
    CHECK(f == 13 + 1, "XGETBV ECX = 2 raises #GP (%s)", f ? vector_name(f - 1) : "no fault");
    xsetbv_fault(0, start);
    write_cr4(cr4);
    finish();
}
