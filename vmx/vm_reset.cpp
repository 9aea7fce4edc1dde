#include "vmx/vm_reset.hpp"

#include "drivers/console.hpp"
#include "vmx/ipi.hpp"
#include "vmx/vcpu_switch.hpp"

namespace vm_reset {
namespace {

bool resetting(const Vm& vm) { return __atomic_load_n(&vm.resetting, __ATOMIC_SEQ_CST); }

// Saves whatever the vCPU left in a CPU's registers and VMCLEARs its VMCS, so that power_on's
// state is what its next load restores.
bool take_off_cpus(PerCpu& cpu, Vcpu& vcpu)
{
    if (!vcpu_switch::load(cpu, vcpu)) return false;
    vcpu_switch::unload(cpu);
    return true;
}

void restart(Vm& vm, Vcpu& boot)
{
    char error[256];
    if (!vms::reload(vm, error, sizeof error)) {
        vms::end(vm, VmEnd::fault, 0, error);
        return;
    }
    // The others parked; a post that reached them since came from the old guest.
    for (uint32_t i = 0; i < vm.vcpu_count; ++i)
        if (&vm.vcpus[i] != &boot) vms::power_on(vm, vm.vcpus[i]);
    vms::power_on(vm, boot);  // at the start state the reload computed
    ++vm.restarts;
    if (vm.max_restarts)
        console::info("vm {}: reset by the guest: restart {} of {}", vm.name, vm.restarts, vm.max_restarts);
    else
        console::info("vm {}: reset by the guest: restart {}", vm.name, vm.restarts);
    __atomic_store_n(&vm.reset_parked, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&vm.resetting, false, __ATOMIC_SEQ_CST);
}

}  // namespace

void request(Vm& vm)
{
    bool restart;
    {
        SpinlockGuard guard(vm.lock);
        if (vm.end != VmEnd::running) return;
        restart = vm.on_reboot == guest_config::OnReboot::restart &&
                  (!vm.max_restarts || vm.restarts < vm.max_restarts);
        if (restart && !vm.resetting) {
            __atomic_store_n(&vm.reset_generation, vm.reset_generation + 1, __ATOMIC_SEQ_CST);
            __atomic_store_n(&vm.resetting, true, __ATOMIC_SEQ_CST);
        }
    }
    if (!restart) return vms::end(vm, VmEnd::reboot, vm.restarts, nullptr);
    for (uint32_t i = 0; i < vm.vcpu_count; ++i) ipi::kick(vm.vcpus[i]);
}

bool pending(const Vcpu& vcpu)
{
    return resetting(*vcpu.vm) && vcpu.reset_generation != __atomic_load_n(&vcpu.vm->reset_generation, __ATOMIC_SEQ_CST);
}

Step take(PerCpu& cpu, Vcpu& vcpu)
{
    Vm& vm = *vcpu.vm;
    if (!resetting(vm)) return Step::run;
    if (pending(vcpu)) {
        vcpu.reset_generation = __atomic_load_n(&vm.reset_generation, __ATOMIC_SEQ_CST);
        if (!take_off_cpus(cpu, vcpu)) {
            vms::end(vm, VmEnd::fault, 0, "VMPTRLD of its VMCS failed");
            return Step::block;
        }
        vms::power_on(vm, vcpu);
        __atomic_add_fetch(&vm.reset_parked, 1, __ATOMIC_SEQ_CST);
    }
    if (vcpu.index != 0) return Step::block;
    if (__atomic_load_n(&vm.reset_parked, __ATOMIC_SEQ_CST) < vm.vcpu_count) return Step::yield;
    restart(vm, vcpu);
    return Step::run;
}

}  // namespace vm_reset
