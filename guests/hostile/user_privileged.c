/* hostile user_privileged: from CPL 3 (IOPL 0), every privileged instruction whose CPL 0 form
 * exits to the hypervisor, and a few that must fault before any exit: RDMSR, WRMSR, MOV to and
 * from CR0/CR3/CR4, LMSW, CLTS, HLT, IN/OUT/INS/OUTS (among them a write to the debug-exit port
 * 0xf4), CLI, INVD, WBINVD, INVLPG, LGDT, MOV to DR7, RDPMC with CR4.PCE=0, RDTSC and RDTSCP
 * with CR4.TSD=1, XSETBV.
 * hardware: #GP(0) for each (SDM Vol. 3 5.9 "Privileged Instructions", Vol. 1 19.5.1 for I/O
 * and CLI under IOPL 0, the instructions' Protected Mode Exceptions in Vol. 2). These checks
 * come before any VM exit (SDM Vol. 3 26.1.1), so the hypervisor never emulates them for CPL 3:
 * the debug-exit write does not end the VM, no MSR or CR changes.
 * expect: contained
 */
#include "guest.h"

TEST("user_privileged");

/* USER_INSN(name, asm operands...): a function that executes one instruction. */
#define USER_INSN(name, ...)           \
    static void name(void *p)          \
    {                                  \
        (void)p;                       \
        __asm__ volatile(__VA_ARGS__); \
    }
static u8 scratch[16];
static const u8 gdtr[6];
USER_INSN(do_rdmsr, "rdmsr" : : "c"(MSR_EFER) : "eax", "edx")
USER_INSN(do_wrmsr, "wrmsr" : : "c"(MSR_EFER), "a"(1), "d"(0))
USER_INSN(do_wrmsr_pat, "wrmsr" : : "c"(MSR_PAT), "a"(0), "d"(0))
USER_INSN(do_mov_to_cr0, "mov %0, %%cr0" : : "r"(0x80000011u))
USER_INSN(do_mov_from_cr0, "mov %%cr0, %%eax" : : : "eax")
USER_INSN(do_mov_to_cr3, "mov %0, %%cr3" : : "r"(0u))
USER_INSN(do_mov_from_cr3, "mov %%cr3, %%eax" : : : "eax")
USER_INSN(do_mov_to_cr4, "mov %0, %%cr4" : : "r"(0x2000u))
USER_INSN(do_mov_from_cr4, "mov %%cr4, %%eax" : : : "eax")
USER_INSN(do_lmsw, "lmsw %w0" : : "r"(0xfu))
USER_INSN(do_clts, "clts")
USER_INSN(do_hlt, "hlt")
USER_INSN(do_out_exit, "outb %%al, $0xf4" : : "a"(0))
USER_INSN(do_out_uart, "outb %%al, %%dx" : : "a"('!'), "d"(COM1))
USER_INSN(do_in_uart, "inb %%dx, %%al" : : "d"(COM1 + 5) : "eax")
USER_INSN(do_outsb, "rep outsb" : : "S"(scratch), "c"(4), "d"(COM1))
USER_INSN(do_insb, "rep insb" : : "D"(scratch), "c"(4), "d"(COM1))
USER_INSN(do_in_cmos, "inb $0x71, %%al" : : : "eax")
USER_INSN(do_cli, "cli")
USER_INSN(do_invd, "invd")
USER_INSN(do_wbinvd, "wbinvd")
USER_INSN(do_invlpg, "invlpg (%0)" : : "r"(scratch))
USER_INSN(do_lgdt, "lgdt (%0)" : : "r"(gdtr))
USER_INSN(do_mov_dr7, "mov %0, %%dr7" : : "r"(0x400u))
USER_INSN(do_rdpmc, "rdpmc" : : "c"(0) : "eax", "edx")
USER_INSN(do_rdtsc, "rdtsc" : : : "eax", "edx")
USER_INSN(do_rdtscp, "rdtscp" : : : "eax", "ecx", "edx")
USER_INSN(do_xsetbv, "xsetbv" : : "c"(0), "a"(3), "d"(0))

static void expect_user_gp(const char *what, void (*fn)(void *))
{
    int f = try_user(fn, 0);
    CHECK(f && last_fault.vector == 13 && last_fault.error == 0, "CPL 3 %s: #GP(0) (got %s, error 0x%x)", what,
          f ? vector_name(last_fault.vector) : "no fault", last_fault.error);
}

int main(void)
{
    u64 efer = rdmsr(MSR_EFER), pat = rdmsr(MSR_PAT);
    u32 cr0 = read_cr0(), cr3 = read_cr3(), cr4 = read_cr4();
    expect_user_gp("RDMSR", do_rdmsr);
    expect_user_gp("WRMSR IA32_EFER", do_wrmsr);
    expect_user_gp("WRMSR IA32_PAT", do_wrmsr_pat);
    expect_user_gp("MOV to CR0", do_mov_to_cr0);
    expect_user_gp("MOV from CR0", do_mov_from_cr0);
    expect_user_gp("MOV to CR3", do_mov_to_cr3);
    expect_user_gp("MOV from CR3", do_mov_from_cr3);
    expect_user_gp("MOV to CR4 (VMXE)", do_mov_to_cr4);
    expect_user_gp("MOV from CR4", do_mov_from_cr4);
    expect_user_gp("LMSW", do_lmsw);
    expect_user_gp("CLTS", do_clts);
    expect_user_gp("HLT", do_hlt);
    expect_user_gp("OUT to the debug-exit port 0xf4", do_out_exit);
    expect_user_gp("OUT to the UART", do_out_uart);
    expect_user_gp("IN from the UART", do_in_uart);
    expect_user_gp("REP OUTSB to the UART", do_outsb);
    expect_user_gp("REP INSB from the UART", do_insb);
    expect_user_gp("IN from CMOS", do_in_cmos);
    expect_user_gp("CLI", do_cli);
    expect_user_gp("INVD", do_invd);
    expect_user_gp("WBINVD", do_wbinvd);
    expect_user_gp("INVLPG", do_invlpg);
    expect_user_gp("LGDT", do_lgdt);
    expect_user_gp("MOV to DR7", do_mov_dr7);
    expect_user_gp("RDPMC with CR4.PCE=0", do_rdpmc);
    CHECK(!try_user(do_rdtsc, 0), "CPL 3 RDTSC with CR4.TSD=0 works");
    write_cr4(cr4 | (1u << 2)); /* TSD */
    expect_user_gp("RDTSC with CR4.TSD=1", do_rdtsc);
    if (cpuid(0x80000001, 0).edx & (1u << 27)) expect_user_gp("RDTSCP with CR4.TSD=1", do_rdtscp);
    else skip("RDTSCP (CPUID.80000001H:EDX[27] is 0)");
    write_cr4(cr4);
    if (cpuid(1, 0).ecx & CPUID1_ECX_XSAVE) {
        write_cr4(cr4 | (1u << 18)); /* OSXSAVE: else XSETBV is #UD at any CPL */
        expect_user_gp("XSETBV", do_xsetbv);
        write_cr4(cr4);
    } else {
        skip("XSETBV (CPUID.1:ECX.XSAVE is 0)");
    }

    CHECK(rdmsr(MSR_EFER) == efer && rdmsr(MSR_PAT) == pat, "IA32_EFER and IA32_PAT unchanged");
    CHECK(read_cr0() == cr0 && read_cr3() == cr3 && read_cr4() == cr4, "CR0, CR3, CR4 unchanged");
    finish();
}
