#include "vmx/pvclock.hpp"

namespace pvclock {
namespace {

constexpr uint64_t ns_per_s = 1000000000;

// floor(ns_per_s * 2^exponent / hz), known to fit 32 bits: binary long division, since the
// kernel has no 128-bit division (no libgcc).
uint32_t fraction(uint64_t hz, unsigned exponent)
{
    uint64_t quotient = ns_per_s / hz, remainder = ns_per_s % hz;
    for (unsigned i = 0; i < exponent; ++i) {
        quotient <<= 1;
        remainder <<= 1;  // remainder < hz < 2^63
        if (remainder >= hz) {
            remainder -= hz;
            quotient |= 1;
        }
    }
    return uint32_t(quotient);
}

// The guest sees a torn structure only while the version is odd.
void compiler_barrier() { asm volatile("" ::: "memory"); }

template <typename T>
bool publish(const GuestRam& ram, uint64_t gpa, T& fields)
{
    uint8_t* p = ram.at(gpa, sizeof(T));
    if (!p) return false;
    T* target = reinterpret_cast<T*>(p);
    volatile uint32_t* version = &target->version;
    uint32_t v = *version;
    if (v & 1) ++v;  // a guest that left it odd: still go odd, then even
    *version = v + 1;
    compiler_barrier();
    fields.version = v + 1;
    *target = fields;
    compiler_barrier();
    *version = v + 2;
    return true;
}

}  // namespace

Scale scale_for(uint64_t tsc_hz)
{
    // mul = ns_per_s * 2^(32 - shift) / tsc_hz lies in [2^31, 2^32) exactly when
    // tsc_hz * 2^shift lies in (ns_per_s, 2 ns_per_s].
    int shift = 0;
    while (tsc_hz > (2 * ns_per_s) << -shift) --shift;
    if (shift == 0)
        while ((tsc_hz << shift) <= ns_per_s) ++shift;
    return {fraction(tsc_hz, unsigned(32 - shift)), int8_t(shift)};
}

uint64_t scale(uint64_t ticks, Scale s)
{
    uint64_t shifted = s.shift < 0 ? ticks >> -s.shift : ticks << s.shift;
    // (shifted * mul) >> 32 in two 32x32-bit halves.
    uint64_t low = (shifted & 0xffffffff) * s.mul, high = (shifted >> 32) * s.mul;
    return high + (low >> 32);
}

bool publish_time(const GuestRam& ram, uint64_t gpa, uint64_t tsc, Scale s, bool stable)
{
    VcpuTimeInfo info{};
    info.tsc_timestamp = tsc;
    info.system_time = scale(tsc, s);
    info.tsc_to_system_mul = s.mul;
    info.tsc_shift = s.shift;
    info.flags = stable ? tsc_stable_bit : 0;
    return publish(ram, gpa, info);
}

bool publish_wall_clock(const GuestRam& ram, uint64_t gpa, uint64_t wall_ns_at_epoch)
{
    WallClock clock{};
    clock.sec = uint32_t(wall_ns_at_epoch / ns_per_s);
    clock.nsec = uint32_t(wall_ns_at_epoch % ns_per_s);
    return publish(ram, gpa, clock);
}

}  // namespace pvclock
