/* hostile pat_mtrr: IA32_PAT and the MTRRs written with reserved memory types and reserved bits:
 * PAT types 2, 3 and 8-255 in each of its eight entries, MTRR types 2, 3 and 7 (UC- is a PAT type
 * only) in IA32_MTRR_DEF_TYPE, a fixed-range MTRR and a variable range's base, variable-range
 * bits above MAXPHYADDR and in the reserved low bits, a ninth variable range (MTRRCAP.VCNT = 8),
 * and the read-only IA32_MTRRCAP.
 * hardware: #GP(0) for each, the register unchanged (SDM Vol. 3 12.12.2 "IA32_PAT MSR",
 * 12.11.2.1-12.11.2.3, Table 12-8 memory types; IA32_MTRRCAP is read-only, Vol. 4 Table 2-2);
 * valid types (PAT 0, 1, 4-7; MTRR 0, 1, 4-6) are accepted.
 * expect: contained
 */
#include "guest.h"

TEST("pat_mtrr");

#define MSR_MTRRCAP 0xfe
#define MSR_MTRR_PHYSBASE0 0x200
#define MSR_MTRR_PHYSMASK0 0x201
#define MSR_MTRR_FIX64K_00000 0x250
#define MSR_MTRR_FIX4K_C0000 0x268
#define MSR_MTRR_DEF_TYPE 0x2ff

static void expect_gp(const char *what, u32 msr, u64 value)
{
    u64 before = 0, after = 0;
    rdmsr_fault(msr, &before);
    int f = wrmsr_fault(msr, value);
    rdmsr_fault(msr, &after);
    CHECK(f == 13 + 1 && after == before, "%s = 0x%llx raises #GP, unchanged (%s, 0x%llx)", what, value,
          f ? vector_name(f - 1) : "no fault", after);
}

int main(void)
{
    u64 pat = rdmsr(MSR_PAT);
    u32 bad = 0;
    for (u32 entry = 0; entry < 8; ++entry) {
        for (u32 type = 2; type < 256; ++type) {
            if (type >= 4 && type <= 7) continue;
            u64 v = (pat & ~(0xffull << (8 * entry))) | (u64)type << (8 * entry);
            if (wrmsr_fault(MSR_PAT, v) != 13 + 1) {
                if (bad++ < 4) printf("  IA32_PAT entry %u type %u did not raise #GP\n", entry, type);
            }
        }
    }
    CHECK(bad == 0, "IA32_PAT: every reserved type (2, 3, 8-255) in every entry raises #GP (%u did not)", bad);
    CHECK(rdmsr(MSR_PAT) == pat, "IA32_PAT unchanged (0x%llx)", rdmsr(MSR_PAT));
    u64 all_valid = 0x0007060504010000ull; /* entries: UC UC WC WT WP WB UC- UC */
    CHECK(!wrmsr_fault(MSR_PAT, all_valid) && rdmsr(MSR_PAT) == all_valid, "IA32_PAT with types 0, 1, 4-7 round-trips");
    wrmsr(MSR_PAT, pat);

    u64 cap = rdmsr(MSR_MTRRCAP);
    u32 vcnt = cap & 0xff;
    note("IA32_MTRRCAP 0x%llx (%u variable ranges)", cap, vcnt);
    expect_gp("IA32_MTRRCAP (read-only)", MSR_MTRRCAP, cap);
    u64 def = rdmsr(MSR_MTRR_DEF_TYPE);
    const u32 bad_types[] = {2, 3, 7, 8, 0xff};
    for (u32 i = 0; i < ARRAY_SIZE(bad_types); ++i) {
        expect_gp("IA32_MTRR_DEF_TYPE type", MSR_MTRR_DEF_TYPE, (def & ~0xffull) | bad_types[i]);
        expect_gp("IA32_MTRR_FIX4K_C0000 type in byte 5", MSR_MTRR_FIX4K_C0000, (u64)bad_types[i] << 40);
        expect_gp("IA32_MTRR_PHYSBASE0 type", MSR_MTRR_PHYSBASE0, 0x100000ull | bad_types[i]);
    }
    expect_gp("IA32_MTRR_DEF_TYPE reserved bit 9", MSR_MTRR_DEF_TYPE, def | (1u << 9));
    expect_gp("IA32_MTRR_DEF_TYPE reserved bit 12", MSR_MTRR_DEF_TYPE, def | (1u << 12));
    expect_gp("IA32_MTRR_DEF_TYPE reserved bit 63", MSR_MTRR_DEF_TYPE, def | (1ull << 63));
    u32 maxphys = cpuid(0x80000008, 0).eax & 0xff;
    expect_gp("IA32_MTRR_PHYSBASE0 bit MAXPHYADDR", MSR_MTRR_PHYSBASE0, (1ull << maxphys) | 6);
    expect_gp("IA32_MTRR_PHYSBASE0 reserved bit 8", MSR_MTRR_PHYSBASE0, 0x100000ull | (1u << 8) | 6);
    expect_gp("IA32_MTRR_PHYSMASK0 reserved bit 0", MSR_MTRR_PHYSMASK0, 0xfff00000ull | (1u << 11) | 1);
    expect_gp("IA32_MTRR_PHYSMASK0 bit MAXPHYADDR", MSR_MTRR_PHYSMASK0, (1ull << maxphys) | (1u << 11));
    u64 v = 0;
    int f = rdmsr_fault(MSR_MTRR_PHYSBASE0 + 2 * vcnt, &v);
    CHECK(f == 13 + 1, "IA32_MTRR_PHYSBASE%u (beyond MTRRCAP.VCNT) raises #GP on read (%s)", vcnt,
          f ? vector_name(f - 1) : "no fault");
    f = wrmsr_fault(MSR_MTRR_PHYSBASE0 + 2 * vcnt, 6);
    CHECK(f == 13 + 1, "IA32_MTRR_PHYSBASE%u raises #GP on write (%s)", vcnt, f ? vector_name(f - 1) : "no fault");

    u64 fix = rdmsr(MSR_MTRR_FIX64K_00000);
    CHECK(!wrmsr_fault(MSR_MTRR_FIX64K_00000, 0x0605040100060504ull) && rdmsr(MSR_MTRR_FIX64K_00000) == 0x0605040100060504ull,
          "IA32_MTRR_FIX64K_00000 with types 0, 1, 4-6 round-trips");
    wrmsr(MSR_MTRR_FIX64K_00000, fix);
    finish();
}
