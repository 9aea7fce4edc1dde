#include "vmx/capabilities.hpp"

namespace vmx {

namespace {

constexpr bool bit(uint64_t value, unsigned n) { return (value >> n) & 1; }
constexpr uint32_t allowed1(uint64_t capability_msr) { return uint32_t(capability_msr >> 32); }

// IA32_VMX_EPT_VPID_CAP bits (SDM A.10).
namespace cap {
constexpr unsigned execute_only = 0, walk_4level = 6, memtype_uc = 8, memtype_wb = 14, page_2m = 16,
                   page_1g = 17, invept = 20, accessed_dirty = 21, invept_single = 25, invept_all = 26,
                   invvpid = 32, invvpid_address = 40, invvpid_single = 41, invvpid_all = 42,
                   invvpid_single_keep_globals = 43;
}

// Secondary allowed-1 settings, 0 unless the primary controls can activate them.
uint32_t secondary_allowed1(const CapabilityMsrs& msrs)
{
    return has_procbased_ctls2(msrs) ? allowed1(msrs.procbased_ctls2) : 0;
}

uint64_t ept_vpid_cap(const CapabilityMsrs& msrs) { return has_ept_vpid_cap(msrs) ? msrs.ept_vpid_cap : 0; }

uint64_t* slot(CapabilityMsrs& m, uint32_t index)
{
    switch (index) {
    case msr::basic: return &m.basic;
    case msr::pinbased_ctls: return &m.pinbased_ctls;
    case msr::procbased_ctls: return &m.procbased_ctls;
    case msr::exit_ctls: return &m.exit_ctls;
    case msr::entry_ctls: return &m.entry_ctls;
    case msr::misc: return &m.misc;
    case msr::cr0_fixed0: return &m.cr0_fixed0;
    case msr::cr0_fixed1: return &m.cr0_fixed1;
    case msr::cr4_fixed0: return &m.cr4_fixed0;
    case msr::cr4_fixed1: return &m.cr4_fixed1;
    case msr::vmcs_enum: return &m.vmcs_enum;
    case msr::procbased_ctls2: return &m.procbased_ctls2;
    case msr::ept_vpid_cap: return &m.ept_vpid_cap;
    case msr::true_pinbased_ctls: return &m.true_pinbased_ctls;
    case msr::true_procbased_ctls: return &m.true_procbased_ctls;
    case msr::true_exit_ctls: return &m.true_exit_ctls;
    case msr::true_entry_ctls: return &m.true_entry_ctls;
    case msr::vmfunc: return &m.vmfunc;
    default: return nullptr;
    }
}

struct BitName {
    uint32_t mask;
    const char* name;
};

// SDM names, for the requirement message.
constexpr BitName pin_names[] = {
    {pin::external_interrupt_exiting, "external-interrupt exiting"},
    {pin::nmi_exiting, "NMI exiting"},
    {pin::virtual_nmis, "virtual NMIs"},
    {pin::preemption_timer, "activate VMX-preemption timer"},
    {pin::posted_interrupts, "process posted interrupts"},
};
constexpr BitName proc_names[] = {
    {proc::interrupt_window_exiting, "interrupt-window exiting"},
    {proc::use_tsc_offsetting, "use TSC offsetting"},
    {proc::hlt_exiting, "HLT exiting"},
    {proc::invlpg_exiting, "INVLPG exiting"},
    {proc::mwait_exiting, "MWAIT exiting"},
    {proc::rdpmc_exiting, "RDPMC exiting"},
    {proc::rdtsc_exiting, "RDTSC exiting"},
    {proc::cr3_load_exiting, "CR3-load exiting"},
    {proc::cr3_store_exiting, "CR3-store exiting"},
    {proc::cr8_load_exiting, "CR8-load exiting"},
    {proc::cr8_store_exiting, "CR8-store exiting"},
    {proc::use_tpr_shadow, "use TPR shadow"},
    {proc::nmi_window_exiting, "NMI-window exiting"},
    {proc::mov_dr_exiting, "MOV-DR exiting"},
    {proc::unconditional_io_exiting, "unconditional I/O exiting"},
    {proc::use_io_bitmaps, "use I/O bitmaps"},
    {proc::monitor_trap_flag, "monitor trap flag"},
    {proc::use_msr_bitmaps, "use MSR bitmaps"},
    {proc::monitor_exiting, "MONITOR exiting"},
    {proc::pause_exiting, "PAUSE exiting"},
    {proc::activate_secondary, "activate secondary controls"},
};
constexpr BitName proc2_names[] = {
    {proc2::virtualize_apic_accesses, "virtualize APIC accesses"},
    {proc2::enable_ept, "enable EPT"},
    {proc2::descriptor_table_exiting, "descriptor-table exiting"},
    {proc2::enable_rdtscp, "enable RDTSCP"},
    {proc2::virtualize_x2apic_mode, "virtualize x2APIC mode"},
    {proc2::enable_vpid, "enable VPID"},
    {proc2::wbinvd_exiting, "WBINVD exiting"},
    {proc2::unrestricted_guest, "unrestricted guest"},
    {proc2::apic_register_virtualization, "APIC-register virtualization"},
    {proc2::virtual_interrupt_delivery, "virtual-interrupt delivery"},
    {proc2::pause_loop_exiting, "PAUSE-loop exiting"},
    {proc2::rdrand_exiting, "RDRAND exiting"},
    {proc2::enable_invpcid, "enable INVPCID"},
    {proc2::enable_vmfunc, "enable VM functions"},
    {proc2::vmcs_shadowing, "VMCS shadowing"},
    {proc2::rdseed_exiting, "RDSEED exiting"},
    {proc2::enable_pml, "enable PML"},
    {proc2::ept_violation_ve, "EPT-violation #VE"},
    {proc2::enable_xsaves, "enable XSAVES/XRSTORS"},
    {proc2::tsc_scaling, "use TSC scaling"},
};
constexpr BitName exit_names[] = {
    {exit::save_debug_controls, "save debug controls"},
    {exit::host_address_space_size, "host address-space size"},
    {exit::load_perf_global_ctrl, "load IA32_PERF_GLOBAL_CTRL"},
    {exit::ack_interrupt_on_exit, "acknowledge interrupt on exit"},
    {exit::save_ia32_pat, "save IA32_PAT"},
    {exit::load_ia32_pat, "load IA32_PAT"},
    {exit::save_ia32_efer, "save IA32_EFER"},
    {exit::load_ia32_efer, "load IA32_EFER"},
    {exit::save_preemption_timer, "save VMX-preemption timer value"},
};
constexpr BitName entry_names[] = {
    {entry::load_debug_controls, "load debug controls"},
    {entry::ia32e_mode_guest, "IA-32e mode guest"},
    {entry::load_perf_global_ctrl, "load IA32_PERF_GLOBAL_CTRL"},
    {entry::load_ia32_pat, "load IA32_PAT"},
    {entry::load_ia32_efer, "load IA32_EFER"},
};

template <size_t N>
const char* find_name(const BitName (&names)[N], uint32_t mask)
{
    for (const BitName& n : names)
        if (n.mask == mask) return n.name;
    return nullptr;
}

const char* control_name(ControlKind kind, uint32_t mask)
{
    switch (kind) {
    case ControlKind::pinbased: return find_name(pin_names, mask);
    case ControlKind::procbased: return find_name(proc_names, mask);
    case ControlKind::procbased2: return find_name(proc2_names, mask);
    case ControlKind::exit: return find_name(exit_names, mask);
    case ControlKind::entry: return find_name(entry_names, mask);
    }
    return nullptr;
}

// Appends to a caller's buffer, truncating, always NUL-terminated.
class Writer {
public:
    Writer(char* buffer, size_t size) : buffer_(buffer), size_(size)
    {
        if (size_) buffer_[0] = '\0';
    }
    void put(const char* text)
    {
        for (; *text; ++text) put(*text);
    }
    void put(char c)
    {
        if (length_ + 1 < size_) {
            buffer_[length_++] = c;
            buffer_[length_] = '\0';
        }
    }
    void put_decimal(unsigned value)
    {
        char digits[10];
        int n = 0;
        do {
            digits[n++] = char('0' + value % 10);
            value /= 10;
        } while (value);
        while (n) put(digits[--n]);
    }

private:
    char* buffer_;
    size_t size_;
    size_t length_ = 0;
};

}  // namespace

bool has_procbased_ctls2(const CapabilityMsrs& m) { return bit(m.procbased_ctls, 32 + 31); }

bool has_ept_vpid_cap(const CapabilityMsrs& m)
{
    return has_procbased_ctls2(m) && (bit(m.procbased_ctls2, 32 + 1) || bit(m.procbased_ctls2, 32 + 5));
}

bool has_true_controls(const CapabilityMsrs& m) { return bit(m.basic, 55); }

bool has_vmfunc(const CapabilityMsrs& m) { return has_procbased_ctls2(m) && bit(m.procbased_ctls2, 32 + 13); }

bool msr_exists(const CapabilityMsrs& m, uint32_t index)
{
    switch (index) {
    case msr::procbased_ctls2: return has_procbased_ctls2(m);
    case msr::ept_vpid_cap: return has_ept_vpid_cap(m);
    case msr::true_pinbased_ctls:
    case msr::true_procbased_ctls:
    case msr::true_exit_ctls:
    case msr::true_entry_ctls: return has_true_controls(m);
    case msr::vmfunc: return has_vmfunc(m);
    default: return index >= msr::basic && index <= msr::vmcs_enum;
    }
}

bool store_msr(CapabilityMsrs& m, uint32_t index, uint64_t value)
{
    uint64_t* field = slot(m, index);
    if (!field) return false;
    *field = value;
    return true;
}

uint64_t control_capability(const CapabilityMsrs& m, ControlKind kind)
{
    bool use_true = has_true_controls(m);
    switch (kind) {
    case ControlKind::pinbased: return use_true ? m.true_pinbased_ctls : m.pinbased_ctls;
    case ControlKind::procbased: return use_true ? m.true_procbased_ctls : m.procbased_ctls;
    case ControlKind::procbased2: return has_procbased_ctls2(m) ? m.procbased_ctls2 : 0;
    case ControlKind::exit: return use_true ? m.true_exit_ctls : m.exit_ctls;
    case ControlKind::entry: return use_true ? m.true_entry_ctls : m.entry_ctls;
    }
    return 0;
}

const char* control_capability_name(const CapabilityMsrs& m, ControlKind kind)
{
    bool use_true = has_true_controls(m);
    switch (kind) {
    case ControlKind::pinbased: return use_true ? "IA32_VMX_TRUE_PINBASED_CTLS" : "IA32_VMX_PINBASED_CTLS";
    case ControlKind::procbased: return use_true ? "IA32_VMX_TRUE_PROCBASED_CTLS" : "IA32_VMX_PROCBASED_CTLS";
    case ControlKind::procbased2: return "IA32_VMX_PROCBASED_CTLS2";
    case ControlKind::exit: return use_true ? "IA32_VMX_TRUE_EXIT_CTLS" : "IA32_VMX_EXIT_CTLS";
    case ControlKind::entry: return use_true ? "IA32_VMX_TRUE_ENTRY_CTLS" : "IA32_VMX_ENTRY_CTLS";
    }
    return "";
}

namespace {

ControlWord compute_one(const CapabilityMsrs& m, ControlKind kind, const ControlRequest& request, uint32_t default1)
{
    uint32_t optional = request.optional;
    if (has_true_controls(m)) optional |= default1 & ~request.cleared;
    return compute_control(control_capability(m, kind), request.required, optional);
}

}  // namespace

Controls compute_controls(const CapabilityMsrs& m, const ControlRequests& r)
{
    Controls c;
    c.pin = compute_one(m, ControlKind::pinbased, r.pin, pin::default1);
    c.proc = compute_one(m, ControlKind::procbased, r.proc, proc::default1);
    c.proc2 = compute_one(m, ControlKind::procbased2, r.proc2, 0);
    c.exit = compute_one(m, ControlKind::exit, r.exit, exit::default1);
    c.entry = compute_one(m, ControlKind::entry, r.entry, entry::default1);

    auto drop = [](ControlWord& word, const ControlRequest& request, uint32_t bits) {
        word.value &= ~(bits & ~request.required);
    };
    // SDM 26.2.1.1: virtual NMIs need NMI exiting.
    if (!(c.pin.value & pin::nmi_exiting)) drop(c.pin, r.pin, pin::virtual_nmis);
    // SDM 26.2.1.2: saving the timer needs the timer.
    if (!(c.pin.value & pin::preemption_timer)) drop(c.exit, r.exit, exit::save_preemption_timer);
    // Without INVVPID there is no way to flush a VPID's stale translations.
    uint64_t cap = ept_vpid_cap(m);
    if (!bit(cap, cap::invvpid) || !(bit(cap, cap::invvpid_single) || bit(cap, cap::invvpid_all)))
        drop(c.proc2, r.proc2, proc2::enable_vpid);
    // Secondary controls count only when activated (SDM 24.6.2).
    if (!(c.proc.value & proc::activate_secondary)) c.proc2.value = 0;
    return c;
}

Features decode(const CapabilityMsrs& m)
{
    Features f{};
    f.revision = uint32_t(m.basic & 0x7fffffff);
    f.vmcs_size = uint32_t((m.basic >> 32) & 0x1fff);
    f.physical_address_width_32 = bit(m.basic, 48);
    f.dual_monitor = bit(m.basic, 49);
    f.vmcs_memory_type = uint8_t((m.basic >> 50) & 0xf);
    f.vmcs_wb = f.vmcs_memory_type == 6;
    f.ins_outs_exit_info = bit(m.basic, 54);
    f.true_controls = has_true_controls(m);

    // The plain MSRs always exist; the TRUE ones differ only in which default1 controls may be 0
    // (SDM A.2), which says nothing about feature availability.
    uint32_t pin1 = allowed1(m.pinbased_ctls);
    uint32_t proc1 = allowed1(m.procbased_ctls);
    uint32_t proc2_1 = secondary_allowed1(m);
    uint32_t exit1 = allowed1(m.exit_ctls);
    uint32_t entry1 = allowed1(m.entry_ctls);

    f.secondary_controls = has_procbased_ctls2(m);
    f.ept = proc2_1 & proc2::enable_ept;
    f.unrestricted_guest = proc2_1 & proc2::unrestricted_guest;
    f.vpid = proc2_1 & proc2::enable_vpid;
    f.ple = proc2_1 & proc2::pause_loop_exiting;
    f.preemption_timer = pin1 & pin::preemption_timer;
    f.rdtscp = proc2_1 & proc2::enable_rdtscp;
    f.invpcid = proc2_1 & proc2::enable_invpcid;
    f.xsaves = proc2_1 & proc2::enable_xsaves;
    f.vmfunc = proc2_1 & proc2::enable_vmfunc;
    f.vmcs_shadowing = proc2_1 & proc2::vmcs_shadowing;
    f.pml = proc2_1 & proc2::enable_pml;
    f.monitor_trap_flag = proc1 & proc::monitor_trap_flag;
    f.tpr_shadow = proc1 & proc::use_tpr_shadow;
    f.virtualize_apic_accesses = proc2_1 & proc2::virtualize_apic_accesses;
    f.virtualize_x2apic_mode = proc2_1 & proc2::virtualize_x2apic_mode;
    f.apic_register_virtualization = proc2_1 & proc2::apic_register_virtualization;
    f.virtual_interrupt_delivery = proc2_1 & proc2::virtual_interrupt_delivery;
    f.posted_interrupts = pin1 & pin::posted_interrupts;
    f.load_efer = (exit1 & exit::load_ia32_efer) && (entry1 & entry::load_ia32_efer);
    f.load_pat = (exit1 & exit::load_ia32_pat) && (entry1 & entry::load_ia32_pat);

    uint64_t cap = ept_vpid_cap(m);
    f.ept_execute_only = bit(cap, cap::execute_only);
    f.ept_4level = bit(cap, cap::walk_4level);
    f.ept_uc = bit(cap, cap::memtype_uc);
    f.ept_wb = bit(cap, cap::memtype_wb);
    f.ept_2m = bit(cap, cap::page_2m);
    f.ept_1g = bit(cap, cap::page_1g);
    f.ept_ad = bit(cap, cap::accessed_dirty);
    f.invept = bit(cap, cap::invept);
    f.invept_single = bit(cap, cap::invept_single);
    f.invept_all = bit(cap, cap::invept_all);
    f.invvpid = bit(cap, cap::invvpid);
    f.invvpid_address = bit(cap, cap::invvpid_address);
    f.invvpid_single = bit(cap, cap::invvpid_single);
    f.invvpid_all = bit(cap, cap::invvpid_all);
    f.invvpid_single_keep_globals = bit(cap, cap::invvpid_single_keep_globals);

    f.preemption_timer_shift = uint8_t(m.misc & 0x1f);
    f.exit_stores_lma = bit(m.misc, 5);
    f.activity_hlt = bit(m.misc, 6);
    f.activity_shutdown = bit(m.misc, 7);
    f.activity_wait_for_sipi = bit(m.misc, 8);
    f.cr3_target_count = uint32_t((m.misc >> 16) & 0x1ff);
    f.msr_list_max = (uint32_t((m.misc >> 25) & 7) + 1) * 512;
    f.vmwrite_any_field = bit(m.misc, 29);

    f.vmcs_max_field_index = uint32_t((m.vmcs_enum >> 1) & 0x1ff);
    f.eptp_switching = has_vmfunc(m) && bit(m.vmfunc, 0);
    return f;
}

const char* check_requirements(const CapabilityMsrs& m, const Features& f, char* buffer, size_t size)
{
    if (f.physical_address_width_32)
        return "VMX structures are limited to 32-bit physical addresses (IA32_VMX_BASIC bit 48)";
    if (f.vmcs_size == 0 || f.vmcs_size > 4096)
        return "the VMCS region size is not between 1 and 4096 bytes (IA32_VMX_BASIC bits 44:32)";
    if (!f.vmcs_wb) return "VMCS memory type is not write-back (IA32_VMX_BASIC bits 53:50)";
    if (!f.secondary_controls)
        return "secondary processor-based controls are not supported (IA32_VMX_PROCBASED_CTLS allowed-1 bit 31)";
    if (!f.ept) return "EPT is not supported (IA32_VMX_PROCBASED_CTLS2 allowed-1 bit 1)";
    if (!f.ept_4level) return "EPT 4-level page walks are not supported (IA32_VMX_EPT_VPID_CAP bit 6)";
    if (!f.ept_wb) return "EPT write-back memory type is not supported (IA32_VMX_EPT_VPID_CAP bit 14)";
    if (!f.invept) return "INVEPT is not supported (IA32_VMX_EPT_VPID_CAP bit 20)";
    if (!f.invept_single && !f.invept_all)
        return "neither single-context nor all-context INVEPT is supported (IA32_VMX_EPT_VPID_CAP bits 25, 26)";

    Controls c = compute_controls(m);
    // Not requested (it follows the guest's EFER.LMA) but 64-bit guests cannot run without it.
    uint32_t entry_missing = c.entry.missing | (entry::ia32e_mode_guest & ~allowed1(control_capability(m, ControlKind::entry)));
    struct Missing {
        ControlKind kind;
        uint32_t bits;
    };
    const Missing missing[] = {
        {ControlKind::pinbased, c.pin.missing}, {ControlKind::procbased, c.proc.missing},
        {ControlKind::procbased2, c.proc2.missing}, {ControlKind::exit, c.exit.missing},
        {ControlKind::entry, entry_missing},
    };
    bool any = false;
    for (const Missing& word : missing) any |= word.bits != 0;
    if (!any) return nullptr;

    static const char* const fallback = "the required VMX controls cannot be set";
    if (!buffer || size == 0) return fallback;
    Writer out(buffer, size);
    out.put(fallback);
    out.put(": ");
    bool first = true;
    for (const Missing& word : missing) {
        for (unsigned n = 0; n < 32; ++n) {
            uint32_t mask = 1u << n;
            if (!(word.bits & mask)) continue;
            if (!first) out.put(", ");
            first = false;
            const char* name = control_name(word.kind, mask);
            out.put(name ? name : "an unnamed control");
            out.put(" (");
            out.put(control_capability_name(m, word.kind));
            out.put(" allowed-1 bit ");
            out.put_decimal(n);
            out.put(')');
        }
    }
    return buffer;
}

bool cr0_valid(const CapabilityMsrs& m, uint64_t cr0) { return satisfies_fixed(cr0, m.cr0_fixed0, m.cr0_fixed1); }

bool cr4_valid(const CapabilityMsrs& m, uint64_t cr4) { return satisfies_fixed(cr4, m.cr4_fixed0, m.cr4_fixed1); }

namespace {
constexpr uint64_t cr0_pe = 1ull << 0, cr0_nw = 1ull << 29, cr0_cd = 1ull << 30, cr0_pg = 1ull << 31;
}

uint64_t guest_cr0_fixed0(const CapabilityMsrs& m, bool unrestricted_guest)
{
    uint64_t exempt = cr0_nw | cr0_cd | (unrestricted_guest ? cr0_pe | cr0_pg : 0);
    return m.cr0_fixed0 & ~exempt;
}

bool guest_cr0_valid(const CapabilityMsrs& m, uint64_t cr0, bool unrestricted_guest)
{
    if ((cr0 & cr0_pg) && !(cr0 & cr0_pe)) return false;
    uint64_t fixed1 = m.cr0_fixed1 | cr0_nw | cr0_cd;
    return satisfies_fixed(cr0, guest_cr0_fixed0(m, unrestricted_guest), fixed1);
}

FeatureControlDecision decide_feature_control(bool cpuid_vmx, uint64_t msr)
{
    if (!cpuid_vmx) return {"this CPU does not support VT-x (CPUID.1:ECX.VMX is 0)", false, 0};
    if (!(msr & feature_control::lock))
        return {nullptr, true, msr | feature_control::vmx_outside_smx | feature_control::lock};
    if (!(msr & feature_control::vmx_outside_smx))
        return {"VT-x is disabled in firmware (IA32_FEATURE_CONTROL locked, VMX outside SMX off)", false, 0};
    return {nullptr, false, msr};
}

}  // namespace vmx
