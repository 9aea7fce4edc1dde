// Port I/O (SDM Vol. 3C 28.2.1, Table 28-5 "Exit Qualification for I/O Instructions"): IN/OUT
// go to the VM's port bus; INS/OUTS (with REP) move between the bus and guest memory through
// the guest's own page tables, in batches so a large count does not cost one exit per element.
#include "lib/format.hpp"
#include "vmx/events.hpp"
#include "vmx/exit_handlers.hpp"
#include "vmx/guest_context.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmcs.hpp"
#include "vmx/vmx_root.hpp"

namespace {

constexpr uint64_t kDirectionFlag = 1u << 10;
constexpr uint64_t kMaxBatch = 1024;

struct IoExit {
    uint8_t size;
    bool in, string, rep;
    uint16_t port;
};

IoExit decode(uint64_t q) { return {uint8_t((q & 7) + 1), bool(q & 8), bool(q & 16), bool(q & 32), uint16_t(q >> 16)}; }

uint64_t size_mask(unsigned bytes) { return bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1; }

// Address size of a string instruction: from the instruction-information field when the CPU
// reports it (IA32_VMX_BASIC[54]), else the mode's default.
unsigned address_bytes(CpuMode mode)
{
    if (vmx::platform().features.ins_outs_exit_info) {
        uint32_t info = vmcs::read(vmcs::Field32::exit_instruction_info);
        return 2u << ((info >> 7) & 7);
    }
    return mode == CpuMode::long64 ? 8 : mode == CpuMode::protected32 ? 4 : 2;
}

ExitAction string_io(Vcpu& vcpu, const IoExit& io)
{
    mmio_emulation::GuestContext context = guest_context::read(vcpu);
    uint64_t* gpr = vcpu.regs.gpr;
    uint64_t mask = size_mask(address_bytes(context.mode));
    uint64_t count = io.rep ? gpr[reg::rcx] & mask : 1;
    if (count == 0) return ExitAction::skip_instruction;
    bool down = vmcs::read(vmcs::FieldNatural::guest_rflags) & kDirectionFlag;
    int64_t step = down ? -int64_t(io.size) : int64_t(io.size);
    unsigned index = io.in ? reg::rdi : reg::rsi;
    // Element i is at segment base + ((rDI/rSI + i * step) mod 2^address bits), the linear
    // address wrapping at 4 GiB outside 64-bit mode (SDM Vol. 1 3.3.7, Vol. 3A 3.4). The exit's
    // linear address is the first element's: the base is what it adds to the offset.
    uint64_t linear_mask = context.mode == CpuMode::long64 ? ~0ull : 0xffff'ffffull;
    uint64_t base = vmcs::read(vmcs::FieldNatural::guest_linear_address) - (gpr[index] & mask);
    uint64_t batch = count < kMaxBatch ? count : kMaxBatch;
    auto access = io.in ? guest_paging::AccessKind::write : guest_paging::AccessKind::read;
    Vm& vm = *vcpu.vm;
    uint64_t done = 0;
    for (; done < batch; ++done) {
        uint64_t linear = (base + ((gpr[index] + uint64_t(step) * done) & mask)) & linear_mask;
        auto t = guest_paging::translate(context.paging, vm.ram, linear, access, context.cpl == 3);
        if (t.status == guest_paging::WalkStatus::page_fault) {
            if (done) break;  // finish what was done; the fault comes when the guest retries
            events::inject_page_fault(vcpu, linear, t.error_code);
            return ExitAction::resume;
        }
        uint8_t* bytes = vm.ram.at(t.gpa, io.size);
        if (t.status != guest_paging::WalkStatus::ok || !bytes) {
            if (done) break;
            char report[160];
            format_to(report, sizeof report, "string I/O on port {:#x} with memory outside RAM (linear {:#x})",
                      io.port, linear);
            vms::end(vm, VmEnd::fault, 0, report);
            return ExitAction::stop;
        }
        uint32_t value = 0;
        SpinlockGuard guard(vm.devices_lock);
        if (io.in) {
            value = vm.devices.ports.dispatch_in(io.port, io.size);
            for (unsigned i = 0; i < io.size; ++i) bytes[i] = uint8_t(value >> (8 * i));
        } else {
            for (unsigned i = 0; i < io.size; ++i) value |= uint32_t(bytes[i]) << (8 * i);
            vm.devices.ports.dispatch_out(io.port, io.size, value);
        }
    }
    gpr[index] = (gpr[index] & ~mask) | ((gpr[index] + uint64_t(step) * done) & mask);
    if (vms::ended(vm)) return ExitAction::stop;  // an OUTS to the debug-exit or a reset port
    if (!io.rep) return ExitAction::skip_instruction;
    gpr[reg::rcx] = (gpr[reg::rcx] & ~mask) | ((gpr[reg::rcx] - done) & mask);
    // Not finished: leave RIP on the instruction so the guest executes the rest.
    return (gpr[reg::rcx] & mask) ? ExitAction::resume : ExitAction::skip_instruction;
}

}  // namespace

ExitAction handle_io(Vcpu& vcpu, uint64_t qualification)
{
    IoExit io = decode(qualification);
    if (io.string) return string_io(vcpu, io);
    uint64_t& rax = vcpu.regs.gpr[reg::rax];
    io_bus::IoBus& ports = vcpu.vm->devices.ports;
    SpinlockGuard guard(vcpu.vm->devices_lock);
    if (!io.in) {
        ports.dispatch_out(io.port, io.size, uint32_t(rax & size_mask(io.size)));
    } else {
        uint32_t value = ports.dispatch_in(io.port, io.size);
        // IN EAX zero-extends into RAX; IN AL/AX leave the rest of RAX alone.
        rax = io.size == 4 ? value : (rax & ~size_mask(io.size)) | value;
    }
    return vms::ended(*vcpu.vm) ? ExitAction::stop : ExitAction::skip_instruction;
}
