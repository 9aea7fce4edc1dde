// Event injection (SDM Vol. 3C 27.6 "Event Injection"): what the guest gets on its next entry,
// with the same semantics real hardware has: faults leave RIP at the faulting instruction.
#pragma once
#include <cstdint>

#include "vmx/vcpu.hpp"

namespace events {

namespace vector {
constexpr uint8_t de = 0, db = 1, nmi = 2, bp = 3, ud = 6, nm = 7, df = 8, ts = 10, np = 11, ss = 12, gp = 13,
                  pf = 14, ac = 17, mc = 18;
}

void inject_exception(Vcpu& vcpu, uint8_t vector, uint32_t error_code = 0);
// #PF: CR2 is not part of the VMCS, and the hypervisor never changes it, so writing it here
// is what the guest sees.
void inject_page_fault(Vcpu& vcpu, uint64_t linear_address, uint32_t error_code);
void inject_external_interrupt(Vcpu& vcpu, uint8_t vector);
void inject_nmi(Vcpu& vcpu);
bool has_pending(const Vcpu& vcpu);

// Before entry: writes a pending event into the VMCS. After exit: an event whose delivery the
// exit interrupted (IDT-vectoring information, SDM Vol. 3C 28.2.4) is queued again.
void write_pending(Vcpu& vcpu);
void requeue_interrupted_delivery(Vcpu& vcpu);

}  // namespace events
