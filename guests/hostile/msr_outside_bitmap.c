/* hostile msr_outside_bitmap: MSR indices the VMX MSR bitmap cannot describe (it covers only
 * 0-0x1FFF and 0xC0000000-0xC0001FFF: SDM Vol. 3C 25.6.9, every other index exits
 * unconditionally), and indices that alias a passed-through MSR modulo 0x2000 (0x100 and 0x101
 * against IA32_FS_BASE 0xC0000100 and IA32_GS_BASE 0xC0000101; 0x40000100, 0x80000100).
 * hardware: MSRs that do not exist raise #GP(0) on RDMSR and WRMSR (SDM Vol. 2B); the
 * aliases stay separate: writing one changes neither FS_BASE nor GS_BASE, and the real
 * FS_BASE/GS_BASE round-trip.
 * expect: contained
 */
#include "guest.h"

TEST("msr_outside_bitmap");

#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101

int main(void)
{
    const u32 outside[] = {0x2000, 0x3fff, 0x4000, 0x10000, 0x40000000, 0x40000100, 0x40000101, 0x80000100,
                           0xbfffe100, 0xc0002000, 0xc0002100, 0xc0003fff, 0xc0100100, 0xfffff100, 0xffffffff,
                           0x100, 0x101, 0x1100, 0x1101};
    u64 fs = rdmsr(MSR_FS_BASE), gs = rdmsr(MSR_GS_BASE);
    for (u32 i = 0; i < ARRAY_SIZE(outside); ++i) {
        u64 v = 0;
        int r = rdmsr_fault(outside[i], &v);
        int w = wrmsr_fault(outside[i], 0x12345000);
        CHECK(r == 13 + 1 && w == 13 + 1, "MSR 0x%x: RDMSR %s, WRMSR %s (expected #GP, #GP)", outside[i],
              r ? vector_name(r - 1) : "read", w ? vector_name(w - 1) : "accepted");
    }
    CHECK(rdmsr(MSR_FS_BASE) == fs && rdmsr(MSR_GS_BASE) == gs, "IA32_FS_BASE/GS_BASE unchanged by the aliases");
    wrmsr(MSR_FS_BASE, 0x0000123456789000ull);
    wrmsr(MSR_GS_BASE, 0xffff876543210000ull);
    u64 v = 0;
    CHECK(rdmsr(MSR_FS_BASE) == 0x0000123456789000ull && rdmsr(MSR_GS_BASE) == 0xffff876543210000ull,
          "IA32_FS_BASE/GS_BASE (passed through) round-trip");
    CHECK(rdmsr_fault(0x100, &v) == 13 + 1, "0x100 still raises #GP after FS_BASE changed");
    wrmsr(MSR_FS_BASE, fs);
    wrmsr(MSR_GS_BASE, gs);
    finish();
}
