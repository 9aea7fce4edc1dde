// The guest's view of model-specific registers: RDMSR/WRMSR exits are answered from a
// GuestMsrState with an explicit allow list; every other index raises #GP on read and write, as
// for an MSR the processor does not have. Among them deliberately: IA32_VMX_* (0x480-0x491, VMX
// is hidden), MSR_PLATFORM_INFO, the performance-monitoring, thermal, machine-check, LBR, RDT and
// IA32_XSS MSRs (their CPUID features are hidden). Pure: the caller passes the TSC and CR0.
//
// Where each emulated MSR lives while the guest runs (MsrResult::sync after a write):
// - VMCS guest-state fields: IA32_EFER, IA32_PAT, IA32_DEBUGCTL, IA32_SYSENTER_CS/ESP/EIP. The
//   processor loads them at every VM entry ("load IA32_EFER/PAT/debug controls") and saves them
//   at exit, but the guest cannot change them without an exit (no MSR is passed through but
//   FS/GS base), so GuestMsrState is authoritative and the caller VMWRITEs after a write.
// - The processor's own MSRs: STAR, LSTAR, CSTAR, FMASK, KERNEL_GS_BASE (SYSCALL and SWAPGS use
//   them in VMX non-root operation without exits), TSC_AUX (RDTSCP, RDPID) and SPEC_CTRL. The
//   caller loads them before entering this guest (VM-entry MSR-load list, or WRMSR when switching
//   vCPUs) and restores the host's after exit if the hypervisor relies on them. While the guest
//   owns the processor the physical MSR is the live value (SWAPGS exchanges KERNEL_GS_BASE
//   without an exit): reads say so with MsrSync::processor, and a vCPU switched out saves them
//   back into GuestMsrState.
// - The VMCS TSC offset: the guest's TSC is the host TSC plus tsc_offset ("use TSC offsetting").
// - Nowhere else: the MTRRs (with EPT the guest's MTRRs do not affect memory types; EPT memory
//   types do), IA32_MISC_ENABLE, the microcode MSRs.
// Routed to the virtual local APIC, never answered here: IA32_APIC_BASE, the x2APIC registers
// 0x800-0x8FF and IA32_TSC_DEADLINE.
#pragma once
#include <cstddef>
#include <cstdint>

#include "vmx/cpuid_policy.hpp"

namespace vmx {

namespace guest_msr {
constexpr uint32_t platform_id = 0x17, apic_base = 0x1b, feature_control = 0x3a, tsc_adjust = 0x3b,
                   spec_ctrl = 0x48, pred_cmd = 0x49, bios_updt_trig = 0x79, bios_sign_id = 0x8b,
                   mtrr_cap = 0xfe, sysenter_cs = 0x174, sysenter_esp = 0x175, sysenter_eip = 0x176,
                   misc_enable = 0x1a0, debugctl = 0x1d9, mtrr_phys_base0 = 0x200, mtrr_phys_mask7 = 0x20f,
                   mtrr_fix64k_00000 = 0x250, mtrr_fix16k_80000 = 0x258, mtrr_fix16k_a0000 = 0x259,
                   mtrr_fix4k_c0000 = 0x268, mtrr_fix4k_f8000 = 0x26f, pat = 0x277, mtrr_def_type = 0x2ff,
                   tsc_deadline = 0x6e0, x2apic_first = 0x800, x2apic_last = 0x8ff, tsc = 0x10;
constexpr uint32_t efer = 0xc0000080, star = 0xc0000081, lstar = 0xc0000082, cstar = 0xc0000083,
                   fmask = 0xc0000084, fs_base = 0xc0000100, gs_base = 0xc0000101, kernel_gs_base = 0xc0000102,
                   tsc_aux = 0xc0000103;
}  // namespace guest_msr

constexpr uint64_t default_pat = 0x0007040600070406;
// IA32_MTRRCAP: 8 variable ranges, fixed ranges supported (bit 8), write-combining (bit 10).
constexpr uint64_t guest_mtrr_cap = 0x508;
// IA32_MISC_ENABLE: fast strings (bit 0), BTS unavailable (11), PEBS unavailable (12).
constexpr uint64_t guest_misc_enable = 0x1801;

// What the guest's CPUID shows, which decides whether some MSRs exist.
struct MsrConfig {
    uint64_t spec_ctrl_bits;         // IA32_SPEC_CTRL bits the guest may set; 0: no such MSR
    bool pred_cmd;                   // IA32_PRED_CMD (IBPB) exists
    bool tsc_aux;                    // RDTSCP or RDPID shown
    bool tsc_adjust;                 // CPUID.(EAX=7,ECX=0):EBX[1]
    uint8_t physical_address_bits;   // MTRR base/mask width
    uint8_t linear_address_bits;     // canonical checks: 48, or 57 with LA57
};
// From the guest's CPUID leaves 7.0, 0x80000001 and 0x80000008 (guest_cpuid() results).
MsrConfig msr_config(const CpuidRegs& guest_leaf7, const CpuidRegs& guest_ext1, const CpuidRegs& guest_ext8);

struct GuestMsrState {
    MsrConfig config;
    // Also in the VMCS.
    uint64_t efer, pat, debugctl;
    uint32_t sysenter_cs;
    uint64_t sysenter_esp, sysenter_eip;
    // Loaded into the processor for the guest.
    uint64_t star, lstar, cstar, fmask, kernel_gs_base, tsc_aux, spec_ctrl;
    // Guest TSC = host TSC + tsc_offset; TSC_ADJUST tracks the guest's own TSC writes.
    uint64_t tsc_offset, tsc_adjust;
    // Emulated only.
    uint64_t misc_enable, mtrr_def_type;
    uint64_t mtrr_fixed[11];  // 64K_00000, 16K_80000, 16K_A0000, 4K_C0000 ... 4K_F8000
    uint64_t mtrr_base[8], mtrr_mask[8];
};

// The power-on values, except IA32_MTRR_DEF_TYPE = 0x806 (MTRRs enabled, default write-back):
// Multiboot guests have no firmware to program the MTRRs, and firmware that does rewrites it.
GuestMsrState initial_msr_state(const MsrConfig& config, uint64_t tsc_offset);

enum class MsrAction : uint8_t {
    ok,            // done: `value` is the result of a read
    gp,            // inject #GP(0); nothing changed
    apic_base,     // IA32_APIC_BASE: the vLAPIC handles it
    x2apic,        // 0x800-0x8FF: the vLAPIC handles it
    tsc_deadline,  // IA32_TSC_DEADLINE: the vLAPIC handles it
    ibpb,          // a valid IA32_PRED_CMD write: issue the barrier (WRMSR PRED_CMD 1) on the host
};

// Where the MSR's live value is (see the top of this file). After an ok write: where `value`
// must be copied. After an ok read: `processor` means read the physical MSR instead of `value`
// (which is the last value written through write_msr); every other read answer is `none`.
enum class MsrSync : uint8_t {
    none,
    vmcs,        // the VMCS guest field of the MSR (EFER, PAT, DEBUGCTL, SYSENTER_CS/ESP/EIP)
    processor,   // the physical MSR with the same index, while this guest runs
    tsc_offset,  // the VMCS TSC offset
};

struct MsrResult {
    MsrAction action;
    MsrSync sync;
    uint64_t value;  // read: the value; write: what to sync (e.g. EFER with LMA kept)
};

MsrResult read_msr(const GuestMsrState& state, uint32_t index, uint64_t now_tsc);
// `guest_cr0`: the CR0 the guest sees (EFER.LME cannot change while CR0.PG=1).
MsrResult write_msr(GuestMsrState& state, uint32_t index, uint64_t value, uint64_t now_tsc, uint64_t guest_cr0);

// MSRs the guest reads and writes without exits. Only FS_BASE and GS_BASE: their home is the
// VMCS guest segment bases, which every VM exit saves and every VM entry loads, and the
// processor's WRMSR does the canonical check; Linux writes them on context switches. Everything
// else needs validation or lives outside the VMCS. read_msr/write_msr answer #GP for these: a
// trap for them means the bitmap is wrong.
constexpr uint32_t passthrough_msrs[] = {guest_msr::fs_base, guest_msr::gs_base};

// The 4-KiB MSR bitmap (SDM Vol. 3C 25.6.9 "MSR-Bitmap Address"): every MSR intercepted except
// passthrough_msrs. MSRs outside 0-0x1FFF and 0xC0000000-0xC0001FFF always exit.
constexpr size_t msr_bitmap_size = 4096;
void fill_msr_bitmap(uint8_t* bitmap);
bool msr_bitmap_intercepts(const uint8_t* bitmap, uint32_t index, bool write);

}  // namespace vmx
