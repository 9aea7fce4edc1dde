/* hostile x2apic_msrs: the x2APIC MSRs 0x800-0x8FF in xAPIC mode, then in x2APIC mode: writes to
 * read-only registers, reads of write-only ones, registers x2APIC does not have, reserved bits
 * in each writable register, and bits 63:32 of the 32-bit ones.
 * hardware: #GP(0) for each (SDM Vol. 3 11.12.1.2 "x2APIC Register Address Space", Table 11-6:
 * in xAPIC mode every x2APIC MSR access is #GP; RDMSR of EOI/SELF IPI, WRMSR of ID, version,
 * PPR, LDR, ISR/TMR/IRR, current count, an address with no register, a reserved bit set, or a
 * non-zero EOI all raise #GP), the register unchanged; valid writes work.
 * expect: contained
 */
#include "guest.h"

TEST("x2apic_msrs");

#define APIC_EN (1u << 11)
#define APIC_EXTD (1u << 10)

static void expect_read_gp(const char *what, u32 msr)
{
    u64 v = 0;
    int f = rdmsr_fault(msr, &v);
    CHECK(f == 13 + 1, "RDMSR 0x%x (%s) raises #GP (%s)", msr, what, f ? vector_name(f - 1) : "no fault");
}

static void expect_write_gp(const char *what, u32 msr, u64 value)
{
    u64 before = 0, after = 0;
    int readable = !rdmsr_fault(msr, &before);
    int f = wrmsr_fault(msr, value);
    CHECK(f == 13 + 1, "WRMSR 0x%x = 0x%llx (%s) raises #GP (%s)", msr, value, what, f ? vector_name(f - 1) : "no fault");
    if (readable && msr != 0x839 /* the current count moves */) {
        rdmsr_fault(msr, &after);
        CHECK(after == before, "  0x%x unchanged (0x%llx)", msr, after);
    }
}

int main(void)
{
    u64 base = rdmsr(MSR_APIC_BASE);
    expect_read_gp("x2APIC ID in xAPIC mode", 0x802);
    expect_read_gp("TPR in xAPIC mode", 0x808);
    expect_write_gp("TPR in xAPIC mode", 0x808, 0);
    expect_write_gp("EOI in xAPIC mode", 0x80b, 0);
    expect_write_gp("ICR in xAPIC mode", 0x830, 0x4000fe);
    if (!(cpuid(1, 0).ecx & CPUID1_ECX_X2APIC)) {
        expect_write_gp("IA32_APIC_BASE.EXTD without CPUID x2APIC", MSR_APIC_BASE, base | APIC_EXTD);
        finish();
    }
    wrmsr(MSR_APIC_BASE, base | APIC_EXTD);
    wrmsr(0x80f, 0x1ff); /* SVR: software-enabled */
    u64 id = rdmsr(0x802);
    note("x2APIC mode: ID %llu, version 0x%llx, LDR 0x%llx", id, rdmsr(0x803), rdmsr(0x80d));

    expect_write_gp("ID, read-only", 0x802, id);
    expect_write_gp("version, read-only", 0x803, rdmsr(0x803));
    expect_write_gp("PPR, read-only", 0x80a, 0);
    expect_write_gp("LDR, read-only in x2APIC mode", 0x80d, 0);
    expect_write_gp("ISR 0, read-only", 0x810, 0);
    expect_write_gp("TMR 0, read-only", 0x818, 0);
    expect_write_gp("IRR 7, read-only", 0x827, 0);
    expect_write_gp("current count, read-only", 0x839, 0);
    expect_read_gp("EOI, write-only", 0x80b);
    expect_read_gp("SELF IPI, write-only", 0x83f);
    const u32 absent[] = {0x800, 0x801, 0x804, 0x807, 0x809, 0x80c, 0x80e, 0x831, 0x83a, 0x83d, 0x840, 0x8ff};
    for (u32 i = 0; i < ARRAY_SIZE(absent); ++i) {
        expect_read_gp("no such x2APIC register", absent[i]);
        expect_write_gp("no such x2APIC register", absent[i], 0);
    }
    expect_write_gp("TPR bit 8", 0x808, 0x100);
    expect_write_gp("TPR bit 32 (EDX = 1)", 0x808, 1ull << 32);
    expect_write_gp("EOI non-zero", 0x80b, 1);
    expect_write_gp("SVR bit 13", 0x80f, 0x1ff | (1u << 13));
    expect_write_gp("SVR bit 31", 0x80f, 0x1ff | (1u << 31));
    expect_write_gp("ESR non-zero", 0x828, 1);
    expect_write_gp("LVT timer bit 19", 0x832, 0x10040 | (1u << 19));
    expect_write_gp("LVT timer mode 11b (reserved)", 0x832, 0x10040 | (3u << 17));
    expect_write_gp("LVT LINT0 bit 11", 0x835, 0x10000 | (1u << 11));
    expect_write_gp("LVT error bit 8 (delivery mode)", 0x837, 0x10000 | (1u << 8));
    expect_write_gp("divide configuration bit 2", 0x83e, 1u << 2);
    expect_write_gp("divide configuration bit 4", 0x83e, 1u << 4);
    expect_write_gp("SELF IPI bit 8", 0x83f, 0x1ff);
    expect_write_gp("ICR bit 12 (delivery status)", 0x830, 0x10fe | 0xffffffffull << 32);
    expect_write_gp("ICR bit 13", 0x830, 0x20fe);
    expect_write_gp("ICR bit 17", 0x830, 0x200fe);
    expect_write_gp("ICR bit 20", 0x830, 0x1000fe);
    expect_write_gp("initial count bit 32", 0x838, 1ull << 32);

    CHECK(!wrmsr_fault(0x808, 0x20) && rdmsr(0x808) == 0x20, "TPR 0x20 round-trips");
    wrmsr(0x808, 0);
    CHECK(rdmsr(0x802) == id, "x2APIC ID unchanged");
    /* Back to xAPIC mode the legal way: through the disabled state (SDM Vol. 3 11.12.5). */
    CHECK(wrmsr_fault(MSR_APIC_BASE, base) == 13 + 1, "x2APIC -> xAPIC directly raises #GP");
    wrmsr(MSR_APIC_BASE, base & ~(u64)(APIC_EN | APIC_EXTD));
    wrmsr(MSR_APIC_BASE, base);
    CHECK(rdmsr(MSR_APIC_BASE) == base, "xAPIC mode again (0x%llx)", rdmsr(MSR_APIC_BASE));
    finish();
}
