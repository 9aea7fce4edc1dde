/* msr: RDMSR/WRMSR of the MSRs a guest may use, and #GP where it must get one.
 * Everywhere: IA32_PAT reset value and round trip, IA32_EFER.SCE set/clear, IA32_TSC readable,
 * monotonic and in step with RDTSC (QEMU TCG reads 0: SKIP natively), IA32_APIC_BASE = 0xFEE00000 | BSP | EN, the SYSENTER MSRs
 * and IA32_KERNEL_GS_BASE round trips; #GP on a reserved PAT type and a reserved EFER bit (QEMU
 * TCG accepts both: SKIP natively). Under Matryoshka (natively: SKIP with what happened):
 * #GP on reading an unknown MSR (0x12345678), on writing one, on writing IA32_FEATURE_CONTROL,
 * and on reading IA32_VMX_BASIC (0x480, VMX is hidden). */
#include "guest.h"

TEST("msr");

static void round_trip(const char *name, u32 msr, u64 test_value)
{
    u64 saved, back = 0;
    int f = rdmsr_fault(msr, &saved);
    if (!CHECK(!f, "%s (0x%x) readable", name, msr)) return;
    f = wrmsr_fault(msr, test_value);
    if (!CHECK(!f, "%s write 0x%llx accepted", name, test_value)) return;
    rdmsr_fault(msr, &back);
    CHECK(back == test_value, "%s round trip: wrote 0x%llx, read 0x%llx", name, test_value, back);
    CHECK(!wrmsr_fault(msr, saved), "%s restored to 0x%llx", name, saved);
}

/* Under Matryoshka the access must #GP; natively report what happened and skip. */
static void expect_gp(const char *what, int fault, u64 value)
{
    if (under_matryoshka())
        CHECK(fault == 13 + 1, "%s raises #GP (got %s)", what,
              fault ? vector_name((u32)fault - 1) : "no fault");
    else if (fault)
        skip_native("%s: raised %s", what, vector_name((u32)fault - 1));
    else
        skip_native("%s: no fault, value 0x%llx", what, value);
}

int main(void)
{
    u64 v = 0;

    /* IA32_PAT: power-up value 0x0007040600070406 (SDM Vol. 3 11.12.4), nothing changed it yet. */
    int f = rdmsr_fault(MSR_PAT, &v);
    CHECK(!f && v == 0x0007040600070406ull, "IA32_PAT reads its reset value 0x0007040600070406 (0x%llx)", v);
    round_trip("IA32_PAT", MSR_PAT, 0x0001050600070406ull);
    /* A reserved memory type (2) in PA0 is a #GP. */
    CHECK_HV(wrmsr_fault(MSR_PAT, 0x0007040600070402ull) == 13 + 1, "IA32_PAT with reserved type 2 raises #GP");

    /* IA32_EFER.SCE (bit 0). */
    u64 efer = 0;
    if (CHECK(!rdmsr_fault(MSR_EFER, &efer), "IA32_EFER readable (0x%llx)", efer)) {
        CHECK(!(efer & (1u << 10)), "IA32_EFER.LMA is 0 in protected mode");
        u64 back = 0;
        int w = wrmsr_fault(MSR_EFER, efer | 1);
        rdmsr_fault(MSR_EFER, &back);
        CHECK(!w && (back & 1), "IA32_EFER.SCE set reads back 1 (0x%llx)", back);
        w = wrmsr_fault(MSR_EFER, efer & ~1ull);
        rdmsr_fault(MSR_EFER, &back);
        CHECK(!w && !(back & 1), "IA32_EFER.SCE clear reads back 0 (0x%llx)", back);
        wrmsr_fault(MSR_EFER, efer);
        /* Bit 1 is reserved. */
        CHECK_HV(wrmsr_fault(MSR_EFER, efer | 2) == 13 + 1, "IA32_EFER reserved bit 1 raises #GP");
        wrmsr_fault(MSR_EFER, efer);
    }

    /* IA32_TSC (0x10): readable, monotonic, and the same clock as RDTSC. */
    u64 t0 = 0, t1 = 0, t2 = 0;
    f = rdmsr_fault(MSR_TSC, &t0);
    t1 = rdtsc();
    rdmsr_fault(MSR_TSC, &t2);
    CHECK(!f, "IA32_TSC readable (0x%llx)", t0);
    CHECK_HV(t0 < t1 && t1 < t2, "IA32_TSC and RDTSC monotonic: 0x%llx < 0x%llx < 0x%llx", t0, t1, t2);

    /* IA32_APIC_BASE: 0xFEE00000 | EN (bit 11) | BSP (bit 8); x2APIC mode (bit 10) off. */
    f = rdmsr_fault(MSR_APIC_BASE, &v);
    CHECK(!f && (v & ~0xfffull) == 0xfee00000ull, "IA32_APIC_BASE base is 0xFEE00000 (0x%llx)", v);
    CHECK((v & (1u << 8)) && (v & (1u << 11)), "IA32_APIC_BASE BSP and EN bits set");
    CHECK(!(v & (1u << 10)), "IA32_APIC_BASE x2APIC mode off at start");

    round_trip("IA32_SYSENTER_CS", MSR_SYSENTER_CS, 0x10);
    round_trip("IA32_SYSENTER_ESP", MSR_SYSENTER_ESP, 0x12345678);
    round_trip("IA32_SYSENTER_EIP", MSR_SYSENTER_EIP, 0x87654320);
    round_trip("IA32_KERNEL_GS_BASE", MSR_KERNEL_GS_BASE, 0x0000123456789000ull);

    /* The hypervisor's own choices. */
    v = 0;
    f = rdmsr_fault(0x12345678, &v);
    expect_gp("rdmsr of unknown MSR 0x12345678", f, v);
    f = wrmsr_fault(0x12345678, 0);
    expect_gp("wrmsr of unknown MSR 0x12345678", f, 0);
    v = 0;
    f = rdmsr_fault(MSR_VMX_BASIC, &v);
    expect_gp("rdmsr of IA32_VMX_BASIC (0x480) with VMX hidden", f, v);
    v = 0;
    if (!rdmsr_fault(MSR_FEATURE_CONTROL, &v)) note("IA32_FEATURE_CONTROL reads 0x%llx", v);
    else note("IA32_FEATURE_CONTROL read raises %s", vector_name(last_fault.vector));
    f = wrmsr_fault(MSR_FEATURE_CONTROL, v | 5);
    expect_gp("wrmsr of IA32_FEATURE_CONTROL", f, v | 5);
    finish();
}
