// Interrupts between the vCPUs of a VM. The sender never touches another vCPU's local APIC
// model (it belongs to the CPU that runs that vCPU): it posts into the target's mailbox, which is
// lock-free, and kicks the target's physical CPU with a host IPI so a running guest exits and
// sees the post, or wakes it through the scheduler when it is blocked. The target drains its
// mailbox into its LAPIC before each entry.
#pragma once
#include "drivers/virtual/ioapic.hpp"
#include "drivers/virtual/vlapic.hpp"
#include "vmx/vcpu.hpp"

namespace ipi {

// The vLAPIC's send_ipi callback (context: the sending Vcpu): routes by shorthand, physical or
// logical destination and delivery mode (fixed, lowest priority, NMI, INIT, SIPI).
void route(void* sender, const vlapic::IpiRequest& request);

// An interrupt message from the VM's I/O APIC: fixed and lowest-priority vectors (edge or level),
// NMI and INIT to the local APICs its destination selects (physical, logical, 0xFF broadcast).
// SMI and ExtINT deliver nothing. Caller holds the VM's devices lock.
void deliver_message(Vm& vm, const ioapic::Message& message);

// The vLAPIC's level_eoi callback (context: the Vcpu): the EOI goes to the I/O APIC.
void level_eoi(void* vcpu, uint8_t vector);

// Makes `target` look at its mailbox (and its VM's state) soon: a host IPI to the CPU running it,
// or a wake-up through the scheduler when it is blocked.
void kick(Vcpu& target);

// Anything posted and not yet taken (vectors, NMI, INIT, SIPI): checked after a vCPU blocks, so
// a post that raced with the block still wakes it.
bool pending(const Vcpu& vcpu);

// On the target's own CPU: moves posted vectors into its LAPIC; INIT and SIPI are handled by the
// vCPU loop (pending_init / pending_sipi).
void drain(Vcpu& vcpu);

// The host vector used to kick a CPU out of guest mode; it is acknowledged on exit and needs no
// handler.
constexpr uint8_t kKickVector = 0xf2;

}  // namespace ipi
