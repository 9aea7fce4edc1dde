// EPT violations (SDM Vol. 3C 28.2.1, Table 28-7): guest-physical addresses without RAM. The
// vCPU's local APIC page and devices on the VM's MMIO bus are emulated instruction by
// instruction; anything else is an access to memory the VM does not own, and ends the VM.
#include "arch/cpu.hpp"
#include "lib/format.hpp"
#include "vmx/events.hpp"
#include "vmx/exit_handlers.hpp"
#include "vmx/guest_context.hpp"
#include "vmx/vcpu_switch.hpp"
#include "vmx/vm.hpp"
#include "vmx/vmcs.hpp"

namespace {

constexpr uint64_t kRead = 1u << 0, kWrite = 1u << 1, kFetch = 1u << 2, kNmiUnblockedByIret = 1u << 12;
constexpr uint32_t kBlockingByNmi = 1u << 3;

bool lapic_read(void* context, uint64_t gpa, unsigned size, uint64_t& value)
{
    auto& apic = *static_cast<vlapic::Vlapic*>(context);
    value = apic.read_mmio(gpa - apic.mmio_base(), uint8_t(size), cpu::rdtsc());
    return true;
}

bool lapic_write(void* context, uint64_t gpa, unsigned size, uint64_t value)
{
    auto& apic = *static_cast<vlapic::Vlapic*>(context);
    apic.write_mmio(gpa - apic.mmio_base(), uint8_t(size), value, cpu::rdtsc());
    return true;
}

// The MMIO bus is the VM's, shared by its vCPUs on several CPUs.
bool bus_read(void* context, uint64_t gpa, unsigned size, uint64_t& value)
{
    Vm& vm = *static_cast<Vm*>(context);
    SpinlockGuard guard(vm.devices_lock);
    return vm.devices.mmio.read(gpa, uint8_t(size), value) == mmio_bus::Status::ok;
}

bool bus_write(void* context, uint64_t gpa, unsigned size, uint64_t value)
{
    Vm& vm = *static_cast<Vm*>(context);
    SpinlockGuard guard(vm.devices_lock);
    return vm.devices.mmio.write(gpa, uint8_t(size), value) == mmio_bus::Status::ok;
}

const char* access_name(uint64_t qualification)
{
    return (qualification & kFetch) ? "instruction fetch" : (qualification & kWrite) ? "write" : "read";
}

ExitAction stop(Vcpu& vcpu, const char* what, uint64_t gpa, uint64_t qualification,
                const mmio_emulation::Result* result = nullptr)
{
    char report[240];
    size_t n = format_to(report, sizeof report, "{} {:#x} ({}) at RIP {:#x}", what, gpa, access_name(qualification),
                         vmcs::read(vmcs::FieldNatural::guest_rip));
    if (result && result->opcode_length) {
        n += format_to(report + n, sizeof report - n, ", opcode");
        for (unsigned i = 0; i < result->opcode_length; ++i)
            n += format_to(report + n, sizeof report - n, " {:02x}", result->opcode[i]);
    }
    vms::end(*vcpu.vm, VmEnd::fault, gpa, report);
    return ExitAction::stop;
}

// Bytes that do not make the exit's access (Outcome::mismatch), or that the emulator does not
// know, may have changed since the processor fetched them (SDM Vol. 3A 8.1.3: it runs either
// version), or it fetched them through a stale TLB entry while the emulator walked the tables
// (SDM Vol. 3A 4.10.4.3). True: resume unemulated, with the vCPU's TLB flushed, so it fetches
// what memory and the tables hold now; nothing retired, so an IRET that unblocked NMIs blocks
// them again for its re-execution (SDM Vol. 3C 28.2.3). False after ReexecutionLimit::kMaxInARow
// in a row at one RIP: the mismatch is permanent.
bool reexecute(Vcpu& vcpu, uint64_t rip, uint64_t qualification)
{
    if (!vcpu.reexecution.allow(rip)) return false;
    vcpu_switch::flush_guest_tlb(vcpu);
    if (qualification & kNmiUnblockedByIret)
        vmcs::write(vmcs::Field32::guest_interruptibility,
                    vmcs::read(vmcs::Field32::guest_interruptibility) | kBlockingByNmi);
    return true;
}

}  // namespace

ExitAction handle_ept_violation(Vcpu& vcpu, uint64_t qualification)
{
    uint64_t gpa = vmcs::read(vmcs::Field64::guest_physical_address);
    Vm& vm = *vcpu.vm;
    mmio_emulation::MmioAccess device{};
    if (vcpu.lapic.mmio_decodes(gpa)) device = {lapic_read, lapic_write, &vcpu.lapic};
    else if (vm.devices.mmio.find(gpa)) device = {bus_read, bus_write, &vm};
    else return stop(vcpu, "access to guest-physical address outside the VM's memory:", gpa, qualification);
    if (qualification & kFetch) return stop(vcpu, "instruction fetch from device memory at", gpa, qualification);

    guest_context::load_vmcs_registers(vcpu);
    mmio_emulation::GuestContext context = guest_context::read(vcpu);
    const uint64_t rip = vcpu.regs.rip;
    mmio_emulation::Result r = mmio_emulation::emulate_at_rip(context, vcpu.regs, gpa, device);
    using mmio_emulation::Outcome;
    switch (r.outcome) {
    case Outcome::done:
        vcpu.reexecution.emulated(rip);
        guest_context::store_vmcs_registers(vcpu);
        // The instruction retired: STI and MOV-SS blocking end with it (SDM Vol. 3C 25.4.2).
        vmcs::write(vmcs::Field32::guest_interruptibility, vmcs::read(vmcs::Field32::guest_interruptibility) & ~3u);
        return ExitAction::resume;
    case Outcome::page_fault: events::inject_page_fault(vcpu, r.fault_address, r.error_code); return ExitAction::resume;
    case Outcome::general_protection: events::inject_exception(vcpu, events::vector::gp, 0); return ExitAction::resume;
    case Outcome::stack_fault: events::inject_exception(vcpu, events::vector::ss, 0); return ExitAction::resume;
    case Outcome::invalid_opcode: events::inject_exception(vcpu, events::vector::ud); return ExitAction::resume;
    case Outcome::mismatch:
    case Outcome::unsupported:
        if (reexecute(vcpu, rip, qualification)) return ExitAction::resume;
        // An unprivileged program that maps a device page must not end the whole VM by touching it
        // with an instruction the emulator lacks: it gets #UD, which its kernel handles (as KVM does).
        if (context.cpl > 0) {
            events::inject_exception(vcpu, events::vector::ud);
            return ExitAction::resume;
        }
        if (r.outcome == Outcome::mismatch) {
            char what[112];
            format_to(what, sizeof what, "instruction that does not make the access that exited, re-executed {} times in a row, on",
                      ReexecutionLimit::kMaxInARow);
            return stop(vcpu, what, gpa, qualification, &r);
        }
        return stop(vcpu, "instruction the MMIO emulator does not support, on", gpa, qualification, &r);
    case Outcome::mmio_failed: return stop(vcpu, "device refused the access to", gpa, qualification, &r);
    case Outcome::not_ram:
    case Outcome::truncated: return stop(vcpu, "cannot read the instruction that accessed", gpa, qualification, &r);
    }
    return ExitAction::resume;
}

// EPT misconfigurations are the hypervisor's own bug in building the tables: report loudly.
ExitAction handle_ept_misconfiguration(Vcpu& vcpu, uint64_t qualification)
{
    return stop(vcpu, "EPT misconfiguration (hypervisor bug) at", vmcs::read(vmcs::Field64::guest_physical_address),
                qualification);
}
