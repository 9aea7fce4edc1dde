// Decoding of the VMX capability MSRs (Intel SDM Vol. 3C/3D Appendix A, "VMX Capability Reporting
// Facility"): which MSRs exist, the VMCS control words the hypervisor will use, the feature summary
// for the boot log and the requirement check. Pure functions of the raw MSR values: the code that
// executes RDMSR lives elsewhere, so this unit also runs in host tests.
#pragma once
#include <cstddef>
#include <cstdint>

namespace vmx {

namespace msr {
constexpr uint32_t basic = 0x480;
constexpr uint32_t pinbased_ctls = 0x481;
constexpr uint32_t procbased_ctls = 0x482;
constexpr uint32_t exit_ctls = 0x483;
constexpr uint32_t entry_ctls = 0x484;
constexpr uint32_t misc = 0x485;
constexpr uint32_t cr0_fixed0 = 0x486;
constexpr uint32_t cr0_fixed1 = 0x487;
constexpr uint32_t cr4_fixed0 = 0x488;
constexpr uint32_t cr4_fixed1 = 0x489;
constexpr uint32_t vmcs_enum = 0x48a;
constexpr uint32_t procbased_ctls2 = 0x48b;
constexpr uint32_t ept_vpid_cap = 0x48c;
constexpr uint32_t true_pinbased_ctls = 0x48d;
constexpr uint32_t true_procbased_ctls = 0x48e;
constexpr uint32_t true_exit_ctls = 0x48f;
constexpr uint32_t true_entry_ctls = 0x490;
constexpr uint32_t vmfunc = 0x491;
// Every MSR's existence depends only on MSRs with a lower index, so reading in ascending order
// with msr_exists() in front of each RDMSR never touches a missing one.
constexpr uint32_t first = basic;
constexpr uint32_t last = vmfunc;
}  // namespace msr

// Raw values. A field whose MSR does not exist must stay 0 (reading it would #GP).
struct CapabilityMsrs {
    uint64_t basic;
    uint64_t pinbased_ctls;
    uint64_t procbased_ctls;
    uint64_t exit_ctls;
    uint64_t entry_ctls;
    uint64_t misc;
    uint64_t cr0_fixed0;
    uint64_t cr0_fixed1;
    uint64_t cr4_fixed0;
    uint64_t cr4_fixed1;
    uint64_t vmcs_enum;
    uint64_t procbased_ctls2;
    uint64_t ept_vpid_cap;
    uint64_t true_pinbased_ctls;
    uint64_t true_procbased_ctls;
    uint64_t true_exit_ctls;
    uint64_t true_entry_ctls;
    uint64_t vmfunc;
};

// Existence rules (SDM A.1, A.3.3, A.10, A.11). 0x480-0x48A exist whenever CPUID.1:ECX.VMX is 1;
// the rest depend on bits of MSRs read before them, looked up in `read_so_far`.
bool has_procbased_ctls2(const CapabilityMsrs& read_so_far);  // PROCBASED_CTLS bit 63
bool has_ept_vpid_cap(const CapabilityMsrs& read_so_far);     // ...and PROCBASED_CTLS2 bit 33 or 37
bool has_true_controls(const CapabilityMsrs& read_so_far);    // BASIC bit 55
bool has_vmfunc(const CapabilityMsrs& read_so_far);           // ...and PROCBASED_CTLS2 bit 45
bool msr_exists(const CapabilityMsrs& read_so_far, uint32_t index);  // false outside 0x480-0x491
// Puts `value` into the field for `index`; false (and nothing stored) for an unknown index.
bool store_msr(CapabilityMsrs& msrs, uint32_t index, uint64_t value);

// Control bits (SDM Vol. 3C 24.6.1 "Pin-Based VM-Execution Controls", 24.6.2 "Processor-Based
// VM-Execution Controls", 24.7.1 "VM-Exit Controls", 24.8.1 "VM-Entry Controls").
namespace pin {
constexpr uint32_t external_interrupt_exiting = 1u << 0;
constexpr uint32_t nmi_exiting = 1u << 3;
constexpr uint32_t virtual_nmis = 1u << 5;
constexpr uint32_t preemption_timer = 1u << 6;
constexpr uint32_t posted_interrupts = 1u << 7;
constexpr uint32_t default1 = 0x00000016;  // bits 1, 2, 4 (SDM A.3.1)
}  // namespace pin

namespace proc {
constexpr uint32_t interrupt_window_exiting = 1u << 2;
constexpr uint32_t use_tsc_offsetting = 1u << 3;
constexpr uint32_t hlt_exiting = 1u << 7;
constexpr uint32_t invlpg_exiting = 1u << 9;
constexpr uint32_t mwait_exiting = 1u << 10;
constexpr uint32_t rdpmc_exiting = 1u << 11;
constexpr uint32_t rdtsc_exiting = 1u << 12;
constexpr uint32_t cr3_load_exiting = 1u << 15;
constexpr uint32_t cr3_store_exiting = 1u << 16;
constexpr uint32_t cr8_load_exiting = 1u << 19;
constexpr uint32_t cr8_store_exiting = 1u << 20;
constexpr uint32_t use_tpr_shadow = 1u << 21;
constexpr uint32_t nmi_window_exiting = 1u << 22;
constexpr uint32_t mov_dr_exiting = 1u << 23;
constexpr uint32_t unconditional_io_exiting = 1u << 24;
constexpr uint32_t use_io_bitmaps = 1u << 25;
constexpr uint32_t monitor_trap_flag = 1u << 27;
constexpr uint32_t use_msr_bitmaps = 1u << 28;
constexpr uint32_t monitor_exiting = 1u << 29;
constexpr uint32_t pause_exiting = 1u << 30;
constexpr uint32_t activate_secondary = 1u << 31;
constexpr uint32_t default1 = 0x0401e172;  // bits 1, 4-6, 8, 13-16, 26 (SDM A.3.2)
}  // namespace proc

// No default1 class and no TRUE MSR for these (SDM A.3.3).
namespace proc2 {
constexpr uint32_t virtualize_apic_accesses = 1u << 0;
constexpr uint32_t enable_ept = 1u << 1;
constexpr uint32_t descriptor_table_exiting = 1u << 2;
constexpr uint32_t enable_rdtscp = 1u << 3;
constexpr uint32_t virtualize_x2apic_mode = 1u << 4;
constexpr uint32_t enable_vpid = 1u << 5;
constexpr uint32_t wbinvd_exiting = 1u << 6;
constexpr uint32_t unrestricted_guest = 1u << 7;
constexpr uint32_t apic_register_virtualization = 1u << 8;
constexpr uint32_t virtual_interrupt_delivery = 1u << 9;
constexpr uint32_t pause_loop_exiting = 1u << 10;
constexpr uint32_t rdrand_exiting = 1u << 11;
constexpr uint32_t enable_invpcid = 1u << 12;
constexpr uint32_t enable_vmfunc = 1u << 13;
constexpr uint32_t vmcs_shadowing = 1u << 14;
constexpr uint32_t rdseed_exiting = 1u << 16;
constexpr uint32_t enable_pml = 1u << 17;
constexpr uint32_t ept_violation_ve = 1u << 18;
constexpr uint32_t enable_xsaves = 1u << 20;
constexpr uint32_t tsc_scaling = 1u << 25;
}  // namespace proc2

namespace exit {
constexpr uint32_t save_debug_controls = 1u << 2;
constexpr uint32_t host_address_space_size = 1u << 9;
constexpr uint32_t load_perf_global_ctrl = 1u << 12;
constexpr uint32_t ack_interrupt_on_exit = 1u << 15;
constexpr uint32_t save_ia32_pat = 1u << 18;
constexpr uint32_t load_ia32_pat = 1u << 19;
constexpr uint32_t save_ia32_efer = 1u << 20;
constexpr uint32_t load_ia32_efer = 1u << 21;
constexpr uint32_t save_preemption_timer = 1u << 22;
constexpr uint32_t default1 = 0x00036dff;  // bits 0-8, 10, 11, 13, 14, 16, 17 (SDM A.4)
}  // namespace exit

namespace entry {
constexpr uint32_t load_debug_controls = 1u << 2;
constexpr uint32_t ia32e_mode_guest = 1u << 9;
constexpr uint32_t load_perf_global_ctrl = 1u << 13;
constexpr uint32_t load_ia32_pat = 1u << 14;
constexpr uint32_t load_ia32_efer = 1u << 15;
constexpr uint32_t default1 = 0x000011ff;  // bits 0-8, 12 (SDM A.5)
}  // namespace entry

struct ControlWord {
    uint32_t value;
    uint32_t missing;  // required bits the processor cannot set
    constexpr bool ok() const { return missing == 0; }
};

// Allowed-0 settings are the low 32 bits (a 1 there means the bit must be 1), allowed-1 settings
// the high 32 bits (a 0 there means the bit must be 0) (SDM A.3.1).
constexpr ControlWord compute_control(uint64_t capability_msr, uint32_t required, uint32_t optional)
{
    uint32_t allowed0 = uint32_t(capability_msr);
    uint32_t allowed1 = uint32_t(capability_msr >> 32);
    return {(required | optional | allowed0) & allowed1, required & ~allowed1};
}

enum class ControlKind { pinbased, procbased, procbased2, exit, entry };

// The capability MSR that governs one control word: the TRUE MSR for pin/proc/exit/entry when
// BASIC[55] is set (SDM A.2), PROCBASED_CTLS2 for the secondary controls (0 when they do not
// exist, so nothing can be set there).
uint64_t control_capability(const CapabilityMsrs& msrs, ControlKind kind);
const char* control_capability_name(const CapabilityMsrs& msrs, ControlKind kind);

struct ControlRequest {
    uint32_t required;
    uint32_t optional;
    // Default1-class controls wanted 0; honoured only with the TRUE MSRs. Every other default1
    // control stays 1, as the SDM asks of software that does not know a control's meaning
    // (Vol. 3C 31.5.1 "Algorithms for Determining VMX Capabilities").
    uint32_t cleared;
};

struct ControlRequests {
    ControlRequest pin, proc, proc2, exit, entry;
};

// What Matryoshka asks for. Required: what it cannot run without. Optional: used when present.
// IA-32e mode guest is not requested: it follows the guest's EFER.LMA and is set per VM entry.
// Why each required bit: external interrupts and NMIs belong to the host, never the guest;
// HLT blocks the vCPU; TSC offsetting gives each vCPU the TSC it writes (IA32_TSC,
// IA32_TSC_ADJUST) without moving anyone else's; MONITOR/MWAIT and RDPMC are hidden from guests (#UD/#GP are injected);
// CR8 exits keep a 64-bit guest's TPR writes off the physical APIC (no TPR shadow is used);
// EFER and PAT are switched on every entry and exit; acknowledging the interrupt on exit keeps
// a host interrupt from staying pending and exiting again at once. Unrestricted guest is optional
// for VMX root: without it every VM is refused on its own (vms::create), since each starts in real
// mode or with paging off; VPID is optional: without it VM entries and exits flush the guest's
// linear and combined TLB entries (SDM Vol. 3C 29.4.3.3), and EPT's guest-physical entries are
// tagged by EPTP, so VMs never see each other's translations either way.
constexpr ControlRequests matryoshka_controls = {
    .pin = {pin::external_interrupt_exiting | pin::nmi_exiting, pin::preemption_timer | pin::virtual_nmis, 0},
    .proc = {proc::hlt_exiting | proc::use_io_bitmaps | proc::use_msr_bitmaps | proc::activate_secondary |
                 proc::cr8_load_exiting | proc::cr8_store_exiting | proc::mwait_exiting | proc::monitor_exiting |
                 proc::rdpmc_exiting | proc::use_tsc_offsetting,
             0, proc::cr3_load_exiting | proc::cr3_store_exiting},
    .proc2 = {proc2::enable_ept,
              proc2::unrestricted_guest | proc2::enable_vpid | proc2::pause_loop_exiting | proc2::enable_rdtscp | proc2::enable_invpcid |
                  proc2::enable_xsaves | proc2::wbinvd_exiting,
              0},
    .exit = {exit::host_address_space_size | exit::save_ia32_efer | exit::load_ia32_efer |
                 exit::ack_interrupt_on_exit | exit::save_ia32_pat | exit::load_ia32_pat,
             0, 0},
    .entry = {entry::load_ia32_efer | entry::load_ia32_pat, 0, 0},
};

struct Controls {
    ControlWord pin, proc, proc2, exit, entry;
    constexpr bool ok() const { return pin.ok() && proc.ok() && proc2.ok() && exit.ok() && entry.ok(); }
};

// Besides compute_control on each word, drops optional controls whose companions are absent so
// that VM entry's control checks (SDM Vol. 3C 26.2.1 "Checks on VMX Controls") pass: virtual NMIs
// without NMI exiting, saving the preemption timer without the timer, and VPID when INVVPID has
// no single- or all-context type to flush it with.
Controls compute_controls(const CapabilityMsrs& msrs, const ControlRequests& requests = matryoshka_controls);

struct Features {
    // IA32_VMX_BASIC (SDM A.1)
    uint32_t revision;                 // bits 30:0
    uint32_t vmcs_size;                // bits 44:32, bytes
    bool physical_address_width_32;    // bit 48: VMXON/VMCS/bitmap addresses limited to 4 GiB
    bool dual_monitor;                 // bit 49
    uint8_t vmcs_memory_type;          // bits 53:50
    bool vmcs_wb;                      // memory type 6
    bool ins_outs_exit_info;           // bit 54
    bool true_controls;                // bit 55
    // Control availability (allowed-1 bits)
    bool secondary_controls;
    bool ept, unrestricted_guest, vpid, ple, preemption_timer;
    bool rdtscp, invpcid, xsaves, vmfunc, vmcs_shadowing, pml, monitor_trap_flag;
    bool tpr_shadow, virtualize_apic_accesses, virtualize_x2apic_mode, apic_register_virtualization,
        virtual_interrupt_delivery, posted_interrupts;
    bool load_efer, load_pat;
    // IA32_VMX_EPT_VPID_CAP (SDM A.10)
    bool ept_execute_only, ept_4level, ept_uc, ept_wb, ept_2m, ept_1g, ept_ad;
    bool invept, invept_single, invept_all;
    bool invvpid, invvpid_address, invvpid_single, invvpid_all, invvpid_single_keep_globals;
    // IA32_VMX_MISC (SDM A.6)
    uint8_t preemption_timer_shift;  // bits 4:0: the timer counts down every 2^shift TSC ticks
    bool exit_stores_lma;            // bit 5
    bool activity_hlt, activity_shutdown, activity_wait_for_sipi;  // bits 6, 7, 8
    uint32_t cr3_target_count;       // bits 24:16
    uint32_t msr_list_max;           // (bits 27:25 + 1) * 512, per MSR load/store list
    bool vmwrite_any_field;          // bit 29
    // IA32_VMX_VMCS_ENUM (SDM A.9)
    uint32_t vmcs_max_field_index;   // bits 9:1
    // IA32_VMX_VMFUNC (SDM A.11)
    bool eptp_switching;             // bit 0
};

Features decode(const CapabilityMsrs& msrs);

// nullptr when the processor can run Matryoshka's VMs, otherwise one message naming the first
// missing feature and where the processor reports it. A message listing control bits is written
// into `buffer` (truncated to `size`, always terminated) and `buffer` returned; with no buffer a
// shorter fixed text is returned. `features` must be decode(msrs).
const char* check_requirements(const CapabilityMsrs& msrs, const Features& features, char* buffer, size_t size);

// CR0/CR4 in VMX operation (SDM A.7, A.8): a 1 in FIXED0 means the bit must be 1, a 0 in FIXED1
// means it must be 0.
constexpr uint64_t apply_fixed(uint64_t value, uint64_t fixed0, uint64_t fixed1)
{
    return (value | fixed0) & fixed1;
}
constexpr bool satisfies_fixed(uint64_t value, uint64_t fixed0, uint64_t fixed1)
{
    return (value & fixed0) == fixed0 && (value & ~fixed1) == 0;
}

// For VMXON and the host fields: every fixed bit counts.
bool cr0_valid(const CapabilityMsrs& msrs, uint64_t cr0);
bool cr4_valid(const CapabilityMsrs& msrs, uint64_t cr4);

// The guest CR0 field at VM entry (SDM Vol. 3C 26.3.1.1 "Checks on Guest Control Registers, Debug
// Registers, and MSRs"): CD and NW are never checked, PE and PG not with unrestricted guest, and
// PG=1 needs PE=1.
bool guest_cr0_valid(const CapabilityMsrs& msrs, uint64_t cr0, bool unrestricted_guest);
// FIXED0 for the guest CR0 with the exemptions above, for apply_fixed() and guest/host masks.
uint64_t guest_cr0_fixed0(const CapabilityMsrs& msrs, bool unrestricted_guest);

// Whether VT-x may be used, from CPUID.1:ECX.VMX and IA32_FEATURE_CONTROL (SDM Vol. 3C 24.7
// "Enabling and Entering VMX Operation"). Unlocked: firmware left the choice to us, so set VMX
// outside SMX and lock it (nothing can switch VMX off later). Locked without VMX outside SMX:
// only the firmware setup can change it.
namespace feature_control {
constexpr uint64_t lock = 1ull << 0, vmx_inside_smx = 1ull << 1, vmx_outside_smx = 1ull << 2;
}
struct FeatureControlDecision {
    const char* error;   // nullptr when VT-x is usable
    bool write;          // write `value` to IA32_FEATURE_CONTROL first
    uint64_t value;
};
FeatureControlDecision decide_feature_control(bool cpuid_vmx, uint64_t feature_control);

}  // namespace vmx
