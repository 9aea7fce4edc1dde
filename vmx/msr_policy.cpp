#include "vmx/msr_policy.hpp"

#include "vmx/control_registers.hpp"
#include "vmx/entry_checks.hpp"

namespace vmx {

namespace {

constexpr MsrResult ok(uint64_t value = 0, MsrSync sync = MsrSync::none) { return {MsrAction::ok, sync, value}; }
constexpr MsrResult gp() { return {MsrAction::gp, MsrSync::none, 0}; }
constexpr MsrResult route(MsrAction action, uint64_t value) { return {action, MsrSync::none, value}; }

constexpr uint64_t efer_writable = efer::sce | efer::lme | efer::nxe;
constexpr uint64_t debugctl_btf = 1ull << 1;
constexpr uint64_t feature_control_locked = 1;  // locked, VMX off inside and outside SMX
// IA32_MISC_ENABLE bits a processor defines (SDM Vol. 4 Table 2-2, "IA32_MISC_ENABLE"): fast
// strings, TCC, perfmon available, BTS/PEBS unavailable, EIST, MONITOR, limit CPUID maxval,
// xTPR disable, XD disable.
constexpr uint64_t misc_enable_defined = (1ull << 0) | (1ull << 3) | (1ull << 7) | (1ull << 11) | (1ull << 12) |
                                         (1ull << 16) | (1ull << 18) | (1ull << 22) | (1ull << 23) | (1ull << 34);
// SPEC_CTRL bits: IBRS, STIBP, SSBD; CPUID.(EAX=7,ECX=0):EDX bits that enumerate them.
constexpr uint64_t spec_ibrs = 1 << 0, spec_stibp = 1 << 1, spec_ssbd = 1 << 2;
constexpr uint32_t edx7_ibrs_ibpb = 1u << 26, edx7_stibp = 1u << 27, edx7_ssbd = 1u << 31;
constexpr uint32_t ebx7_tsc_adjust = 1u << 1, ecx7_rdpid = 1u << 22, ecx7_la57 = 1u << 16;
constexpr uint32_t edx_ext_rdtscp = 1u << 27;

// Memory types an MTRR may hold: UC, WC, WT, WP, WB (SDM Vol. 3A 12.11.2 "Setting Memory Ranges
// with MTRRs"); the PAT also takes UC- (7) (12.12.2 "IA32_PAT MSR").
constexpr bool mtrr_type_valid(uint64_t type) { return type == 0 || type == 1 || (type >= 4 && type <= 6); }
constexpr bool pat_type_valid(uint64_t type) { return mtrr_type_valid(type) || type == 7; }

bool each_byte(uint64_t value, bool (*valid)(uint64_t))
{
    for (unsigned i = 0; i < 8; ++i)
        if (!valid((value >> (8 * i)) & 0xff)) return false;
    return true;
}

int fixed_mtrr_slot(uint32_t index)
{
    if (index == guest_msr::mtrr_fix64k_00000) return 0;
    if (index == guest_msr::mtrr_fix16k_80000) return 1;
    if (index == guest_msr::mtrr_fix16k_a0000) return 2;
    if (index >= guest_msr::mtrr_fix4k_c0000 && index <= guest_msr::mtrr_fix4k_f8000)
        return int(index - guest_msr::mtrr_fix4k_c0000) + 3;
    return -1;
}

uint64_t above_physical(const MsrConfig& c)
{
    unsigned bits = c.physical_address_bits ? c.physical_address_bits : 36;
    return bits >= 64 ? 0 : ~0ull << bits;
}

bool canonical(const GuestMsrState& s, uint64_t value)
{
    return is_canonical(value, s.config.linear_address_bits ? s.config.linear_address_bits : 48);
}

bool in_x2apic_range(uint32_t index) { return index >= guest_msr::x2apic_first && index <= guest_msr::x2apic_last; }

}  // namespace

MsrConfig msr_config(const CpuidRegs& leaf7, const CpuidRegs& ext1, const CpuidRegs& ext8)
{
    MsrConfig c{};
    if (leaf7.edx & edx7_ibrs_ibpb) c.spec_ctrl_bits |= spec_ibrs;
    if (leaf7.edx & edx7_stibp) c.spec_ctrl_bits |= spec_stibp;
    if (leaf7.edx & edx7_ssbd) c.spec_ctrl_bits |= spec_ssbd;
    c.pred_cmd = leaf7.edx & edx7_ibrs_ibpb;
    c.tsc_aux = (ext1.edx & edx_ext_rdtscp) || (leaf7.ecx & ecx7_rdpid);
    c.tsc_adjust = leaf7.ebx & ebx7_tsc_adjust;
    c.physical_address_bits = uint8_t(ext8.eax & 0xff);
    c.linear_address_bits = (leaf7.ecx & ecx7_la57) ? 57 : 48;
    return c;
}

GuestMsrState initial_msr_state(const MsrConfig& config, uint64_t tsc_offset)
{
    GuestMsrState s{};
    s.config = config;
    s.pat = default_pat;
    s.tsc_offset = tsc_offset;
    s.misc_enable = guest_misc_enable;
    s.mtrr_def_type = 0x806;
    return s;
}

MsrResult read_msr(const GuestMsrState& s, uint32_t index, uint64_t now_tsc)
{
    if (in_x2apic_range(index)) return route(MsrAction::x2apic, 0);
    if (index >= guest_msr::mtrr_phys_base0 && index <= guest_msr::mtrr_phys_mask7) {
        unsigned n = (index - guest_msr::mtrr_phys_base0) / 2;
        return ok(index & 1 ? s.mtrr_mask[n] : s.mtrr_base[n]);
    }
    if (int slot = fixed_mtrr_slot(index); slot >= 0) return ok(s.mtrr_fixed[slot]);

    switch (index) {
    case guest_msr::apic_base: return route(MsrAction::apic_base, 0);
    case guest_msr::tsc_deadline: return route(MsrAction::tsc_deadline, 0);
    case guest_msr::tsc: return ok(now_tsc + s.tsc_offset);
    case guest_msr::tsc_adjust: return s.config.tsc_adjust ? ok(s.tsc_adjust) : gp();
    case guest_msr::platform_id: return ok(0);
    case guest_msr::feature_control: return ok(feature_control_locked);
    case guest_msr::bios_sign_id: return ok(0);
    case guest_msr::spec_ctrl: return s.config.spec_ctrl_bits ? ok(s.spec_ctrl, MsrSync::processor) : gp();
    case guest_msr::mtrr_cap: return ok(guest_mtrr_cap);
    case guest_msr::mtrr_def_type: return ok(s.mtrr_def_type);
    case guest_msr::misc_enable: return ok(s.misc_enable);
    case guest_msr::pat: return ok(s.pat);
    case guest_msr::debugctl: return ok(s.debugctl);
    case guest_msr::sysenter_cs: return ok(s.sysenter_cs);
    case guest_msr::sysenter_esp: return ok(s.sysenter_esp);
    case guest_msr::sysenter_eip: return ok(s.sysenter_eip);
    case guest_msr::efer: return ok(s.efer);
    case guest_msr::star: return ok(s.star, MsrSync::processor);
    case guest_msr::lstar: return ok(s.lstar, MsrSync::processor);
    case guest_msr::cstar: return ok(s.cstar, MsrSync::processor);
    case guest_msr::fmask: return ok(s.fmask, MsrSync::processor);
    case guest_msr::kernel_gs_base: return ok(s.kernel_gs_base, MsrSync::processor);
    case guest_msr::tsc_aux: return s.config.tsc_aux ? ok(s.tsc_aux, MsrSync::processor) : gp();
    default: return gp();  // includes write-only PRED_CMD and BIOS_UPDT_TRIG
    }
}

MsrResult write_msr(GuestMsrState& s, uint32_t index, uint64_t value, uint64_t now_tsc, uint64_t guest_cr0)
{
    if (in_x2apic_range(index)) return route(MsrAction::x2apic, value);

    if (index >= guest_msr::mtrr_phys_base0 && index <= guest_msr::mtrr_phys_mask7) {
        unsigned n = (index - guest_msr::mtrr_phys_base0) / 2;
        uint64_t high = above_physical(s.config);
        if (index & 1) {
            if (value & (high | 0x7ff)) return gp();  // bit 11 is "valid"; 10:0 reserved
            s.mtrr_mask[n] = value;
        } else {
            if ((value & (high | 0xf00)) || !mtrr_type_valid(value & 0xff)) return gp();
            s.mtrr_base[n] = value;
        }
        return ok(value);
    }
    if (int slot = fixed_mtrr_slot(index); slot >= 0) {
        if (!each_byte(value, mtrr_type_valid)) return gp();
        s.mtrr_fixed[slot] = value;
        return ok(value);
    }

    switch (index) {
    case guest_msr::apic_base: return route(MsrAction::apic_base, value);
    case guest_msr::tsc_deadline: return route(MsrAction::tsc_deadline, value);
    case guest_msr::tsc: {
        // Writing the TSC moves TSC_ADJUST by the same amount (SDM Vol. 3B 18.17.3
        // "Time-Stamp Counter Adjustment").
        uint64_t current = now_tsc + s.tsc_offset;
        s.tsc_adjust += value - current;
        s.tsc_offset = value - now_tsc;
        return ok(s.tsc_offset, MsrSync::tsc_offset);
    }
    case guest_msr::tsc_adjust:
        if (!s.config.tsc_adjust) return gp();
        s.tsc_offset += value - s.tsc_adjust;
        s.tsc_adjust = value;
        return ok(s.tsc_offset, MsrSync::tsc_offset);
    case guest_msr::feature_control: return gp();  // locked
    case guest_msr::bios_updt_trig: return ok();   // no microcode updates from guests
    case guest_msr::bios_sign_id: return ok();     // Linux writes 0 before reading the revision
    case guest_msr::spec_ctrl:
        if (!s.config.spec_ctrl_bits || (value & ~s.config.spec_ctrl_bits)) return gp();
        s.spec_ctrl = value;
        return ok(value, MsrSync::processor);
    case guest_msr::pred_cmd:
        if (!s.config.pred_cmd || (value & ~1ull)) return gp();
        return value ? route(MsrAction::ibpb, value) : ok();
    case guest_msr::mtrr_def_type:
        // Type (7:0), fixed-range enable (10), enable (11).
        if ((value & ~0xcffull) || !mtrr_type_valid(value & 0xff)) return gp();
        s.mtrr_def_type = value;
        return ok(value);
    case guest_msr::misc_enable:
        // Reserved bits fault; defined bits keep their values, as if firmware had locked them.
        if (value & ~misc_enable_defined) return gp();
        return ok(s.misc_enable);
    case guest_msr::pat:
        if (!each_byte(value, pat_type_valid)) return gp();
        s.pat = value;
        return ok(value, MsrSync::vmcs);
    case guest_msr::debugctl:
        // Only BTF: LBRs, BTS and the PMU freeze bits need MSRs that are not emulated.
        if (value & ~debugctl_btf) return gp();
        s.debugctl = value;
        return ok(value, MsrSync::vmcs);
    case guest_msr::sysenter_cs:
        s.sysenter_cs = uint32_t(value);  // a 32-bit VMCS field
        return ok(s.sysenter_cs, MsrSync::vmcs);
    case guest_msr::sysenter_esp:
        if (!canonical(s, value)) return gp();
        s.sysenter_esp = value;
        return ok(value, MsrSync::vmcs);
    case guest_msr::sysenter_eip:
        if (!canonical(s, value)) return gp();
        s.sysenter_eip = value;
        return ok(value, MsrSync::vmcs);
    case guest_msr::efer: {
        // LMA is read-only: it follows CR0.PG (control_registers' write_cr0).
        if (value & ~(efer_writable | efer::lma)) return gp();
        if ((guest_cr0 & cr0::pg) && ((value ^ s.efer) & efer::lme)) return gp();
        s.efer = (value & efer_writable) | (s.efer & efer::lma);
        return ok(s.efer, MsrSync::vmcs);
    }
    case guest_msr::star: s.star = value; return ok(value, MsrSync::processor);
    case guest_msr::lstar:
        if (!canonical(s, value)) return gp();
        s.lstar = value;
        return ok(value, MsrSync::processor);
    case guest_msr::cstar:
        if (!canonical(s, value)) return gp();
        s.cstar = value;
        return ok(value, MsrSync::processor);
    case guest_msr::fmask: s.fmask = value; return ok(value, MsrSync::processor);
    case guest_msr::kernel_gs_base:
        if (!canonical(s, value)) return gp();
        s.kernel_gs_base = value;
        return ok(value, MsrSync::processor);
    case guest_msr::tsc_aux:
        if (!s.config.tsc_aux || (value >> 32)) return gp();
        s.tsc_aux = value;
        return ok(value, MsrSync::processor);
    default: return gp();  // read-only MTRRCAP and PLATFORM_ID, and everything not listed
    }
}

void fill_msr_bitmap(uint8_t* bitmap)
{
    for (size_t i = 0; i < msr_bitmap_size; ++i) bitmap[i] = 0xff;
    for (uint32_t index : passthrough_msrs) {
        size_t base = index >= 0xc0000000 ? 1024 : 0;
        size_t bit = index & 0x1fff;
        const size_t halves[] = {0, 2048};  // read bitmaps, then write bitmaps
        for (size_t half : halves) bitmap[half + base + bit / 8] &= uint8_t(~(1u << (bit % 8)));
    }
}

bool msr_bitmap_intercepts(const uint8_t* bitmap, uint32_t index, bool write)
{
    size_t base;
    if (index <= 0x1fff) base = 0;
    else if (index >= 0xc0000000 && index <= 0xc0001fff) base = 1024;
    else return true;
    if (write) base += 2048;
    size_t bit = index & 0x1fff;
    return (bitmap[base + bit / 8] >> (bit % 8)) & 1;
}

}  // namespace vmx
