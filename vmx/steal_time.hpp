// KVM's steal-time structure (MSR_KVM_STEAL_TIME, Documentation/virt/kvm/x86/msr.rst): how long
// the vCPU was runnable but not on a physical CPU, and whether it is preempted right now, which
// Linux's vcpu_is_preempted() (PV spinlocks, the scheduler) reads. Hardware-independent.
#pragma once
#include <cstdint>

#include "vmx/guest_ram.hpp"

namespace steal_time {

// struct kvm_steal_time: 64 bytes, 64-byte aligned.
struct Record {
    uint64_t steal;  // ns
    uint32_t version;
    uint32_t flags;
    uint8_t preempted;
    uint8_t pad8[3];
    uint32_t pad[11];
};
static_assert(sizeof(Record) == 64);

constexpr uint8_t vcpu_preempted = 1u << 0;  // KVM_VCPU_PREEMPTED

// MSR_KVM_STEAL_TIME: bits 63:6 the address, bit 0 enable; bits 5:1 are reserved (#GP).
constexpr uint64_t enable_bit = 1, reserved_bits = 0x3e, address_mask = ~0x3full;
constexpr bool valid_msr_value(uint64_t value) { return !(value & reserved_bits); }

// Publishes `steal_ns` with the version protocol and clears `preempted` (the vCPU is about to run).
// False, and nothing written, if the 64 bytes at gpa are not RAM.
bool publish(const GuestRam& ram, uint64_t gpa, uint64_t steal_ns);

// Sets `preempted`: the vCPU left its CPU while still runnable. False if not RAM.
bool mark_preempted(const GuestRam& ram, uint64_t gpa);

}  // namespace steal_time
