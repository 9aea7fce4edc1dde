// What a guest sees for CPUID (SDM Vol. 2A "CPUID—CPU Identification"). CPUID always causes a VM
// exit; the handler asks host_query() which leaf to execute on the host, executes it (or not) and
// passes the result to guest_cpuid(). Pure functions of their inputs.
//
// Policy: an allow list per register, so a feature this hypervisor does not know stays hidden.
// - Hidden because VMX non-root operation or Matryoshka cannot back them: VMX, SMX (no nested
//   virtualization, no TXT); MONITOR/MWAIT (MWAIT exits; leaf 5 zeroed); perfmon (leaf 0xA zeroed,
//   PDCM, DS, DTES64, DS-CPL: no PMU virtualization); thermal/power MSRs (EIST, TM, TM2, ACPI,
//   PBE; leaf 6 only says ARAT); MCE/MCA (no machine-check bank emulation); SDBG, xTPR, DCA, PSN;
//   leaf 7: SGX (and SGX-LC), Intel PT, RDT monitoring/allocation, MPX, WAITPKG (UMWAIT control
//   MSR not emulated), CET (no CET MSRs), PKS, ENQCMD, UINTR, Key Locker, AMX (needs XFD
//   and its XSAVE components), ARCH_LBR, HYBRID, PCONFIG, TME, bus-lock detection, L1D_FLUSH,
//   ARCH_CAPABILITIES and CORE_CAPABILITIES (their MSRs are not emulated); HLE and RTM (TSX is
//   disabled by microcode on many parts after TAA, and its availability would differ between
//   hosts); XSAVES (IA32_XSS is not emulated).
// - Shown although the host may not have them, because Matryoshka emulates them: x2APIC and the
//   local APIC, the TSC-deadline timer, the hypervisor bit (ECX[31]), ARAT (the virtual APIC timer
//   never stops).
// - Conditional: OSXSAVE and OSPKE follow the guest's CR4; RDTSCP and RDPID need the "enable
//   RDTSCP" control, INVPCID the "enable INVPCID" control (without them the instructions #UD).
// - Speculation control (leaf 7 EDX: IBRS/IBPB, STIBP, SSBD) is shown when the host has it;
//   msr_policy emulates IA32_SPEC_CTRL and IA32_PRED_CMD for exactly what is shown.
// - PCID is shown: with VPID the processor tags guest translations itself.
// - Topology: one package, one thread per core, vm.vcpu_count cores; x2APIC IDs are
//   vm.apic_id (leaf 1 EBX[31:24] holds its low 8 bits). Leaves 4, 0xB and 0x1F agree with
//   leaf 1 EBX[23:16] and HTT.
// - Leaf 0xD: XCR0 components x87, SSE, AVX, AVX-512 (opmask, ZMM_Hi256, Hi16_ZMM) and PKRU, as
//   far as the host has them; no supervisor components. EBX of subleaf 0 and 1 reports the size
//   for the XCR0 in force when the host executes CPUID: execute it with the guest's XCR0 loaded.
// - The highest basic leaf is the host's, at most 0x1F; the highest extended leaf the host's, at
//   most 0x80000008. Any leaf above them, outside 0x40000000-0x400001FF, returns what the highest
//   basic leaf returns for the same subleaf, as Intel processors do (SDM Vol. 2A CPUID, "If a value
//   entered for CPUID.EAX is higher than the maximum input value for basic or extended function
//   for that processor then the data for the highest basic information leaf is returned").
// - Hypervisor leaves, two interfaces in 0x100-leaf windows (as Xen and Hyper-V coexist: a guest
//   scans 0x40000000, 0x40000100, ... for the signature it knows, and Linux's kvm_cpuid_base() and
//   Xen's probe do exactly that):
//   0x40000000 = {EAX: 0x40000001, the highest leaf of the window; "KVMK" "VMKV" "M\0\0\0"},
//   0x40000001 = {EAX: the KVM paravirtual features implemented (kvm_feature), 0, 0, EDX: no hints};
//   0x40000100 = {EAX: 0x40000101; "Matr" "yosh" "kaHV"}, 0x40000101 = {EAX: Matryoshka's own
//   feature bits (hv_feature), 0, 0, 0}. Every other leaf of 0x40000000-0x400001FF reads zeros.
//   An unmodified Linux finds KVM's ABI first; Matryoshka's test guests look for 0x40000100.
#pragma once
#include <cstdint>

namespace vmx {

struct CpuidRegs {
    uint32_t eax, ebx, ecx, edx;
    constexpr bool operator==(const CpuidRegs&) const = default;
};

// The KVM-compatible window (Documentation/virt/kvm/x86/cpuid.rst).
namespace kvm_leaf {
constexpr uint32_t base = 0x40000000, features = 0x40000001;
// "KVMKVMKVM\0\0\0" four characters a register, little-endian.
constexpr uint32_t signature_ebx = 0x4b4d564b, signature_ecx = 0x564b4d56, signature_edx = 0x4d;
}  // namespace kvm_leaf

// CPUID.40000001H:EAX bits, only for what vmx/kvm_pv implements.
namespace kvm_feature {
constexpr uint32_t clocksource2 = 1u << 3;         // MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_WALL_CLOCK_NEW
constexpr uint32_t steal_time = 1u << 5;           // MSR_KVM_STEAL_TIME
constexpr uint32_t pv_unhalt = 1u << 7;            // KVM_HC_KICK_CPU ends a HLT (vmx/hypercall.hpp)
constexpr uint32_t pv_sched_yield = 1u << 13;      // KVM_HC_SCHED_YIELD
constexpr uint32_t clocksource_stable = 1u << 24;  // PVCLOCK_TSC_STABLE_BIT is meaningful
// Every VM gets these; clocksource_stable only where the host TSC is invariant.
constexpr uint32_t always = clocksource2 | steal_time | pv_unhalt | pv_sched_yield;
}  // namespace kvm_feature

// Matryoshka's own window.
namespace hv_leaf {
constexpr uint32_t base = 0x40000100, features = 0x40000101;
// Both windows: 0x40000000-0x400001FF.
constexpr uint32_t first = 0x40000000, last = 0x400001ff;
// "MatryoshkaHV" as CPUID returns vendor strings: four characters a register, little-endian.
constexpr uint32_t signature_ebx = 0x7274614d, signature_ecx = 0x68736f79, signature_edx = 0x5648616b;
}  // namespace hv_leaf

// CPUID.40000001H:EAX.
namespace hv_feature {
constexpr uint32_t console = 1u << 0;  // the console hypercall
}

constexpr uint32_t invariant_tsc = 1u << 8;  // CPUID.80000007H:EDX

constexpr uint32_t guest_max_basic_limit = 0x1f;
constexpr uint32_t guest_max_extended_limit = 0x80000008;

// The VM and vCPU a CPUID answer is for.
struct CpuidView {
    uint32_t vcpu_count;         // cores of the VM's single package, one thread each
    uint32_t apic_id;            // this vCPU's x2APIC ID
    uint64_t guest_cr4;          // what the guest reads from CR4 (OSXSAVE, PKE)
    uint32_t host_max_basic;     // host CPUID.0:EAX
    uint32_t host_max_extended;  // host CPUID.80000000H:EAX
    bool rdtscp;                 // the "enable RDTSCP" control is set
    bool invpcid;                // the "enable INVPCID" control is set
    uint32_t hypervisor_features = hv_feature::console;
    uint32_t kvm_features = kvm_feature::always;
    // The TSC frequency the guest is told (leaves 0x15 and 0x16, which then exist whatever the
    // host's highest basic leaf); 0: the host's leaves as they are.
    uint64_t tsc_hz = 0;
};

// The host leaf and subleaf whose result guest_cpuid() needs; needed=false when it builds the
// answer alone (hypervisor leaves, topology, zeroed leaves), so the host CPUID can be skipped.
struct CpuidQuery {
    bool needed;
    uint32_t leaf, subleaf;
};
CpuidQuery host_query(uint32_t leaf, uint32_t subleaf, const CpuidView& vm);

// The guest's CPUID(leaf, subleaf). `host` is the host's result for host_query(leaf, subleaf).
CpuidRegs guest_cpuid(uint32_t leaf, uint32_t subleaf, const CpuidRegs& host, const CpuidView& vm);

// CR4 bits the guest may set given what its CPUID shows (its leaves 1 and 7.0), for
// make_cr_config(): a CR4 bit whose feature is absent raises #GP as on such a processor.
uint64_t guest_cr4_allowed(const CpuidRegs& guest_leaf1, const CpuidRegs& guest_leaf7);

// XCR0 bits XSETBV may set: the guest's CPUID.(EAX=0DH,ECX=0):EDX:EAX.
constexpr uint64_t guest_xcr0_allowed(const CpuidRegs& guest_leaf_d0)
{
    return (uint64_t(guest_leaf_d0.edx) << 32) | guest_leaf_d0.eax;
}

}  // namespace vmx
