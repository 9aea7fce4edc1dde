/* hostile msr_canonical: the MSRs that hold linear addresses written with non-canonical values
 * (IA32_SYSENTER_ESP/EIP, IA32_LSTAR, IA32_CSTAR, IA32_KERNEL_GS_BASE, IA32_FS_BASE and
 * IA32_GS_BASE, the last two passed through to the processor), and the other SYSCALL/SYSENTER
 * MSRs with every bit set.
 * hardware: a non-canonical address raises #GP(0) and leaves the MSR unchanged (SDM Vol. 2B
 * WRMSR "Protected Mode Exceptions"; canonical means bits 63:47 equal, or 63:56 with LA57,
 * Vol. 1 3.3.7.1); canonical values, high half included, round-trip. IA32_STAR takes any value,
 * IA32_FMASK any 32-bit value (bits 63:32 reserved: #GP or dropped, never a host fault);
 * IA32_SYSENTER_CS keeps its low 32 bits (bits 15:0 the selector, 31:16 writable).
 * expect: contained
 */
#include "guest.h"

TEST("msr_canonical");

#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_FMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101

static const struct {
    const char *name;
    u32 msr;
} address_msrs[] = {
    {"IA32_SYSENTER_ESP", MSR_SYSENTER_ESP}, {"IA32_SYSENTER_EIP", MSR_SYSENTER_EIP}, {"IA32_LSTAR", MSR_LSTAR},
    {"IA32_CSTAR", MSR_CSTAR}, {"IA32_KERNEL_GS_BASE", MSR_KERNEL_GS_BASE}, {"IA32_FS_BASE", MSR_FS_BASE},
    {"IA32_GS_BASE", MSR_GS_BASE},
};

int main(void)
{
    int la57 = (cpuid(7, 0).ecx >> 16) & 1;
    u64 first_bad = la57 ? 1ull << 56 : 1ull << 47; /* lowest non-canonical address */
    u64 good_high = ~(first_bad - 1);               /* lowest canonical upper-half address */
    const u64 bad[] = {first_bad, first_bad | 0xfff, 0x8000000000000000ull, good_high - 0x1000, 0x00ff000000000000ull};
    for (u32 i = 0; i < ARRAY_SIZE(address_msrs); ++i) {
        u32 msr = address_msrs[i].msr;
        u64 saved = rdmsr(msr);
        for (u32 j = 0; j < ARRAY_SIZE(bad); ++j) {
            if (la57 && bad[j] == 0x00ff000000000000ull) continue; /* canonical with LA57 */
            int f = wrmsr_fault(msr, bad[j]);
            CHECK(f == 13 + 1, "%s = 0x%llx (non-canonical) raises #GP (%s)", address_msrs[i].name, bad[j],
                  f ? vector_name(f - 1) : "no fault");
        }
        CHECK(rdmsr(msr) == saved, "%s unchanged by the faulting writes", address_msrs[i].name);
        const u64 good[] = {good_high, ~0ull - 0xfff, first_bad - 1};
        for (u32 j = 0; j < ARRAY_SIZE(good); ++j) {
            int f = wrmsr_fault(msr, good[j]);
            u64 back = rdmsr(msr);
            CHECK(!f && back == good[j], "%s = 0x%llx (canonical) round-trips (0x%llx)", address_msrs[i].name, good[j],
                  back);
        }
        wrmsr(msr, saved);
    }
    u64 star = rdmsr(MSR_STAR);
    CHECK(!wrmsr_fault(MSR_STAR, ~0ull) && rdmsr(MSR_STAR) == ~0ull, "IA32_STAR = ~0 round-trips");
    wrmsr(MSR_STAR, star);
    u64 fmask = rdmsr(MSR_FMASK);
    CHECK(!wrmsr_fault(MSR_FMASK, 0xffffffffu) && rdmsr(MSR_FMASK) == 0xffffffffu, "IA32_FMASK = 0xffffffff round-trips");
    /* Bits 63:32 of IA32_FMASK are reserved: whether a CPU faults or drops them, the write must
     * not reach the host as a faulting WRMSR; the guest sees one of the two. */
    int f = wrmsr_fault(MSR_FMASK, ~0ull);
    u64 back = rdmsr(MSR_FMASK);
    CHECK(f == 13 + 1 ? back == fmask : (back == ~0ull || back == 0xffffffffu),
          "IA32_FMASK = ~0: %s, reads 0x%llx", f ? vector_name(f - 1) : "accepted", back);
    wrmsr(MSR_FMASK, fmask);
    u64 cs = rdmsr(MSR_SYSENTER_CS);
    CHECK(!wrmsr_fault(MSR_SYSENTER_CS, 0xffff0010u) && rdmsr(MSR_SYSENTER_CS) == 0xffff0010u,
          "IA32_SYSENTER_CS = 0xffff0010 round-trips");
    wrmsr(MSR_SYSENTER_CS, cs);
    /* The flat data segment's base is still 0: FS_BASE writes above did not leak into it. */
    u32 probe = 0x5a5a1234, got;
    __asm__ volatile("movw %%ds, %%ax; movw %%ax, %%fs; movl %%fs:(%1), %0" : "=r"(got) : "r"(&probe) : "eax", "memory");
    CHECK(got == probe, "FS-relative access after restoring IA32_FS_BASE reads the right memory");
    finish();
}
