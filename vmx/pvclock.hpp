// kvmclock's guest-memory structures and arithmetic (Linux's include/asm/pvclock-abi.h, KVM's
// Documentation/virt/kvm/x86/msr.rst): the guest computes nanoseconds from its TSC as
//   system_time + (((tsc - tsc_timestamp) << tsc_shift, or >> -tsc_shift) * tsc_to_system_mul) >> 32
// Hardware-independent: the caller passes the TSC, its rate and the wall clock.
//
// Writers follow the version protocol: the version is made odd, the fields written, then the
// version made even again, so a reader that sees an odd or changed version reads again.
#pragma once
#include <cstdint>

#include "vmx/guest_ram.hpp"

namespace pvclock {

// struct pvclock_vcpu_time_info, what MSR_KVM_SYSTEM_TIME_NEW points at.
struct VcpuTimeInfo {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;  // ns at tsc_timestamp
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad[2];
};
static_assert(sizeof(VcpuTimeInfo) == 32);

// struct pvclock_wall_clock, what MSR_KVM_WALL_CLOCK_NEW points at: the wall time (since the Unix
// epoch) when system_time was 0.
struct WallClock {
    uint32_t version;
    uint32_t sec;
    uint32_t nsec;
};
static_assert(sizeof(WallClock) == 12);

constexpr uint8_t tsc_stable_bit = 1u << 0;  // PVCLOCK_TSC_STABLE_BIT

struct Scale {
    uint32_t mul;
    int8_t shift;
    constexpr bool operator==(const Scale&) const = default;
};

// The (mul, shift) that turn ticks of a `tsc_hz` clock into nanoseconds, mul in [2^31, 2^32)
// for the most precision. 1 <= tsc_hz < 2^63.
Scale scale_for(uint64_t tsc_hz);

// Nanoseconds for `ticks` as the guest computes them (a 64x32-bit product, kept to 64 bits).
uint64_t scale(uint64_t ticks, Scale s);

// Publishes the time at guest TSC `tsc` (system_time = scale(tsc), so the epoch is guest TSC 0)
// at `gpa` with the version protocol. False, and nothing written, if [gpa, gpa+32) is not RAM.
bool publish_time(const GuestRam& ram, uint64_t gpa, uint64_t tsc, Scale s, bool stable);

// Publishes the wall clock: `wall_ns_at_epoch`, the Unix time in ns at guest TSC 0. False, and
// nothing written, if [gpa, gpa+12) is not RAM.
bool publish_wall_clock(const GuestRam& ram, uint64_t gpa, uint64_t wall_ns_at_epoch);

}  // namespace pvclock
