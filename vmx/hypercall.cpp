#include "vmx/hypercall.hpp"

#include "arch/cpu.hpp"
#include "drivers/console.hpp"
#include "vmx/exit_handlers.hpp"
#include "vmx/guest_context.hpp"
#include "vmx/hypercall_check.hpp"
#include "vmx/scheduling.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmcs.hpp"

namespace {

// [address, address + length) was checked to be RAM (hypercall::check).
void console_write(Vm& vm, uint64_t address, uint64_t length)
{
    const uint8_t* bytes = vm.ram.at(address, length);
    size_t start = 0;
    for (size_t i = 0; i <= length; ++i) {
        if (i < length && bytes[i] != '\n') continue;
        if (i > start) vm_devices::print_guest_line(vm, Str(reinterpret_cast<const char*>(bytes) + start, i - start));
        start = i + 1;
    }
}

// Only the caller's own VM is searched: another VM's APIC IDs name nothing there, or one of the
// caller's siblings, never a vCPU of that VM. IDs are compared whole, so 2^32 + 1 is not 1.
Vcpu* vcpu_with_apic_id(Vm& vm, uint64_t apic_id)
{
    for (uint32_t i = 0; i < vm.vcpu_count; ++i)
        if (vm.vcpus[i].lapic.id() == apic_id) return &vm.vcpus[i];
    return nullptr;
}

// The flag first, then the wake: the target's vCPU loop blocks, then looks at the flag again
// (vcpu_loop's block), so one of the two sees the other.
void kick_cpu(Vcpu& caller, uint64_t apic_id)
{
    Vcpu* target = vcpu_with_apic_id(*caller.vm, apic_id);
    if (!target) return;
    ++caller.pv.kicks;
    __atomic_store_n(&target->pv.unhalted, true, __ATOMIC_SEQ_CST);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    scheduling::wake(*target);
}

// True when the target takes the caller's CPU: the caller then leaves it.
bool sched_yield(Vcpu& caller, uint64_t apic_id)
{
    Vcpu* target = vcpu_with_apic_id(*caller.vm, apic_id);
    ++caller.pv.yields;
    if (!target || !scheduling::scheduler().yield_to(caller.entity, target->entity, cpu::rdtsc())) return false;
    ++caller.pv.yields_done;
    return true;
}

int64_t preemption_hint(Vcpu& vcpu, uint64_t microseconds)
{
    uint64_t per_us = scheduling::ticks_per_us();
    uint64_t asked = microseconds > UINT64_MAX / per_us ? UINT64_MAX : microseconds * per_us;
    return int64_t(scheduling::scheduler().hint(vcpu.entity, cpu::rdtsc(), asked) / per_us);
}

}  // namespace

ExitAction handle_vmcall(Vcpu& vcpu, uint64_t)
{
    uint64_t* gpr = vcpu.regs.gpr;
    const bool mode_64_bit = guest_context::in_64_bit_mode();
    const hypercall::Checked call = hypercall::check(
        vcpu.vm->ram,
        {guest_context::cpl(), mode_64_bit, gpr[reg::rax], gpr[reg::rbx], gpr[reg::rcx], gpr[reg::rdx], gpr[reg::rsi]});
    int64_t result = call.error;
    ExitAction action = ExitAction::skip_instruction;
    if (result == hypercall::ok) {
        switch (call.function) {
        case hypercall::kvm::kick_cpu: kick_cpu(vcpu, call.args[1]); break;
        case hypercall::kvm::sched_yield:
            if (sched_yield(vcpu, call.args[0])) action = ExitAction::reschedule;
            break;
        case hypercall::console_write: console_write(*vcpu.vm, call.args[0], call.args[1]); break;
        case hypercall::exit: vms::end(*vcpu.vm, VmEnd::hypercall, call.args[0], nullptr); return ExitAction::stop;
        case hypercall::preemption_hint: result = preemption_hint(vcpu, call.args[0]); break;
        default: break;  // nop
        }
    }
    gpr[reg::rax] = hypercall::result_register(result, mode_64_bit);
    return action;
}
