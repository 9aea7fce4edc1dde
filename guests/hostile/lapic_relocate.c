/* hostile lapic_relocate: moves its local APIC page with IA32_APIC_BASE and uses it there.
 * hardware: SDM Vol. 3A 11.4.5: IA32_APIC_BASE[MAXPHYADDR-1:12] relocates the xAPIC register
 * page; accesses go to the new page from then on. Reserved bits (7:0, 9, MAXPHYADDR and up)
 * make WRMSR #GP(0) (SDM Vol. 4, Table 2-2, IA32_APIC_BASE).
 * expect: contained
 * Relocated to 0xFED00000 (not RAM): the version, ID and TPR answer there; back to 0xFEE00000;
 * a value with bit 0 set and one with bit MAXPHYADDR set are refused with #GP and change nothing.
 * Not done here: a base inside RAM (Matryoshka maps RAM there, so the APIC would not answer;
 * see the report of the hostile catalogue). */
#include "guest.h"

TEST("lapic_relocate");

#define NEW_BASE 0xfed00000u

static u64 bad_value;
static void write_bad(void *arg) { (void)arg; wrmsr(MSR_APIC_BASE, bad_value); }

int main(void)
{
    u64 base = rdmsr(MSR_APIC_BASE);
    u32 version = lapic_read(LAPIC_VERSION), id = lapic_read(LAPIC_ID);
    note("IA32_APIC_BASE 0x%llx", base);
    ASSERT((base & ~0xfffull) == LAPIC_BASE && (base & (1u << 11)));

    wrmsr(MSR_APIC_BASE, (base & 0xfff) | NEW_BASE);
    CHECK(rdmsr(MSR_APIC_BASE) == ((base & 0xfff) | NEW_BASE), "IA32_APIC_BASE reads back the new base");
    CHECK(mmio_read32(NEW_BASE + LAPIC_VERSION) == version && mmio_read32(NEW_BASE + LAPIC_ID) == id,
          "version and ID registers answer at 0xFED00000");
    mmio_write32(NEW_BASE + LAPIC_TPR, 0x40);
    CHECK(mmio_read32(NEW_BASE + LAPIC_TPR) == 0x40, "the TPR at the new base holds 0x40");
    mmio_write32(NEW_BASE + LAPIC_TPR, 0);
    wrmsr(MSR_APIC_BASE, base);
    CHECK(lapic_read(LAPIC_VERSION) == version, "back at 0xFEE00000");

    u32 maxphy = cpuid(0x80000000, 0).eax >= 0x80000008 ? cpuid(0x80000008, 0).eax & 0xff : 36;
    bad_value = base | 1;
    CHECK(expect_fault(13, write_bad, 0), "reserved bit 0: #GP");
    bad_value = base | 1ull << maxphy;
    CHECK(expect_fault(13, write_bad, 0), "bit MAXPHYADDR (%u): #GP", maxphy);
    CHECK(rdmsr(MSR_APIC_BASE) == base && lapic_read(LAPIC_VERSION) == version, "refused writes changed nothing");
    finish();
}
