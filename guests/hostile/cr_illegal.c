/* hostile cr_illegal: CR0/CR4 writes that protected mode forbids, and the other ways to write
 * CR0: CR0.PG without PE, NW without CD, CR0 reserved bits 6-15, every CR4 bit the guest's
 * CPUID does not enumerate (VMXE and SMXE included), CR4.PCIDE outside IA-32e mode, CR4.CET
 * with CR0.WP = 0, PAE paging whose PDPTEs have reserved bits or lie outside RAM, LMSW trying
 * to clear PE, LMSW/CLTS round trips.
 * hardware: #GP(0) for each forbidden write, nothing changed (SDM Vol. 3 2.5 "Control
 * Registers", 4.4.1 "PDPTE Registers", Vol. 2B MOV CR, LMSW, CLTS); CR0 bits 6-15 and 19-28
 * are ignored (read 0); LMSW loads MP, EM, TS and can set but not clear PE; CLTS clears TS.
 * expect: contained
 */
#include "guest.h"

TEST("cr_illegal");


static u64 pdpt[4] __attribute__((aligned(32)));
static u64 pd[512] __attribute__((aligned(4096)));

static const char *fault_name(int f) { return f ? vector_name((u32)f - 1) : "no fault"; }

/* CR4 bits a processor with this CPUID may set (SDM Vol. 3 2.5, each bit's CPUID flag). */
static u32 cr4_enumerated(void)
{
    struct cpuid_regs l1 = cpuid(1, 0), l7 = cpuid(7, 0);
    u32 bits = 0x7ff & ~(1u << 11); /* VME..OSXMMEXCPT (bits 0-10) */
    if (l7.ecx & (1u << 2)) bits |= 1u << 11;   /* UMIP */
    if (l7.ecx & (1u << 16)) bits |= 1u << 12;  /* LA57 */
    if (l1.ecx & (1u << 5)) bits |= 1u << 13;   /* VMXE */
    if (l1.ecx & (1u << 6)) bits |= 1u << 14;   /* SMXE */
    if (l7.ebx & (1u << 0)) bits |= 1u << 16;   /* FSGSBASE */
    if (l1.ecx & (1u << 17)) bits |= 1u << 17;  /* PCIDE */
    if (l1.ecx & (1u << 26)) bits |= CR4_OSXSAVE;
    if (l7.ecx & (1u << 23)) bits |= 1u << 19;  /* KL */
    if (l7.ebx & (1u << 7)) bits |= 1u << 20;   /* SMEP */
    if (l7.ebx & (1u << 20)) bits |= 1u << 21;  /* SMAP */
    if (l7.ecx & (1u << 3)) bits |= 1u << 22;   /* PKE */
    if (l7.ecx & (1u << 7)) bits |= 1u << 23;   /* CET */
    if (l7.ecx & (1u << 31)) bits |= 1u << 24;  /* PKS */
    if (l7.edx & (1u << 5)) bits |= 1u << 25;   /* UINTR */
    return bits;
}

static void lmsw(u16 v) { __asm__ volatile("lmsw %0" : : "r"(v) : "memory"); }

int main(void)
{
    u32 cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();
    int f = write_cr0_fault((cr0 & ~CR0_PE) | CR0_PG);
    CHECK(f == 13 + 1, "CR0.PG = 1 with PE = 0 raises #GP (%s)", fault_name(f));
    f = write_cr0_fault(cr0 | CR0_NW);
    CHECK(f == 13 + 1, "CR0.NW = 1 with CD = 0 raises #GP (%s)", fault_name(f));
    f = write_cr0_fault(cr0 | 0x0000ffc0u | 0x1ff80000u);
    CHECK(!f && read_cr0() == cr0, "CR0 reserved bits 6-15, 19-28 ignored (%s, CR0 0x%x)", fault_name(f), read_cr0());
    write_cr0(cr0);
    CHECK(read_cr0() == cr0, "CR0 unchanged (0x%x)", read_cr0());

    u32 allowed = cr4_enumerated();
    note("CR4 bits CPUID enumerates: 0x%x", allowed);
    for (u32 bit = 0; bit < 32; ++bit) {
        if (allowed & (1u << bit) && bit != 13 /* VMXE: VMX hidden */) continue;
        f = write_cr4_fault(cr4 | (1u << bit));
        CHECK(f == 13 + 1, "CR4 bit %u (not enumerated) raises #GP (%s)", bit, fault_name(f));
    }
    if (allowed & CR4_PCIDE) {
        f = write_cr4_fault(cr4 | CR4_PCIDE);
        CHECK(f == 13 + 1, "CR4.PCIDE outside IA-32e mode raises #GP (%s)", fault_name(f));
    }
    if (allowed & CR4_CET) {
        write_cr0(cr0 & ~CR0_WP);
        f = write_cr4_fault(cr4 | CR4_CET);
        CHECK(f == 13 + 1, "CR4.CET with CR0.WP = 0 raises #GP (%s)", fault_name(f));
        write_cr0(cr0);
    }
    CHECK(read_cr4() == cr4, "CR4 unchanged (0x%x)", read_cr4());

    /* PAE paging: the MOV to CR0 loads the PDPTEs and checks them. */
    u32 maxphys = cpuid(0x80000008, 0).eax & 0xff;
    for (u32 i = 0; i < 512; ++i) pd[i] = (u64)i << 21 | 0x83;
    u64 good = (u32)(uintptr_t)pd | 1;
    const struct {
        const char *what;
        u64 pdpte0;
    } bad[] = {{"PDPTE bit 1 (reserved)", good | 2}, {"PDPTE bit 5 (reserved)", good | 0x20},
               {"PDPTE bit MAXPHYADDR", good | (1ull << maxphys)}, {"PDPTE bit 63 (reserved, XD)", good | (1ull << 63)}};
    write_cr4(cr4 | CR4_PAE);
    for (u32 i = 0; i < ARRAY_SIZE(bad); ++i) {
        pdpt[0] = bad[i].pdpte0;
        write_cr3((u32)(uintptr_t)pdpt);
        f = write_cr0_fault(cr0 | CR0_PG);
        CHECK(f == 13 + 1 && !(read_cr0() & CR0_PG), "PAE paging with %s raises #GP (%s)", bad[i].what, fault_name(f));
    }
    write_cr3(0xfffff000u); /* PDPTEs read from beyond RAM */
    f = write_cr0_fault(cr0 | CR0_PG);
    CHECK(f == 13 + 1 && !(read_cr0() & CR0_PG), "PAE paging with CR3 beyond RAM raises #GP (%s)", fault_name(f));
    pdpt[0] = good;
    write_cr3((u32)(uintptr_t)pdpt);
    f = write_cr0_fault(cr0 | CR0_PG);
    CHECK(!f && (read_cr0() & CR0_PG), "PAE paging with valid PDPTEs works (%s)", fault_name(f));
    write_cr0(cr0);
    write_cr3(cr3);
    write_cr4(cr4);

    lmsw(0);
    CHECK(read_cr0() & CR0_PE, "LMSW 0 does not clear PE (CR0 0x%x)", read_cr0());
    lmsw(0xfff0 | CR0_PE | CR0_MP | CR0_TS);
    u32 v = read_cr0();
    CHECK((v & 0xf) == (CR0_PE | CR0_MP | CR0_TS) && (v & ~0xfu) == (cr0 & ~0xfu),
          "LMSW 0xfffb loads MP, EM, TS only (CR0 0x%x)", v);
    __asm__ volatile("clts");
    CHECK(!(read_cr0() & CR0_TS), "CLTS clears TS (CR0 0x%x)", read_cr0());
    write_cr0(cr0);
    CHECK(read_cr0() == cr0 && read_cr4() == cr4, "CR0 0x%x and CR4 0x%x as at the start", read_cr0(), read_cr4());
    finish();
}
