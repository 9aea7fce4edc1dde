#include "vmx/events.hpp"

#include "vmx/vmcs.hpp"

namespace events {
namespace {

constexpr uint32_t kValid = 1u << 31, kDeliverErrorCode = 1u << 11;
constexpr uint32_t kTypeExternal = 0u << 8, kTypeNmi = 2u << 8, kTypeHardwareException = 3u << 8;
constexpr uint64_t kCr0ProtectionEnable = 1;

// Exceptions that push an error code in protected mode (SDM Vol. 3A 6.15, Table 6-1).
bool pushes_error_code(uint8_t vector)
{
    switch (vector) {
    case vector::df: case vector::ts: case vector::np: case vector::ss: case vector::gp: case vector::pf:
    case vector::ac: return true;
    default: return false;
    }
}

}  // namespace

void inject_exception(Vcpu& vcpu, uint8_t vector, uint32_t error_code)
{
    uint32_t info = kValid | kTypeHardwareException | vector;
    // Real mode has no error codes, and VM entry rejects one there (SDM Vol. 3C 27.2.1.3).
    bool protected_mode = vmcs::read(vmcs::FieldNatural::guest_cr0) & kCr0ProtectionEnable;
    if (pushes_error_code(vector) && protected_mode) info |= kDeliverErrorCode;
    vcpu.event = PendingEvent{info, error_code, 0};
}

void inject_page_fault(Vcpu& vcpu, uint64_t linear_address, uint32_t error_code)
{
    asm volatile("mov %0, %%cr2" ::"r"(linear_address));
    inject_exception(vcpu, vector::pf, error_code);
}

void inject_external_interrupt(Vcpu& vcpu, uint8_t vector)
{
    vcpu.event = PendingEvent{kValid | kTypeExternal | vector, 0, 0};
}

void inject_nmi(Vcpu& vcpu) { vcpu.event = PendingEvent{kValid | kTypeNmi | vector::nmi, 0, 0}; }

bool has_pending(const Vcpu& vcpu) { return vcpu.event.info & kValid; }

void write_pending(Vcpu& vcpu)
{
    if (!has_pending(vcpu)) return;
    vmcs::write(vmcs::Field32::entry_interruption_info, vcpu.event.info);
    vmcs::write(vmcs::Field32::entry_exception_error_code, vcpu.event.error_code);
    vmcs::write(vmcs::Field32::entry_instruction_length, vcpu.event.instruction_length);
    vcpu.event.info = 0;
}

void requeue_interrupted_delivery(Vcpu& vcpu)
{
    uint32_t info = vmcs::read(vmcs::Field32::idt_vectoring_info);
    if (!(info & kValid)) return;
    // Same layout as the entry field except bit 12 (undefined there, must be 0 on entry).
    vcpu.event = PendingEvent{info & ~(1u << 12), vmcs::read(vmcs::Field32::idt_vectoring_error_code),
                              vmcs::read(vmcs::Field32::exit_instruction_length)};
}

}  // namespace events
