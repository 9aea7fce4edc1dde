/* hostile hidden_instructions: at CPL 0, instructions whose feature the guest's CPUID hides or
 * that exit to the hypervisor with a fixed answer: MONITOR, MWAIT, RDPMC of counter 0 and of a
 * fixed counter, ENCLS/ENCLU/ENCLV (SGX), PCONFIG, AMD's VMMCALL/VMRUN/SKINIT/INVLPGA, INVPCID
 * with type 4, RDTSCP and RDPID (they return IA32_TSC_AUX), INVD and WBINVD.
 * hardware: #UD where CPUID does not report the instruction (SDM Vol. 2, each instruction's
 * exceptions: MONITOR/MWAIT CPUID.1:ECX[3], ENCLS & co. CPUID.(EAX=7):EBX[2], PCONFIG
 * 7:EDX[18], RDPID 7:ECX[22], RDTSCP 80000001H:EDX[27], INVPCID 7:EBX[10]; the AMD SVM
 * instructions do not exist on Intel); RDPMC of a counter that does not exist (CPUID leaf 0AH
 * reports none) #GP(0); INVPCID type > 3 #GP(0); INVD and WBINVD complete.
 * expect: contained
 */
#include "guest.h"

TEST("hidden_instructions");

#define INSN(name, ...)                \
    static void name(void *p)          \
    {                                  \
        (void)p;                       \
        __asm__ volatile(__VA_ARGS__); \
    }
static u32 aux_read;
static struct { u64 pcid, address; } invpcid_desc;
INSN(do_monitor, "monitor" : : "a"(0x100000), "c"(0), "d"(0) : "memory")
INSN(do_mwait, "mwait" : : "a"(0), "c"(0) : "memory")
INSN(do_rdpmc0, "rdpmc" : : "c"(0) : "eax", "edx")
INSN(do_rdpmc_fixed, "rdpmc" : : "c"(0x40000000) : "eax", "edx")
INSN(do_encls, ".byte 0x0f, 0x01, 0xcf" : : "a"(0) : "memory")
INSN(do_enclu, ".byte 0x0f, 0x01, 0xd7" : : "a"(0) : "memory")
INSN(do_enclv, ".byte 0x0f, 0x01, 0xc0" : : "a"(0) : "memory")
INSN(do_pconfig, ".byte 0x0f, 0x01, 0xc5" : : "a"(0) : "memory")
INSN(do_vmmcall, ".byte 0x0f, 0x01, 0xd9" : : "a"(HC_NOP) : "memory")
INSN(do_vmrun, ".byte 0x0f, 0x01, 0xd8" : : "a"(0x100000) : "memory")
INSN(do_skinit, ".byte 0x0f, 0x01, 0xde" : : "a"(0x100000) : "memory")
INSN(do_invlpga, ".byte 0x0f, 0x01, 0xdf" : : "a"(0), "c"(0) : "memory")
INSN(do_invpcid4, "invpcid (%0), %1" : : "r"(&invpcid_desc), "r"(4) : "memory")
INSN(do_invpcid2, "invpcid (%0), %1" : : "r"(&invpcid_desc), "r"(2) : "memory")
INSN(do_rdtscp, "rdtscp; movl %%ecx, %0" : "=m"(aux_read) : : "eax", "ecx", "edx")
INSN(do_rdpid, ".byte 0xf3, 0x0f, 0xc7, 0xf8; movl %%eax, %0" : "=m"(aux_read) : : "eax")
INSN(do_invd, "invd" : : : "memory")
INSN(do_wbinvd, "wbinvd" : : : "memory")

static void expect(const char *what, void (*fn)(void *), int vector)
{
    int f = try_call(fn, 0);
    if (vector < 0)
        CHECK(!f, "%s completes (%s)", what, f ? vector_name(last_fault.vector) : "no fault");
    else
        CHECK(f && last_fault.vector == (u32)vector, "%s raises %s (%s)", what, vector_name((u32)vector),
              f ? vector_name(last_fault.vector) : "no fault");
}

int main(void)
{
    struct cpuid_regs l1 = cpuid(1, 0), l7 = cpuid(7, 0), e1 = cpuid(0x80000001, 0);
    u32 max = cpuid(0, 0).eax;
    struct cpuid_regs pmu = max >= 0xa ? cpuid(0xa, 0) : (struct cpuid_regs){0, 0, 0, 0};
    int ud = 6, gp = 13;
    expect("MONITOR", do_monitor, (l1.ecx & (1u << 3)) ? -1 : ud);
    if (!(l1.ecx & (1u << 3))) expect("MWAIT", do_mwait, ud);
    if ((pmu.eax & 0xff) == 0) {
        expect("RDPMC of counter 0 (CPUID leaf 0AH: no counters)", do_rdpmc0, gp);
        expect("RDPMC of fixed counter 0", do_rdpmc_fixed, gp);
    } else {
        skip("RDPMC (CPUID leaf 0AH reports counters)");
    }
    int sgx = (l7.ebx >> 2) & 1;
    if (!sgx) {
        expect("ENCLS (no SGX)", do_encls, ud);
        expect("ENCLU (no SGX)", do_enclu, ud);
        expect("ENCLV (no SGX)", do_enclv, ud);
    }
    if (!(l7.edx & (1u << 18))) expect("PCONFIG", do_pconfig, ud);
    expect("VMMCALL (AMD)", do_vmmcall, ud);
    expect("VMRUN (AMD)", do_vmrun, ud);
    expect("SKINIT (AMD)", do_skinit, ud);
    expect("INVLPGA (AMD)", do_invlpga, ud);
    if (l7.ebx & (1u << 10)) {
        expect("INVPCID type 4", do_invpcid4, gp);
        expect("INVPCID type 2 (all contexts)", do_invpcid2, -1);
    } else {
        expect("INVPCID (not in CPUID)", do_invpcid2, ud);
    }
    int rdtscp = (e1.edx >> 27) & 1, rdpid = (l7.ecx >> 22) & 1;
    if (rdtscp || rdpid) wrmsr(0xc0000103, 0x1234);
    if (rdtscp) {
        expect("RDTSCP", do_rdtscp, -1);
        CHECK(aux_read == 0x1234, "RDTSCP returns IA32_TSC_AUX in ECX (0x%x)", aux_read);
    } else {
        expect("RDTSCP (not in CPUID)", do_rdtscp, ud);
    }
    if (rdpid) {
        aux_read = 0;
        expect("RDPID", do_rdpid, -1);
        CHECK(aux_read == 0x1234, "RDPID returns IA32_TSC_AUX (0x%x)", aux_read);
    } else {
        expect("RDPID (not in CPUID)", do_rdpid, ud);
    }
    expect("INVD", do_invd, -1);
    expect("WBINVD", do_wbinvd, -1);
    finish();
}
