/* hostile vmx_msrs: reads and writes every VMX capability MSR (IA32_VMX_BASIC 0x480 through
 * IA32_VMX_VMFUNC 0x491) and writes IA32_FEATURE_CONTROL every other way than
 * hostile_feature_control does (0, the value it reads, SENTER bits, bit 63).
 * hardware: with CPUID.1:ECX.VMX = 0 the VMX capability MSRs do not exist: RDMSR and WRMSR of
 * them raise #GP(0) (SDM Vol. 4 Table 2-2, "If CPUID.01H:ECX.[5] = 1"; the MSRs are read-only
 * even with VMX). IA32_FEATURE_CONTROL reads locked (bit 0) with VMX off (bits 1, 2 clear), and
 * once locked every WRMSR to it raises #GP(0) (SDM Vol. 3 24.7 "Enabling and Entering VMX
 * Operation"); it still reads the same afterwards.
 * expect: contained
 */
#include "guest.h"

TEST("vmx_msrs");

int main(void)
{
    CHECK(!(cpuid(1, 0).ecx & CPUID1_ECX_VMX), "CPUID.1:ECX.VMX is 0 (VMX hidden)");
    u32 bad = 0;
    for (u32 msr = 0x480; msr <= 0x491; ++msr) {
        u64 v = 0;
        int r = rdmsr_fault(msr, &v);
        int w0 = wrmsr_fault(msr, 0);
        int w1 = wrmsr_fault(msr, ~0ull);
        if (r != 13 + 1 || w0 != 13 + 1 || w1 != 13 + 1) {
            printf("  MSR 0x%x: read %s (0x%llx), write 0 %s, write ~0 %s\n", msr, r ? vector_name(r - 1) : "ok", v,
                   w0 ? vector_name(w0 - 1) : "ok", w1 ? vector_name(w1 - 1) : "ok");
            ++bad;
        }
    }
    CHECK(bad == 0, "RDMSR and WRMSR (0, ~0) of 0x480-0x491 all raise #GP (%u do not)", bad);

    u64 fc = 0;
    CHECK(!rdmsr_fault(MSR_FEATURE_CONTROL, &fc) && (fc & 7) == 1,
          "IA32_FEATURE_CONTROL reads locked, VMX off inside and outside SMX (0x%llx)", fc);
    const u64 writes[] = {0, fc, fc | 2, fc | (0x7full << 8) | (1u << 15), 1ull << 63, ~0ull};
    for (u32 i = 0; i < ARRAY_SIZE(writes); ++i)
        CHECK(wrmsr_fault(MSR_FEATURE_CONTROL, writes[i]) == 13 + 1, "WRMSR IA32_FEATURE_CONTROL = 0x%llx raises #GP",
              writes[i]);
    u64 after = 0;
    CHECK(!rdmsr_fault(MSR_FEATURE_CONTROL, &after) && after == fc, "IA32_FEATURE_CONTROL unchanged (0x%llx)", after);
    CHECK(!(read_cr4() & (1u << 13)), "CR4.VMXE still 0");
    finish();
}
