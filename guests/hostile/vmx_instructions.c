/* hostile vmx_instructions: every VMX instruction (VMXON first), INVEPT, INVVPID, VMFUNC, GETSEC.
 * hardware: with VMX hidden in CPUID and CR4.VMXE = 0, each is #UD (SDM Vol. 3C 30.3, "VMXON":
 *   #UD if CR4.VMXE = 0; the others #UD outside VMX operation; GETSEC #UD with CR4.SMXE = 0).
 *   In VMX non-root they cause VM exits and the hypervisor must inject the same #UD. Each runs
 *   under the guest's own IDT and prints "ok NAME: got #UD".
 * expect: contained
 */
#include "guest.h"

TEST("vmx_instructions");

static u64 region[512] __attribute__((aligned(4096)));
static u64 operand[2];

#define VMX_FN(name, insn)                                                                 \
    static void name(void *p)                                                              \
    {                                                                                      \
        (void)p;                                                                           \
        __asm__ volatile(insn : : "a"(&operand[0]), "c"(0u), "d"(0u) : "memory", "cc"); \
    }
VMX_FN(do_vmxon, "vmxon (%%eax)")
VMX_FN(do_vmxoff, "vmxoff")
VMX_FN(do_vmclear, "vmclear (%%eax)")
VMX_FN(do_vmptrld, "vmptrld (%%eax)")
VMX_FN(do_vmptrst, "vmptrst (%%eax)")
VMX_FN(do_vmread, "vmread %%ecx, (%%eax)")
VMX_FN(do_vmwrite, "vmwrite (%%eax), %%ecx")
VMX_FN(do_vmlaunch, "vmlaunch")
VMX_FN(do_vmresume, "vmresume")
VMX_FN(do_invept, "invept (%%eax), %%ecx")
VMX_FN(do_invvpid, "invvpid (%%eax), %%ecx")
VMX_FN(do_vmfunc, "vmfunc")
VMX_FN(do_getsec, "getsec")

static const struct {
    const char *name;
    void (*fn)(void *);
} tests[] = {
    {"VMXON", do_vmxon},       {"VMXOFF", do_vmxoff},   {"VMCLEAR", do_vmclear}, {"VMPTRLD", do_vmptrld},
    {"VMPTRST", do_vmptrst},   {"VMREAD", do_vmread},   {"VMWRITE", do_vmwrite}, {"VMLAUNCH", do_vmlaunch},
    {"VMRESUME", do_vmresume}, {"INVEPT", do_invept},   {"INVVPID", do_invvpid}, {"VMFUNC", do_vmfunc},
    {"GETSEC", do_getsec},
};

int main(void)
{
    /* A plausible VMXON region: the revision ID would come from IA32_VMX_BASIC (hidden). */
    region[0] = 1;
    operand[0] = (u32)(uintptr_t)region;
    note("CR4 0x%x, CPUID.1:ECX.VMX %u", read_cr4(), (cpuid(1, 0).ecx >> 5) & 1);
    for (u32 i = 0; i < ARRAY_SIZE(tests); ++i) {
        int faulted = try_call(tests[i].fn, 0);
        CHECK(faulted && last_fault.vector == 6, "%s: got %s", tests[i].name,
              faulted ? vector_name(last_fault.vector) : "no exception (it completed)");
    }
    finish();
}
