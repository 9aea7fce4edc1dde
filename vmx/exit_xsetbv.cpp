// XSETBV (SDM Vol. 2D "XSETBV"; Vol. 1 13.3 "Enabling the XSAVE Feature Set and XSAVE-Enabled
// Features"). CR4.OSXSAVE (#UD) and the CPL (#GP) come before the exit on Intel processors (SDM
// Vol. 3C 26.1.1), but not in every implementation (Bochs 2.7 exits first): the CPL is checked
// again here, since a CPL 3 write would change the XCR0 of the guest's kernel. The value's rules
// are the hypervisor's to apply. The guest's XCR0 lives in the register itself: the hypervisor
// never uses extended state.
#include "vmx/guest_cpuid.hpp"
#include "vmx/events.hpp"
#include "vmx/exit_handlers.hpp"
#include "vmx/guest_context.hpp"

namespace {

constexpr uint64_t kX87 = 1u << 0, kSse = 1u << 1, kAvx = 1u << 2, kBndregs = 1u << 3, kBndcsr = 1u << 4;
constexpr uint64_t kAvx512 = 7u << 5;  // opmask, ZMM_Hi256, Hi16_ZMM

bool valid_xcr0(uint64_t value, uint64_t supported)
{
    if (!(value & kX87) || (value & ~supported)) return false;
    if ((value & kAvx) && !(value & kSse)) return false;
    if (bool(value & kBndregs) != bool(value & kBndcsr)) return false;
    if ((value & kAvx512) && ((value & kAvx512) != kAvx512 || !(value & kAvx))) return false;
    return true;
}

}  // namespace

ExitAction handle_xsetbv(Vcpu& vcpu, uint64_t)
{
    const uint64_t* gpr = vcpu.regs.gpr;
    uint64_t value = (gpr[reg::rdx] << 32) | uint32_t(gpr[reg::rax]);
    // Only components the guest's CPUID shows: the host may have more (MPX, AMX) that are hidden.
    uint64_t supported = vmx::guest_xcr0_allowed(guest_cpuid::query(vcpu, 0xd, 0));
    if (guest_context::cpl() != 0 || uint32_t(gpr[reg::rcx]) != 0 || !valid_xcr0(value, supported)) {
        events::inject_exception(vcpu, events::vector::gp, 0);
        return ExitAction::resume;
    }
    asm volatile("xsetbv" ::"c"(0u), "a"(uint32_t(value)), "d"(uint32_t(value >> 32)));
    return ExitAction::skip_instruction;
}
