#include "vmx/kvm_pv.hpp"

#include "arch/cpu.hpp"
#include "arch/tsc.hpp"
#include "vmx/pvclock.hpp"
#include "vmx/steal_time.hpp"
#include "vmx/vm.hpp"

namespace kvm_pv {
namespace {

uint64_t guest_tsc(const Vcpu& vcpu) { return cpu::rdtsc() + vcpu.msrs.tsc_offset; }

// PVCLOCK_TSC_STABLE_BIT: every vCPU's clock agrees when the host TSC is invariant and this
// vCPU's TSC is still the VM's common one (offset 0: no guest write moved it).
bool stable(const Vcpu& vcpu)
{
    return (vcpu.cpuid_view.kvm_features & vmx::kvm_feature::clocksource_stable) && vcpu.msrs.tsc_offset == 0;
}

uint64_t steal_ticks(const Vcpu& vcpu) { return vcpu.entity.metrics.runnable + vcpu.entity.metrics.costop; }

bool steal_time_enabled(const Vcpu& vcpu) { return vcpu.kvm.steal_time & steal_time::enable_bit; }

}  // namespace

bool owns(const Vcpu& vcpu, uint32_t index)
{
    uint32_t features = vcpu.cpuid_view.kvm_features;
    if (index == msr::wall_clock_new || index == msr::system_time_new) return features & vmx::kvm_feature::clocksource2;
    return index == msr::steal_time && (features & vmx::kvm_feature::steal_time);
}

uint64_t read_msr(const Vcpu& vcpu, uint32_t index)
{
    switch (index) {
    case msr::system_time_new: return vcpu.kvm.system_time;
    case msr::steal_time: return vcpu.kvm.steal_time;
    default: return vcpu.kvm.wall_clock;
    }
}

bool write_msr(Vcpu& vcpu, uint32_t index, uint64_t value)
{
    if (index == msr::system_time_new) {
        vcpu.kvm.system_time = value;
        refresh_clock(vcpu);
        return true;
    }
    if (index == msr::steal_time) {
        if (!steal_time::valid_msr_value(value)) return false;
        vcpu.kvm.steal_time = value;
        vcpu.kvm.steal_base = steal_ticks(vcpu);
        scheduled_in(vcpu);  // steal 0, not preempted: it is running
        return true;
    }
    vcpu.kvm.wall_clock = value;
    pvclock::Scale scale = pvclock::scale_for(tsc::frequency_hz());
    uint64_t now = cpu::rdtsc();
    uint64_t wall_now = tsc::boot_wall_clock_ns() + tsc::to_ns(now - tsc::boot_tsc());
    uint64_t since_epoch = pvclock::scale(now + vcpu.msrs.tsc_offset, scale);
    pvclock::publish_wall_clock(vcpu.vm->ram, value, wall_now > since_epoch ? wall_now - since_epoch : 0);
    return true;
}

void refresh_clock(Vcpu& vcpu)
{
    if (!(vcpu.kvm.system_time & system_time_enable)) return;
    pvclock::publish_time(vcpu.vm->ram, vcpu.kvm.system_time & ~system_time_enable, guest_tsc(vcpu),
                          pvclock::scale_for(tsc::frequency_hz()), stable(vcpu));
}

void scheduled_in(Vcpu& vcpu)
{
    if (!steal_time_enabled(vcpu)) return;
    steal_time::publish(vcpu.vm->ram, vcpu.kvm.steal_time & steal_time::address_mask,
                        tsc::to_ns(steal_ticks(vcpu) - vcpu.kvm.steal_base));
}

void preempted(Vcpu& vcpu)
{
    if (steal_time_enabled(vcpu)) steal_time::mark_preempted(vcpu.vm->ram, vcpu.kvm.steal_time & steal_time::address_mask);
}

}  // namespace kvm_pv
