#include "vmx/cpuid_policy.hpp"

#include "vmx/control_registers.hpp"

namespace vmx {

namespace {

constexpr uint32_t bit(unsigned n) { return 1u << n; }

// CPUID.1:ECX.
namespace ecx1 {
constexpr uint32_t sse3 = bit(0), pclmulqdq = bit(1), ssse3 = bit(9), fma = bit(12), cx16 = bit(13), pcid = bit(17),
                   sse41 = bit(19), sse42 = bit(20), x2apic = bit(21), movbe = bit(22), popcnt = bit(23),
                   tsc_deadline = bit(24), aes = bit(25), xsave = bit(26), osxsave = bit(27), avx = bit(28),
                   f16c = bit(29), rdrand = bit(30), hypervisor = bit(31);
constexpr uint32_t allowed = sse3 | pclmulqdq | ssse3 | fma | cx16 | pcid | sse41 | sse42 | movbe | popcnt | aes |
                             xsave | avx | f16c | rdrand;
constexpr uint32_t emulated = x2apic | tsc_deadline | hypervisor;
}  // namespace ecx1

// CPUID.1:EDX.
namespace edx1 {
constexpr uint32_t fpu = bit(0), vme = bit(1), de = bit(2), pse = bit(3), tsc = bit(4), msr = bit(5), pae = bit(6),
                   cx8 = bit(8), apic = bit(9), sep = bit(11), mtrr = bit(12), pge = bit(13), cmov = bit(15),
                   pat = bit(16), pse36 = bit(17), clflush = bit(19), mmx = bit(23), fxsr = bit(24), sse = bit(25),
                   sse2 = bit(26), ss = bit(27), htt = bit(28);
constexpr uint32_t allowed = fpu | vme | de | pse | tsc | msr | pae | cx8 | sep | mtrr | pge | cmov | pat | pse36 |
                             clflush | mmx | fxsr | sse | sse2 | ss;
constexpr uint32_t emulated = apic;
}  // namespace edx1

// CPUID.(EAX=7,ECX=0).
namespace leaf7 {
constexpr uint32_t ebx_fsgsbase = bit(0), ebx_tsc_adjust = bit(1), ebx_bmi1 = bit(3), ebx_avx2 = bit(5),
                   ebx_fdp_excptn_only = bit(6), ebx_smep = bit(7), ebx_bmi2 = bit(8), ebx_erms = bit(9),
                   ebx_invpcid = bit(10), ebx_fpu_csds_deprecated = bit(13), ebx_avx512f = bit(16),
                   ebx_avx512dq = bit(17), ebx_rdseed = bit(18), ebx_adx = bit(19), ebx_smap = bit(20),
                   ebx_avx512ifma = bit(21), ebx_clflushopt = bit(23), ebx_clwb = bit(24), ebx_avx512pf = bit(26),
                   ebx_avx512er = bit(27), ebx_avx512cd = bit(28), ebx_sha = bit(29), ebx_avx512bw = bit(30),
                   ebx_avx512vl = bit(31);
constexpr uint32_t ebx_allowed = ebx_fsgsbase | ebx_tsc_adjust | ebx_bmi1 | ebx_avx2 | ebx_fdp_excptn_only | ebx_smep |
                                 ebx_bmi2 | ebx_erms | ebx_fpu_csds_deprecated | ebx_avx512f | ebx_avx512dq |
                                 ebx_rdseed | ebx_adx | ebx_smap | ebx_avx512ifma | ebx_clflushopt | ebx_clwb |
                                 ebx_avx512pf | ebx_avx512er | ebx_avx512cd | ebx_sha | ebx_avx512bw | ebx_avx512vl;
constexpr uint32_t ecx_prefetchwt1 = bit(0), ecx_avx512vbmi = bit(1), ecx_umip = bit(2), ecx_pku = bit(3),
                   ecx_ospke = bit(4), ecx_avx512vbmi2 = bit(6), ecx_gfni = bit(8), ecx_vaes = bit(9),
                   ecx_vpclmulqdq = bit(10), ecx_avx512vnni = bit(11), ecx_avx512bitalg = bit(12),
                   ecx_avx512vpopcntdq = bit(14), ecx_la57 = bit(16), ecx_rdpid = bit(22), ecx_cldemote = bit(25),
                   ecx_movdiri = bit(27), ecx_movdir64b = bit(28);
constexpr uint32_t ecx_allowed = ecx_prefetchwt1 | ecx_avx512vbmi | ecx_umip | ecx_pku | ecx_avx512vbmi2 | ecx_gfni |
                                 ecx_vaes | ecx_vpclmulqdq | ecx_avx512vnni | ecx_avx512bitalg |
                                 ecx_avx512vpopcntdq | ecx_la57 | ecx_cldemote | ecx_movdiri | ecx_movdir64b;
constexpr uint32_t edx_avx512_4vnniw = bit(2), edx_avx512_4fmaps = bit(3), edx_fsrm = bit(4),
                   edx_avx512_vp2intersect = bit(8), edx_md_clear = bit(10), edx_serialize = bit(14),
                   edx_avx512_fp16 = bit(23), edx_ibrs_ibpb = bit(26), edx_stibp = bit(27), edx_ssbd = bit(31);
constexpr uint32_t edx_allowed = edx_avx512_4vnniw | edx_avx512_4fmaps | edx_fsrm | edx_avx512_vp2intersect |
                                 edx_md_clear | edx_serialize | edx_avx512_fp16 | edx_ibrs_ibpb | edx_stibp |
                                 edx_ssbd;
// Subleaf 1 EAX: AVX-VNNI, AVX512_BF16, fast zero-length MOVSB, fast short STOSB, fast short
// CMPSB/SCASB.
constexpr uint32_t eax1_allowed = bit(4) | bit(5) | bit(10) | bit(11) | bit(12);
}  // namespace leaf7

// CPUID.80000001H.
namespace ext1 {
constexpr uint32_t ecx_lahf = bit(0), ecx_lzcnt = bit(5), ecx_prefetchw = bit(8);
constexpr uint32_t edx_syscall = bit(11), edx_nx = bit(20), edx_page1gb = bit(26), edx_rdtscp = bit(27),
                   edx_lm = bit(29);
}  // namespace ext1

// XCR0 components: x87, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM, PKRU.
constexpr uint64_t xcr0_allowed = 0x2e7;
// CPUID.0DH.1:EAX: XSAVEOPT, XSAVEC, XGETBV with ECX=1 (not XSAVES).
constexpr uint32_t xsave_features_allowed = bit(0) | bit(1) | bit(2);

constexpr uint32_t arat = bit(2);            // CPUID.6:EAX

constexpr uint32_t tsc_leaf = 0x15, frequency_leaf = 0x16;

uint32_t guest_max_basic(const CpuidView& vm)
{
    uint32_t max = vm.host_max_basic < guest_max_basic_limit ? vm.host_max_basic : guest_max_basic_limit;
    return vm.tsc_hz && max < frequency_leaf ? frequency_leaf : max;
}

// A basic leaf the guest sees but the host does not have (raised to 0x16 for the TSC leaves):
// reads 0 unless the policy builds it.
bool beyond_host(uint32_t leaf, const CpuidView& vm) { return leaf < hv_leaf::first && leaf > vm.host_max_basic; }

// SDM Vol. 2A CPUID leaf 15H: TSC = crystal * EBX / EAX. The "crystal" is the TSC itself
// (ratio 1/1), which is also the local APIC timer's input clock here (vlapic::Config
// tsc_per_bus_tick 1), as Linux assumes from this leaf. ECX holds Hz in 32 bits: a TSC of 4.3 GHz
// or more leaves it 0 (not enumerated) and the guest calibrates. Leaf 16H: base, maximum and bus
// frequencies in MHz.
CpuidRegs tsc_frequency(uint32_t leaf, const CpuidView& vm)
{
    if (leaf == tsc_leaf) return {1, 1, vm.tsc_hz <= 0xffffffffu ? uint32_t(vm.tsc_hz) : 0, 0};
    uint32_t mhz = uint32_t(vm.tsc_hz / 1000000) & 0xffff;
    return {mhz, mhz, mhz, 0};
}

uint32_t guest_max_extended(const CpuidView& vm)
{
    if (vm.host_max_extended < 0x80000000) return 0;
    return vm.host_max_extended < guest_max_extended_limit ? vm.host_max_extended : guest_max_extended_limit;
}

bool hypervisor_leaf(uint32_t leaf) { return leaf >= hv_leaf::first && leaf <= hv_leaf::last; }

// The leaf whose data the guest gets: out-of-range leaves read as the highest basic leaf.
uint32_t effective_leaf(uint32_t leaf, const CpuidView& vm)
{
    if (leaf <= guest_max_basic(vm) || hypervisor_leaf(leaf)) return leaf;
    uint32_t max_extended = guest_max_extended(vm);
    if (max_extended && leaf >= 0x80000000 && leaf <= max_extended) return leaf;
    return guest_max_basic(vm);
}

// Leaves built without the host's data.
bool synthesized(uint32_t leaf)
{
    switch (leaf) {
    case 0x2: case 0x4: case 0x7: case 0xd: case 0x15: case 0x16: return false;
    case 0x0: case 0x1: return false;
    default: return leaf < 0x80000000;
    }
}

// Topology: x2APIC ID bits [core_shift-1:0] select the core (SDM Vol. 3A 9.9.1 "Hierarchical
// Mapping of Shared Resources").
unsigned core_shift(const CpuidView& vm)
{
    unsigned shift = 0;
    while (shift < 31 && (1u << shift) < vm.vcpu_count) ++shift;
    return shift;
}

CpuidRegs topology(uint32_t subleaf, const CpuidView& vm)
{
    // Level types (ECX[15:8]): 1 SMT, 2 core; 0 marks the end.
    switch (subleaf) {
    case 0: return {0, 1, (1u << 8) | 0, vm.apic_id};
    case 1: return {core_shift(vm), vm.vcpu_count, (2u << 8) | 1, vm.apic_id};
    default: return {0, 0, subleaf & 0xff, vm.apic_id};
    }
}

CpuidRegs version_and_features(const CpuidRegs& host, const CpuidView& vm)
{
    CpuidRegs r = host;
    uint32_t addressable = 1u << core_shift(vm);
    if (addressable > 255) addressable = 255;
    r.ebx = (host.ebx & 0xffff) | (addressable << 16) | ((vm.apic_id & 0xff) << 24);
    r.ecx = (host.ecx & ecx1::allowed) | ecx1::emulated;
    if ((r.ecx & ecx1::xsave) && (vm.guest_cr4 & cr4::osxsave)) r.ecx |= ecx1::osxsave;
    r.edx = (host.edx & edx1::allowed) | edx1::emulated;
    if (vm.vcpu_count > 1) r.edx |= edx1::htt;
    return r;
}

CpuidRegs cache_parameters(const CpuidRegs& host, const CpuidView& vm)
{
    CpuidRegs r = host;
    if ((host.eax & 0x1f) == 0) return {0, 0, 0, 0};  // no more caches
    unsigned level = (host.eax >> 5) & 7;
    uint32_t cores = (1u << core_shift(vm)) - 1;
    if (cores > 63) cores = 63;
    // Private L1 and L2 (one thread per core), the rest shared by every vCPU.
    uint32_t sharing = level >= 3 ? (1u << core_shift(vm)) - 1 : 0;
    if (sharing > 0xfff) sharing = 0xfff;
    r.eax = (host.eax & 0x3fff) | (sharing << 14) | (cores << 26);
    return r;
}

CpuidRegs structured_extended_features(uint32_t subleaf, const CpuidRegs& host, const CpuidView& vm)
{
    uint32_t max_subleaf = host.eax < 1 ? host.eax : 1;
    if (subleaf == 0) {
        CpuidRegs r{max_subleaf, host.ebx & leaf7::ebx_allowed, host.ecx & leaf7::ecx_allowed,
                    host.edx & leaf7::edx_allowed};
        if (vm.invpcid) r.ebx |= host.ebx & leaf7::ebx_invpcid;
        if (vm.rdtscp) r.ecx |= host.ecx & leaf7::ecx_rdpid;
        if ((r.ecx & leaf7::ecx_pku) && (vm.guest_cr4 & cr4::pke)) r.ecx |= leaf7::ecx_ospke;
        return r;
    }
    if (subleaf == 1 && max_subleaf >= 1) return {host.eax & leaf7::eax1_allowed, 0, 0, 0};
    return {0, 0, 0, 0};
}

CpuidRegs xsave_state(uint32_t subleaf, const CpuidRegs& host)
{
    if (subleaf == 0)
        return {host.eax & uint32_t(xcr0_allowed), host.ebx, host.ecx, host.edx & uint32_t(xcr0_allowed >> 32)};
    if (subleaf == 1) return {host.eax & xsave_features_allowed, host.ebx, 0, 0};
    if (subleaf < 64 && ((xcr0_allowed >> subleaf) & 1)) return host;
    return {0, 0, 0, 0};
}

CpuidRegs extended(uint32_t leaf, const CpuidRegs& host, const CpuidView& vm)
{
    switch (leaf) {
    case 0x80000000: return {guest_max_extended(vm), host.ebx, host.ecx, host.edx};
    case 0x80000001: {
        uint32_t edx = ext1::edx_syscall | ext1::edx_nx | ext1::edx_page1gb | ext1::edx_lm;
        if (vm.rdtscp) edx |= ext1::edx_rdtscp;
        return {host.eax, 0, host.ecx & (ext1::ecx_lahf | ext1::ecx_lzcnt | ext1::ecx_prefetchw), host.edx & edx};
    }
    case 0x80000002: case 0x80000003: case 0x80000004:  // brand string
    case 0x80000005: case 0x80000006:                   // cache information
        return host;
    case 0x80000007: return {0, 0, 0, host.edx & invariant_tsc};
    case 0x80000008: return {host.eax & 0xffff, 0, 0, 0};  // physical and linear address bits
    default: return {0, 0, 0, 0};
    }
}

}  // namespace

CpuidQuery host_query(uint32_t leaf, uint32_t subleaf, const CpuidView& vm)
{
    uint32_t effective = effective_leaf(leaf, vm);
    bool needed = !hypervisor_leaf(effective) && !synthesized(effective) && !beyond_host(effective, vm) &&
                  !(vm.tsc_hz && (effective == tsc_leaf || effective == frequency_leaf));
    return {needed, effective, subleaf};
}

CpuidRegs guest_cpuid(uint32_t leaf, uint32_t subleaf, const CpuidRegs& host, const CpuidView& vm)
{
    leaf = effective_leaf(leaf, vm);
    if (hypervisor_leaf(leaf)) {
        switch (leaf) {
        case kvm_leaf::base:
            return {kvm_leaf::features, kvm_leaf::signature_ebx, kvm_leaf::signature_ecx, kvm_leaf::signature_edx};
        case kvm_leaf::features: return {vm.kvm_features, 0, 0, 0};
        case hv_leaf::base:
            return {hv_leaf::features, hv_leaf::signature_ebx, hv_leaf::signature_ecx, hv_leaf::signature_edx};
        case hv_leaf::features: return {vm.hypervisor_features, 0, 0, 0};
        default: return {0, 0, 0, 0};
        }
    }
    if (leaf >= 0x80000000) return extended(leaf, host, vm);
    if (vm.tsc_hz && (leaf == tsc_leaf || leaf == frequency_leaf)) return tsc_frequency(leaf, vm);
    if (beyond_host(leaf, vm)) return {0, 0, 0, 0};
    switch (leaf) {
    case 0x0: return {guest_max_basic(vm), host.ebx, host.ecx, host.edx};
    case 0x1: return version_and_features(host, vm);
    case 0x2: return host;  // cache and TLB descriptors
    case 0x4: return cache_parameters(host, vm);
    case 0x6: return {arat, 0, 0, 0};
    case 0x7: return structured_extended_features(subleaf, host, vm);
    case 0xb: case 0x1f: return topology(subleaf, vm);
    case 0xd: return xsave_state(subleaf, host);
    case 0x15: case 0x16: return host;  // TSC/crystal ratio and frequencies: the TSC is not scaled
    default: return {0, 0, 0, 0};
    }
}

uint64_t guest_cr4_allowed(const CpuidRegs& l1, const CpuidRegs& l7)
{
    uint64_t allowed = cr4::pce | cr4::tsd;  // architectural on every processor with a TSC and RDPMC
    if (l1.edx & edx1::vme) allowed |= cr4::vme | cr4::pvi;
    if (l1.edx & edx1::de) allowed |= cr4::de;
    if (l1.edx & edx1::pse) allowed |= cr4::pse;
    if (l1.edx & edx1::pae) allowed |= cr4::pae;
    if (l1.edx & bit(7)) allowed |= cr4::mce;
    if (l1.edx & edx1::pge) allowed |= cr4::pge;
    if (l1.edx & edx1::fxsr) allowed |= cr4::osfxsr;
    if (l1.edx & edx1::sse) allowed |= cr4::osxmmexcpt;
    if (l1.ecx & bit(5)) allowed |= cr4::vmxe;
    if (l1.ecx & bit(6)) allowed |= cr4::smxe;
    if (l1.ecx & ecx1::pcid) allowed |= cr4::pcide;
    if (l1.ecx & ecx1::xsave) allowed |= cr4::osxsave;
    if (l7.ebx & leaf7::ebx_fsgsbase) allowed |= cr4::fsgsbase;
    if (l7.ebx & leaf7::ebx_smep) allowed |= cr4::smep;
    if (l7.ebx & leaf7::ebx_smap) allowed |= cr4::smap;
    if (l7.ecx & leaf7::ecx_umip) allowed |= cr4::umip;
    if (l7.ecx & leaf7::ecx_pku) allowed |= cr4::pke;
    if (l7.ecx & leaf7::ecx_la57) allowed |= cr4::la57;
    if (l7.ecx & bit(7) || l7.edx & bit(20)) allowed |= cr4::cet;
    if (l7.ecx & bit(23)) allowed |= cr4::kl;
    if (l7.ecx & bit(31)) allowed |= cr4::pks;
    if (l7.edx & bit(5)) allowed |= cr4::uintr;
    return allowed;
}

}  // namespace vmx
