#include "vmx/exit_reason.hpp"

namespace exit_reason {

const char* name(uint32_t reason)
{
    static const char* const names[count] = {
        "exception/NMI", "external interrupt", "triple fault", "INIT", "SIPI", "I/O SMI", "other SMI",
        "interrupt window", "NMI window", "task switch", "CPUID", "GETSEC", "HLT", "INVD", "INVLPG", "RDPMC",
        "RDTSC", "RSM", "VMCALL", "VMCLEAR", "VMLAUNCH", "VMPTRLD", "VMPTRST", "VMREAD", "VMRESUME",
        "VMWRITE", "VMXOFF", "VMXON", "CR access", "DR access", "I/O", "RDMSR", "WRMSR", "invalid guest state",
        "MSR loading", nullptr, "MWAIT", "monitor trap flag", nullptr, "MONITOR", "PAUSE", "machine check",
        nullptr, "TPR below threshold", "APIC access", "virtualized EOI", "GDTR/IDTR access",
        "LDTR/TR access", "EPT violation", "EPT misconfiguration", "INVEPT", "RDTSCP", "preemption timer",
        "INVVPID", "WBINVD", "XSETBV", "APIC write", "RDRAND", "INVPCID", "VMFUNC", "ENCLS", "RDSEED",
        "PML full", "XSAVES", "XRSTORS", nullptr, nullptr, "UMWAIT", "TPAUSE"};
    uint32_t basic = reason & 0xffff;
    if (basic < count && names[basic]) return names[basic];
    return "unknown";
}

}  // namespace exit_reason
