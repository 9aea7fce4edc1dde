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

}  // namespace

ExitAction handle_vmcall(Vcpu& vcpu, uint64_t)
{
    uint64_t* gpr = vcpu.regs.gpr;
    const hypercall::Checked call =
        hypercall::check(vcpu.vm->ram, guest_context::cpl(), gpr[reg::rax], gpr[reg::rbx], gpr[reg::rcx]);
    int64_t result = call.error;
    if (result == hypercall::ok) {
        switch (call.function) {
        case hypercall::console_write: console_write(*vcpu.vm, call.address, call.length); break;
        case hypercall::exit: vms::end(*vcpu.vm, VmEnd::hypercall, gpr[reg::rbx], nullptr); return ExitAction::stop;
        case hypercall::preemption_hint: {
            uint64_t per_us = scheduling::ticks_per_us();
            uint64_t asked = gpr[reg::rbx] > UINT64_MAX / per_us ? UINT64_MAX : gpr[reg::rbx] * per_us;
            result = int64_t(scheduling::scheduler().hint(vcpu.entity, cpu::rdtsc(), asked) / per_us);
            break;
        }
        default: break;  // nop
        }
    }
    gpr[reg::rax] = uint64_t(result);
    return ExitAction::skip_instruction;
}
