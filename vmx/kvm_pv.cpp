#include "vmx/kvm_pv.hpp"

#include "arch/cpu.hpp"
#include "arch/tsc.hpp"
#include "vmx/pvclock.hpp"
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

}  // namespace

bool owns(const Vcpu& vcpu, uint32_t index)
{
    bool clock = index == msr::wall_clock_new || index == msr::system_time_new;
    return clock && (vcpu.cpuid_view.kvm_features & vmx::kvm_feature::clocksource2);
}

uint64_t read_msr(const Vcpu& vcpu, uint32_t index)
{
    return index == msr::system_time_new ? vcpu.kvm.system_time : vcpu.kvm.wall_clock;
}

void write_msr(Vcpu& vcpu, uint32_t index, uint64_t value)
{
    if (index == msr::system_time_new) {
        vcpu.kvm.system_time = value;
        refresh_clock(vcpu);
        return;
    }
    vcpu.kvm.wall_clock = value;
    pvclock::Scale scale = pvclock::scale_for(tsc::frequency_hz());
    uint64_t now = cpu::rdtsc();
    uint64_t wall_now = tsc::boot_wall_clock_ns() + tsc::to_ns(now - tsc::boot_tsc());
    uint64_t since_epoch = pvclock::scale(now + vcpu.msrs.tsc_offset, scale);
    pvclock::publish_wall_clock(vcpu.vm->ram, value, wall_now > since_epoch ? wall_now - since_epoch : 0);
}

void refresh_clock(Vcpu& vcpu)
{
    if (!(vcpu.kvm.system_time & system_time_enable)) return;
    pvclock::publish_time(vcpu.vm->ram, vcpu.kvm.system_time & ~system_time_enable, guest_tsc(vcpu),
                          pvclock::scale_for(tsc::frequency_hz()), stable(vcpu));
}

}  // namespace kvm_pv
