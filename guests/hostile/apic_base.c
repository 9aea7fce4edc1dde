/* hostile apic_base: IA32_APIC_BASE with reserved bits, the invalid EXTD-without-EN state, the
 * illegal mode transitions, relocating the xAPIC page to 0xFED00000 and back, and disabling the
 * APIC then enabling it again.
 * hardware: reserved bits (7:0, 9, MAXPHYADDR and up) raise #GP(0); EN = 0 with EXTD = 1 and
 * the transitions x2APIC -> xAPIC and disabled -> x2APIC raise #GP(0) (SDM Vol. 3 11.12.5
 * "x2APIC State Transitions", Figure 11-27); the register page follows the base (11.4.5
 * "Relocating the Local APIC Registers"); re-enabled after being disabled the APIC is in its
 * power-up state but for the ID: SVR 0xFF (software-disabled), every LVT masked, TPR 0 (11.4.3).
 * (The vacated or disabled page is not touched: what answers there is the memory scenarios'
 * business; Matryoshka ends a VM that accesses guest-physical space it does not own.)
 * expect: contained
 */
#include "guest.h"

TEST("apic_base");

#define APIC_BSP (1u << 8)
#define APIC_EXTD (1u << 10)
#define APIC_EN (1u << 11)
#define NEW_BASE 0xfed00000u

int main(void)
{
    u64 base = rdmsr(MSR_APIC_BASE);
    CHECK((base & ~0xfffull) == LAPIC_BASE && (base & APIC_EN) && (base & APIC_BSP),
          "IA32_APIC_BASE: 0xFEE00000, enabled, BSP (0x%llx)", base);
    u32 maxphys = cpuid(0x80000008, 0).eax & 0xff;
    const u64 reserved[] = {1u << 0, 1u << 7, 1u << 9, 1ull << maxphys, 1ull << 63};
    for (u32 i = 0; i < ARRAY_SIZE(reserved); ++i) {
        int f = wrmsr_fault(MSR_APIC_BASE, base | reserved[i]);
        CHECK(f == 13 + 1, "IA32_APIC_BASE | 0x%llx (reserved) raises #GP (%s)", reserved[i],
              f ? vector_name(f - 1) : "no fault");
    }
    int f = wrmsr_fault(MSR_APIC_BASE, (base & ~(u64)APIC_EN) | APIC_EXTD);
    CHECK(f == 13 + 1, "EXTD = 1 with EN = 0 (invalid state) raises #GP (%s)", f ? vector_name(f - 1) : "no fault");
    CHECK(rdmsr(MSR_APIC_BASE) == base, "IA32_APIC_BASE unchanged (0x%llx)", rdmsr(MSR_APIC_BASE));

    u32 id = lapic_read(LAPIC_ID), version = lapic_read(LAPIC_VERSION);
    lapic_write(LAPIC_TPR, 0x30);
    wrmsr(MSR_APIC_BASE, (base & 0xfff) | NEW_BASE);
    CHECK(mmio_read32(NEW_BASE + LAPIC_VERSION) == version && mmio_read32(NEW_BASE + LAPIC_TPR) == 0x30,
          "relocated to 0xFED00000: version 0x%x and TPR 0x%x read there", mmio_read32(NEW_BASE + LAPIC_VERSION),
          mmio_read32(NEW_BASE + LAPIC_TPR));
    mmio_write32(NEW_BASE + LAPIC_TPR, 0x40);
    wrmsr(MSR_APIC_BASE, base);
    CHECK(lapic_read(LAPIC_TPR) == 0x40, "back at 0xFEE00000, TPR 0x40 written at the new base (0x%x)",
          lapic_read(LAPIC_TPR));

    lapic_write(LAPIC_SVR, 0x1ff);
    lapic_write(LAPIC_LVT_TIMER, 0x40);
    wrmsr(MSR_APIC_BASE, base & ~(u64)APIC_EN);
    CHECK(!(rdmsr(MSR_APIC_BASE) & APIC_EN), "disabled (0x%llx)", rdmsr(MSR_APIC_BASE));
    if (cpuid(1, 0).ecx & CPUID1_ECX_X2APIC) {
        f = wrmsr_fault(MSR_APIC_BASE, base | APIC_EXTD);
        CHECK(f == 13 + 1, "disabled -> x2APIC raises #GP (%s)", f ? vector_name(f - 1) : "no fault");
    }
    wrmsr(MSR_APIC_BASE, base);
    CHECK(lapic_read(LAPIC_ID) == id && lapic_read(LAPIC_VERSION) == version, "re-enabled: same ID 0x%x and version",
          lapic_read(LAPIC_ID));
    CHECK((lapic_read(LAPIC_SVR) & 0x1ff) == 0xff, "re-enabled: SVR 0xFF, software-disabled (0x%x)",
          lapic_read(LAPIC_SVR));
    CHECK(lapic_read(LAPIC_LVT_TIMER) & (1u << 16), "re-enabled: LVT timer masked (0x%x)", lapic_read(LAPIC_LVT_TIMER));
    CHECK(lapic_read(LAPIC_TPR) == 0, "re-enabled: TPR 0 (0x%x)", lapic_read(LAPIC_TPR));
    if (cpuid(1, 0).ecx & CPUID1_ECX_X2APIC) {
        wrmsr(MSR_APIC_BASE, base | APIC_EXTD);
        f = wrmsr_fault(MSR_APIC_BASE, base);
        CHECK(f == 13 + 1, "x2APIC -> xAPIC raises #GP (%s)", f ? vector_name(f - 1) : "no fault");
        wrmsr(MSR_APIC_BASE, base & ~(u64)(APIC_EN | APIC_EXTD));
        wrmsr(MSR_APIC_BASE, base);
    }
    CHECK(rdmsr(MSR_APIC_BASE) == base, "IA32_APIC_BASE as at the start (0x%llx)", rdmsr(MSR_APIC_BASE));
    finish();
}
