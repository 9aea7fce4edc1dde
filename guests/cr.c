/* cr: control registers as the guest wrote them. CR0 at entry (PE=1, PG=0, ET=1); CR0.CD/NW read
 * back as written and NW without CD is a #GP; CR0.NE/WP/AM/MP/TS/EM round trips (a hypervisor
 * that forces NE=1 must shadow it); CR2 and CR3 round trips; CR4.VMXE reads 0 and setting it is
 * a #GP when CPUID hides VMX (real hardware without VMX does the same), likewise SMXE; a reserved
 * CR4 bit is a #GP; every CR4 bit of a feature CPUID reports round-trips. */
#include "guest.h"

TEST("cr");


static void cr0_round_trip(const char *name, u32 bit)
{
    u32 saved = read_cr0();
    int f1 = write_cr0_fault(saved ^ bit);
    u32 toggled = read_cr0();
    int f2 = write_cr0_fault(saved);
    u32 back = read_cr0();
    CHECK(!f1 && !f2 && (toggled & bit) == ((saved ^ bit) & bit) && back == saved,
          "CR0.%s round trip: 0x%x -> 0x%x -> 0x%x", name, saved, toggled, back);
}

static void cr4_round_trip(const char *name, u32 bit, int supported)
{
    if (!supported) {
        skip("CR4.%s (CPUID does not report the feature)", name);
        return;
    }
    u32 saved = read_cr4();
    int f1 = write_cr4_fault(saved | bit);
    u32 set = read_cr4();
    int f2 = write_cr4_fault(saved & ~bit);
    u32 clear = read_cr4();
    write_cr4_fault(saved);
    CHECK(!f1 && !f2 && (set & bit) && !(clear & bit), "CR4.%s round trip: set 0x%x, clear 0x%x%s", name, set, clear,
          f1 || f2 ? " (faulted)" : "");
}

int main(void)
{
    u32 cr0 = read_cr0();
    note("CR0 0x%08x CR4 0x%08x at entry", cr0, read_cr4());
    CHECK((cr0 & CR0_PE) && !(cr0 & CR0_PG), "CR0 at entry: protected mode, paging off");
    CHECK(cr0 & CR0_ET, "CR0.ET reads 1");

    /* Caching: CD=1 alone, CD=1 NW=1, back to 0; NW=1 with CD=0 is a #GP (SDM Vol. 3 2.5). */
    u32 base = cr0 & ~(CR0_CD | CR0_NW);
    int f = write_cr0_fault(base | CR0_CD);
    u32 v = read_cr0();
    CHECK(!f && (v & (CR0_CD | CR0_NW)) == CR0_CD, "CR0.CD=1 NW=0 reads back as written (0x%x)", v);
    f = write_cr0_fault(base | CR0_CD | CR0_NW);
    v = read_cr0();
    CHECK(!f && (v & (CR0_CD | CR0_NW)) == (CR0_CD | CR0_NW), "CR0.CD=1 NW=1 reads back as written (0x%x)", v);
    f = write_cr0_fault(base | CR0_NW);
    CHECK_HV(f == 13 + 1, "CR0.NW=1 with CD=0 raises #GP (%s)", f ? vector_name((u32)f - 1) : "no fault");
    write_cr0_fault(base);
    v = read_cr0();
    CHECK(!(v & (CR0_CD | CR0_NW)), "CR0.CD/NW cleared again (0x%x)", v);
    write_cr0_fault(cr0);

    cr0_round_trip("NE", CR0_NE);
    cr0_round_trip("WP", CR0_WP);
    cr0_round_trip("AM", CR0_AM);
    cr0_round_trip("MP", CR0_MP);
    cr0_round_trip("TS", CR0_TS);
    cr0_round_trip("EM", CR0_EM);

    write_cr2(0x12345678);
    v = read_cr2();
    CHECK(v == 0x12345678, "CR2 round trip (0x%x)", v);
    u32 cr3 = read_cr3();
    write_cr3(0x00abc000);
    v = read_cr3();
    write_cr3(cr3);
    CHECK(v == 0x00abc000, "CR3 round trip with paging off (0x%x)", v);

    /* CR4 */
    struct cpuid_regs l1 = cpuid(1, 0);
    u32 max = cpuid(0, 0).eax;
    struct cpuid_regs l7 = max >= 7 ? cpuid(7, 0) : (struct cpuid_regs){0, 0, 0, 0};
    u32 cr4 = read_cr4();
    CHECK(!(cr4 & (1u << 13)), "CR4.VMXE reads 0 (0x%x)", cr4);
    struct cpuid_regs hv = cpuid(0x40000000, 0);
    int qemu_tcg = !under_matryoshka() && hv.ebx == 0x54474354 && hv.ecx == 0x43544743; /* "TCGTCGTCGTCG" */
    if (qemu_tcg) {
        skip_native("setting CR4.VMXE (QEMU TCG 7.2 spins on that MOV to CR4)");
    } else if (!(l1.ecx & CPUID1_ECX_VMX)) {
        f = write_cr4_fault(cr4 | (1u << 13));
        CHECK_HV(f == 13 + 1, "setting CR4.VMXE with VMX hidden raises #GP (%s)",
                 f ? vector_name((u32)f - 1) : "no fault");
        v = read_cr4();
        write_cr4_fault(cr4);
        CHECK(!(v & (1u << 13)), "CR4.VMXE still reads 0 (0x%x)", v);
    } else {
        skip_native("setting CR4.VMXE (this CPU reports VMX)");
    }
    if (qemu_tcg) {
        skip_native("setting CR4.SMXE and reserved CR4 bit 15 (QEMU TCG spins on them too)");
    } else if (!(l1.ecx & CPUID1_ECX_SMX)) {
        f = write_cr4_fault(cr4 | (1u << 14));
        write_cr4_fault(cr4);
        CHECK_HV(f == 13 + 1, "setting CR4.SMXE with SMX hidden raises #GP (%s)",
                 f ? vector_name((u32)f - 1) : "no fault");
    }
    if (!qemu_tcg) {
        f = write_cr4_fault(cr4 | (1u << 15));
        write_cr4_fault(cr4);
        CHECK_HV(f == 13 + 1, "setting reserved CR4 bit 15 raises #GP (%s)", f ? vector_name((u32)f - 1) : "no fault");
    }

    cr4_round_trip("VME", 1u << 0, l1.edx & (1u << 1));
    cr4_round_trip("PVI", 1u << 1, l1.edx & (1u << 1));
    cr4_round_trip("TSD", 1u << 2, l1.edx & (1u << 4));
    cr4_round_trip("DE", 1u << 3, l1.edx & (1u << 2));
    cr4_round_trip("PSE", 1u << 4, l1.edx & (1u << 3));
    cr4_round_trip("PAE", 1u << 5, l1.edx & (1u << 6));
    cr4_round_trip("MCE", 1u << 6, l1.edx & (1u << 7));
    cr4_round_trip("PGE", 1u << 7, l1.edx & (1u << 13));
    cr4_round_trip("PCE", 1u << 8, 1);
    cr4_round_trip("OSFXSR", 1u << 9, l1.edx & (1u << 24));
    cr4_round_trip("OSXMMEXCPT", 1u << 10, l1.edx & (1u << 25));
    cr4_round_trip("UMIP", 1u << 11, l7.ecx & (1u << 2));
    cr4_round_trip("FSGSBASE", 1u << 16, l7.ebx & (1u << 0));
    cr4_round_trip("OSXSAVE", CR4_OSXSAVE, l1.ecx & CPUID1_ECX_XSAVE);
    cr4_round_trip("SMEP", 1u << 20, l7.ebx & (1u << 7));
    cr4_round_trip("SMAP", 1u << 21, l7.ebx & (1u << 20));
    v = read_cr4();
    CHECK(v == cr4, "CR4 back to its entry value 0x%x (0x%x)", cr4, v);
    finish();
}
