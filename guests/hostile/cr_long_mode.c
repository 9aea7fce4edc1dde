/* hostile cr_long_mode: control-register writes that IA-32e mode forbids, from 64-bit mode:
 * CR0 and CR4 bits 63:32, clearing CR0.PG or CR0.PE, clearing CR4.PAE, toggling CR4.LA57,
 * setting CR4.VMXE, CR4.PCIDE with CR3[11:0] != 0, CR3 bits above MAXPHYADDR, CR8 bits 63:4;
 * then from compatibility mode a MOV to CR0/CR4 whose register holds garbage in bits 63:32.
 * hardware: #GP(0) for each forbidden write (SDM Vol. 3 2.5 "Control Registers", 10.8.5,
 * 4.10.1, Vol. 2B "MOV—Move to/from Control Registers"); nothing changes. Outside 64-bit mode
 * the operand is 32 bits: the upper half of RAX plays no part, so those writes succeed. CR8 =
 * 0xF is the TPR 0xF0 and reads back 0xF (SDM Vol. 3 11.8.6.1).
 * expect: contained
 */
#include "guest.h"

TEST("cr_long_mode");

void pcide_with_cr3(void), cr8_round_trip(void); /* cr_long_mode.asm */


/* The CR0 and CR4 64-bit mode runs with: long64.asm sets PG and PAE on the current ones. */
static u64 cr0_64, cr4_64;
static void expect_gp(const char *what, void (*fn)(void), u64 value)
{
    u64 v = value;
    int f = long64_op(fn, 0, &v);
    CHECK(f == 13 + 1 && last_fault.error == 0, "64-bit mode: %s (0x%llx) raises #GP(0) (got %s)", what, value,
          f ? vector_name((u32)f - 1) : "no fault");
}

static void expect_ok(const char *what, void (*fn)(void), u64 value)
{
    u64 v = value;
    int f = long64_op(fn, 0, &v);
    CHECK(!f, "%s (0x%llx) completes (got %s)", what, value, f ? vector_name((u32)f - 1) : "no fault");
}

int main(void)
{
    cr0_64 = read_cr0() | CR0_PG;
    cr4_64 = read_cr4() | CR4_PAE;
    u32 cr0 = read_cr0(), cr4 = read_cr4();
    struct cpuid_regs l1 = cpuid(1, 0);
    u32 maxphys = cpuid(0x80000008, 0).eax & 0xff;
    u64 pml4 = long64_pml4();

    expect_ok("MOV to CR0 of its own value", long64_write_cr0, cr0_64);
    expect_gp("CR0 bit 32", long64_write_cr0, cr0_64 | (1ull << 32));
    expect_gp("CR0 bit 63", long64_write_cr0, cr0_64 | (1ull << 63));
    expect_gp("clearing CR0.PG", long64_write_cr0, cr0_64 & ~CR0_PG);
    expect_gp("clearing CR0.PE (PG without PE)", long64_write_cr0, cr0_64 & ~CR0_PE);
    expect_gp("CR4 bit 32", long64_write_cr4, cr4_64 | (1ull << 32));
    expect_gp("clearing CR4.PAE", long64_write_cr4, cr4_64 & ~CR4_PAE);
    expect_gp("toggling CR4.LA57", long64_write_cr4, cr4_64 ^ CR4_LA57);
    expect_gp("setting CR4.VMXE", long64_write_cr4, cr4_64 | CR4_VMXE);
    expect_ok("toggling CR4.PSE (ignored in IA-32e mode)", long64_write_cr4, cr4_64 ^ CR4_PSE);
    /* CR3[11:0] = 0x008 (PWT), then CR4.PCIDE: #GP; from a clean CR3 it works (without PCID in
     * CPUID both are #GP: a reserved bit). */
    int pcid = (l1.ecx >> 17) & 1;
    struct long64_op op = {0, 0, cr4_64 | CR4_PCIDE, {pml4 | 8, 0}};
    int f = long64_call(pcide_with_cr3, &op);
    CHECK(f == 13 + 1, "64-bit mode: CR4.PCIDE with CR3[11:0] = 0x008 raises #GP (got %s)",
          f ? vector_name((u32)f - 1) : "no fault");
    op.args[0] = pml4;
    f = long64_call(pcide_with_cr3, &op);
    CHECK(pcid ? !f : f == 13 + 1, "64-bit mode: CR4.PCIDE with CR3[11:0] = 0 %s (got %s)",
          pcid ? "completes" : "raises #GP (no PCID in CPUID)", f ? vector_name((u32)f - 1) : "no fault");
    if (maxphys < 52) expect_gp("CR3 bit MAXPHYADDR", long64_write_cr3, pml4 | (1ull << maxphys));
    expect_gp("CR3 bit 55 (reserved)", long64_write_cr3, pml4 | (1ull << 55));

    /* CR8: the TPR's priority class. */
    expect_gp("CR8 = 0x10 (bit 4)", long64_write_cr8, 0x10);
    expect_gp("CR8 bit 63", long64_write_cr8, 1ull << 63);
    op = (struct long64_op){0, 0, 0xf, {0, 0}};
    f = long64_call(cr8_round_trip, &op);
    CHECK(!f && op.value == 0xf && (op.args[0] & 0xff) == 0xf0, "CR8 = 0xF reads back 0x%llx, TPR 0x%llx",
          op.value, op.args[0]);
    CHECK(lapic_read(LAPIC_TPR) == 0, "TPR 0 again after CR8 = 0");

    /* Compatibility mode: EAX is the operand; bits 63:32 of RAX are garbage. */
    u64 garbage = 0xdead5a5a00000000ull;
    expect_ok("compatibility mode: MOV CR0, EAX setting CD, RAX bits 63:32 = 0xdead5a5a",
              long64_compat_write_cr0, garbage | (u32)(cr0_64 | CR0_CD));
    expect_ok("compatibility mode: MOV CR4, EAX toggling PSE, RAX bits 63:32 = 0xdead5a5a",
              long64_compat_write_cr4, garbage | (u32)(cr4_64 ^ CR4_PSE));

    CHECK(read_cr0() & CR0_CD, "CR0.CD set by the compatibility-mode write (0x%x)", read_cr0());
    write_cr0(cr0);
    CHECK(read_cr0() == cr0 && read_cr4() == cr4, "back in protected mode with CR0 0x%x CR4 0x%x (0x%x 0x%x)",
          cr0, cr4, read_cr0(), read_cr4());
    finish();
}
