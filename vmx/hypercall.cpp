#include "vmx/hypercall.hpp"

#include "arch/cpu.hpp"
#include "drivers/console.hpp"
#include "vmx/exit_handlers.hpp"
#include "vmx/guest_context.hpp"
#include "vmx/scheduling.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmcs.hpp"

namespace {

int64_t console_write(Vm& vm, uint64_t address, uint64_t length)
{
    if (length > hypercall::kMaxConsoleWrite) return hypercall::bad_argument;
    const uint8_t* bytes = vm.ram.at(address, length);
    if (!bytes) return hypercall::bad_argument;
    size_t start = 0;
    for (size_t i = 0; i <= length; ++i) {
        if (i < length && bytes[i] != '\n') continue;
        if (i > start) vm_devices::print_guest_line(vm, Str(reinterpret_cast<const char*>(bytes) + start, i - start));
        start = i + 1;
    }
    return hypercall::ok;
}

}  // namespace

ExitAction handle_vmcall(Vcpu& vcpu, uint64_t)
{
    uint64_t* gpr = vcpu.regs.gpr;
    int64_t result = hypercall::unknown_function;
    if (guest_context::cpl() != 0) {
        result = hypercall::not_permitted;
    } else if (gpr[reg::rax] == hypercall::console_write) {
        result = console_write(*vcpu.vm, gpr[reg::rbx], gpr[reg::rcx]);
    } else if (gpr[reg::rax] == hypercall::exit) {
        vms::end(*vcpu.vm, VmEnd::hypercall, gpr[reg::rbx], nullptr);
        return ExitAction::stop;
    } else if (gpr[reg::rax] == hypercall::preemption_hint) {
        uint64_t per_us = scheduling::ticks_per_us();
        uint64_t asked = gpr[reg::rbx] > UINT64_MAX / per_us ? UINT64_MAX : gpr[reg::rbx] * per_us;
        result = int64_t(scheduling::scheduler().hint(vcpu.entity, cpu::rdtsc(), asked) / per_us);
    } else if (gpr[reg::rax] == hypercall::nop) {
        result = hypercall::ok;
    }
    gpr[reg::rax] = uint64_t(result);
    return ExitAction::skip_instruction;
}
