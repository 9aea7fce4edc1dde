#include "vmx/vm.hpp"

#include "vmx/scheduling.hpp"

#include <new>

#include "arch/paging.hpp"
#include "arch/smp.hpp"
#include "arch/tsc.hpp"
#include "drivers/console.hpp"
#include "vmx/ept.hpp"
#include "vmx/guest_acpi.hpp"
#include "vmx/linux_loader.hpp"
#include "vmx/multiboot_loader.hpp"
#include "vmx/vcpu_switch.hpp"
#include "vmx/guest_cpuid.hpp"
#include "vmx/ipi.hpp"
#include "vmx/msr_policy.hpp"
#include "vmx/scheduling.hpp"
#include "vmx/vmx_root.hpp"

namespace vms {
namespace {

Vm* machines[kMaxVms];
size_t machine_count = 0;
uint16_t next_vpid = 1;  // VPID 0 is the host's (SDM Vol. 3C 29.1.1)
size_t not_started = 0;  // guests the modules asked for that could not be built
size_t refused = 0;      // ...of them, those this CPU cannot run (refusal())

uint64_t allocate_zeroed(FrameAllocator& frames, uint64_t bytes, uint64_t alignment)
{
    uint64_t physical = frames.allocate(bytes, alignment);
    if (physical == FrameAllocator::kNone) return physical;
    // A VM never sees what was in its memory before: zero it all.
    __builtin_memset(paging::phys_to_virt(physical), 0, bytes);
    return physical;
}

// 1 GiB or 2 MiB alignment lets EPT use large pages for the whole of RAM.
uint64_t ram_alignment(uint64_t bytes)
{
    if (bytes >= (1ull << 30)) return 1ull << 30;
    return bytes >= (2ull << 20) ? 2ull << 20 : 4096;
}

template <class T>
T* allocate_object(FrameAllocator& frames, size_t count = 1)
{
    uint64_t physical = allocate_zeroed(frames, (sizeof(T) * count + 4095) & ~4095ull, 4096);
    return physical == FrameAllocator::kNone ? nullptr : paging::phys_to_virt<T>(physical);
}

const char* load_linux(Vm& vm, const guest_config::Guest& guest, const guest_acpi::AcpiTables& acpi, char* error,
                       size_t size)
{
    linux_boot::LoadRequest request{};
    request.ram = vm.ram;
    request.image = paging::phys_to_virt<const uint8_t>(guest.start);
    request.image_size = guest.end - guest.start;
    request.cmdline = guest.config.cmdline;
    if (guest.file_count) {  // guest_config allows one file: the initrd
        request.initrd = paging::phys_to_virt<const uint8_t>(guest.files[0].start);
        request.initrd_size = guest.files[0].end - guest.files[0].start;
    }
    request.acpi_rsdp = acpi.rsdp_address;
    request.guest_name = Str(vm.name);
    request.entry = guest.config.entry;
    linux_boot::LoadResult loaded{};
    if (!linux_boot::load_bzimage(request, loaded, error, size)) return error;
    const vmx::CapabilityMsrs& caps = vmx::platform().msrs;
    vm.start = loaded.long_mode
                   ? vmx::linux64_start_state(caps, loaded.entry, loaded.cr3, loaded.gdt_base, loaded.gdt_limit)
                   : vmx::linux32_start_state(caps, uint32_t(loaded.entry), loaded.gdt_base, loaded.gdt_limit);
    vm.start_rsi = loaded.zero_page;
    console::info("vm {}: Linux boot protocol {}.{}, {}-bit entry, kernel at {:#x}, initrd {} at {:#x}", vm.name,
                  loaded.version >> 8, loaded.version & 0xff, loaded.long_mode ? 64 : 32, loaded.kernel_start,
                  Bytes{request.initrd_size}, loaded.initrd_start);
    return nullptr;
}

const char* load_guest(Vm& vm, const guest_config::Guest& guest, const guest_acpi::AcpiTables& acpi, char* error,
                       size_t size)
{
    const uint8_t* image = paging::phys_to_virt<const uint8_t>(guest.start);
    size_t image_size = guest.end - guest.start;
    if (guest.config.kind == guest_config::Kind::linux) return load_linux(vm, guest, acpi, error, size);
    if (guest.config.kind == guest_config::Kind::realmode) {
        multiboot::RealModeStart real{};
        if (!multiboot::load_flat_binary(vm.ram, image, image_size, Str(vm.name), real, error, size)) return error;
        if (!guest_memory::build_layout(vm.ram.size, real.firmware_bytes, vm.layout, error, size)) return error;
        vm.start = vmx::reset_start_state(vmx::platform().msrs);
        return nullptr;
    }
    multiboot::ModuleImage modules[multiboot::kMaxModules];
    size_t module_count = guest.file_count < multiboot::kMaxModules ? guest.file_count : multiboot::kMaxModules;
    for (size_t i = 0; i < module_count; ++i) {
        const guest_config::GuestFile& f = guest.files[i];
        modules[i] = {paging::phys_to_virt<const uint8_t>(f.start), f.end - f.start, f.cmdline};
    }
    multiboot::LoadRequest request{vm.ram, image, image_size, guest.config.cmdline, modules, module_count,
                                   multiboot::Protocol::automatic, Str(vm.name)};
    request.acpi_rsdp = acpi.rsdp;
    request.acpi_rsdp_length = acpi.rsdp_length;
    multiboot::LoadResult loaded{};
    if (!multiboot::load_multiboot(request, loaded, error, size)) return error;
    if (loaded.warning) console::warning("vm {}: {}", vm.name, loaded.warning);
    vm.start = vmx::multiboot_start_state(vmx::platform().msrs, loaded.entry);
    vm.start_eax = loaded.eax_magic;
    vm.start_ebx = loaded.ebx_info;
    return nullptr;
}

vlapic::Vlapic power_on_lapic(Vcpu& vcpu)
{
    vlapic::Config apic{.apic_id = vcpu.index, .bsp = vcpu.index == 0, .tsc_per_bus_tick = 1, .phys_addr_bits = 39};
    return vlapic::Vlapic(apic, vlapic::Callbacks{ipi::route, ipi::level_eoi, &vcpu});
}

bool create_vcpus(Vm& vm, const guest_config::Guest& guest, FrameAllocator& frames)
{
    vm.vcpu_count = guest.config.vcpus;
    vm.weight = guest.config.weight;
    vm.cap_percent = guest.config.cap_percent;
    vm.pin_mask = guest.config.pin_mask;
    vm.vcpus = allocate_object<Vcpu>(frames, vm.vcpu_count);
    if (!vm.vcpus) return false;
    for (uint32_t i = 0; i < vm.vcpu_count; ++i) {
        Vcpu* vcpu = new (&vm.vcpus[i]) Vcpu(&vm, i, vlapic::Config{.apic_id = i}, vlapic::Callbacks{});
        vcpu->vmcs = frames.allocate(4096);
        if (vcpu->vmcs == FrameAllocator::kNone) return false;
        if (vmx::platform().controls.proc2.value & vmx::proc2::enable_vpid) vcpu->vpid = next_vpid++;
        vcpu->cpuid_view = guest_cpuid::view(*vcpu);
        vcpu->cpuid_cache.fill(*vcpu);
        if (!vcpu_switch::init(*vcpu, frames)) return false;  // needs the CPUID view
        power_on(vm, *vcpu);
    }
    return true;
}

// The VM's firmware tables and images in its (zeroed) RAM, and its start state.
const char* load_contents(Vm& vm, const guest_config::Guest& guest, char* error, size_t size)
{
    // The firmware tables first, as a BIOS leaves them before the boot loader runs: the loader
    // puts a copy of the RSDP in the Multiboot2 information and never writes the ACPI region.
    guest_acpi::AcpiTables acpi{};
    char acpi_error[160];
    if (!guest_acpi::build_acpi_tables(vm.ram, vm.layout.acpi_base, vm.layout.acpi_bytes, guest.config.vcpus, acpi,
                                       acpi_error, sizeof acpi_error)) {
        format_to(error, size, "guest '{}': {}", vm.name, acpi_error);
        return error;
    }
    return load_guest(vm, guest, acpi, error, size);
}

// Why this CPU cannot run `guest` at all, or nullptr. Without unrestricted guest, VM entry needs
// CR0.PE and CR0.PG set (SDM Vol. 3C 26.3.1.1), but every guest starts in real mode (kind=realmode,
// and every application processor after its SIPI) or in protected mode with paging off (Multiboot).
// Running those would take an emulation of unpaged mode (an identity page table under a shadowed
// CR0.PG, as KVM does) and of real mode, which Matryoshka does not have.
const char* refusal(const guest_config::Guest& guest)
{
    if (vmx::platform().features.unrestricted_guest) return nullptr;
    switch (guest.config.kind) {
        case guest_config::Kind::realmode:
            return "this CPU has no unrestricted guest (IA32_VMX_PROCBASED_CTLS2 allowed-1 bit 7), and the guest "
                   "starts in real mode";
        case guest_config::Kind::linux:
            // The boot vCPU starts paged in long mode, but Linux's own paths (APs after INIT-SIPI,
            // the real-mode trampoline for reboot and resume) need real mode.
            return "this CPU has no unrestricted guest (IA32_VMX_PROCBASED_CTLS2 allowed-1 bit 7), and Linux "
                   "starts its CPUs in real mode";
        case guest_config::Kind::multiboot: break;
    }
    return "this CPU has no unrestricted guest (IA32_VMX_PROCBASED_CTLS2 allowed-1 bit 7), and a Multiboot "
           "kernel starts with paging off";
}

Vm* create(const guest_config::Guest& guest, FrameAllocator& frames, char* error, size_t size)
{
    Vm* vm = allocate_object<Vm>(frames);
    if (!vm) return format_to(error, size, "guest '{}': out of memory", guest.config.name), nullptr;
    new (vm) Vm{};
    for (size_t i = 0; i < sizeof vm->name; ++i) vm->name[i] = guest.config.name[i];
    vm->ram.size = guest.config.memory_bytes;
    vm->ram_physical = allocate_zeroed(frames, vm->ram.size, ram_alignment(vm->ram.size));
    if (vm->ram_physical == FrameAllocator::kNone) {
        format_to(error, size, "guest '{}': not enough free memory for {} of RAM", vm->name, Bytes{vm->ram.size});
        return nullptr;
    }
    vm->ram.host = paging::phys_to_virt<uint8_t>(vm->ram_physical);
    if (!guest_memory::build_layout(vm->ram.size, 0, vm->layout, error, size)) return nullptr;
    vm->guest = &guest;
    vm->on_reboot = guest.config.on_reboot;
    vm->max_restarts = guest.config.max_restarts;
    if (load_contents(*vm, guest, error, size)) return nullptr;
    // The PC hole is device memory from now on (vm_devices: all ones), except a real-mode
    // firmware region at its top, which EPT maps.
    vm->ram.hole_start = guest_memory::kLowRamEnd;
    vm->ram.hole_end = guest_memory::kHighRamBase - vm->layout.firmware_bytes;
    vm->ept_pointer = ept::build(vm->layout, vm->ram_physical, frames);
    vm->io_bitmaps = frames.allocate(2 * 4096);
    vm->msr_bitmap = frames.allocate(4096);
    if (!vm->ept_pointer || vm->io_bitmaps == FrameAllocator::kNone || vm->msr_bitmap == FrameAllocator::kNone ||
        !create_vcpus(*vm, guest, frames)) {
        format_to(error, size, "guest '{}': out of memory for its EPT, bitmaps or vCPUs", vm->name);
        return nullptr;
    }
    // Every port traps: a VM owns no real device (SDM Vol. 3C 26.1.3 "Instructions That Cause
    // VM Exits Conditionally"). MSRs trap unless the policy says the VMCS switches them anyway.
    auto* io = paging::phys_to_virt<uint8_t>(vm->io_bitmaps);
    for (size_t i = 0; i < 2 * 4096; ++i) io[i] = 0xff;
    vmx::fill_msr_bitmap(paging::phys_to_virt<uint8_t>(vm->msr_bitmap));
    vm_devices::init(*vm);
    return vm;
}

}  // namespace

void create_all(const mb2::BootInfo& boot, FrameAllocator& frames)
{
    static guest_config::GuestList guests;
    guest_config::parse_modules(boot.modules, boot.module_count, guests);
    for (size_t i = 0; i < guests.error_count; ++i) console::error("{}", guests.errors[i]);
    not_started = guests.error_count + guests.dropped_errors;
    for (size_t i = 0; i < guests.guest_count; ++i) {
        if (const char* why = refusal(guests.guests[i])) {
            console::error("vm {} refused: {}", guests.guests[i].config.name, why);
            ++not_started;
            ++refused;
            continue;
        }
        char error[256];
        Vm* vm = create(guests.guests[i], frames, error, sizeof error);
        if (!vm) {
            console::error("{}; not started", error);
            ++not_started;
            continue;
        }
        vm->index = uint32_t(machine_count);
        machines[machine_count++] = vm;
        char leaves[120];
        ept::describe_leaves(vm->ept_pointer, leaves, sizeof leaves);
        console::info("vm {}: {} RAM at {:#x}, {} vCPU{}, EPT {:#x}: {}", vm->name, Bytes{vm->ram.size},
                      vm->ram_physical, vm->vcpu_count, vm->vcpu_count == 1 ? "" : "s", vm->ept_pointer, leaves);
    }
    console::set_guest_count(machine_count);  // VM i writes as console guest i (vm_devices)
}

size_t count() { return machine_count; }
bool all_refused() { return refused != 0 && refused == not_started; }
Vm& get(size_t index) { return *machines[index]; }

void end(Vm& vm, VmEnd how, uint64_t value, const char* report)
{
    {
        SpinlockGuard guard(vm.lock);
        if (vm.end != VmEnd::running) return;
        vm.end_value = value;
        if (report) format_to(vm.end_report, sizeof vm.end_report, "{}", report);
        __atomic_store_n(&vm.end, how, __ATOMIC_RELEASE);
    }
    scheduling::end_vm(vm);
}

bool reload(Vm& vm, char* error, size_t error_size)
{
    void* p = vm.ram.host;
    uint64_t quadwords = vm.ram.size / 8;
    asm volatile("rep stosq" : "+D"(p), "+c"(quadwords) : "a"(0ull) : "memory");
    if (load_contents(vm, *vm.guest, error, error_size)) return false;
    vm_devices::reset(vm);
    return true;
}

void power_on(Vm& vm, Vcpu& vcpu)
{
    vcpu.regs = GuestRegisters{};
    vcpu.lapic = power_on_lapic(vcpu);
    vmx::MsrConfig msr_config = vmx::msr_config(guest_cpuid::query(vcpu, 7, 0), guest_cpuid::query(vcpu, 0x80000001, 0),
                                                guest_cpuid::query(vcpu, 0x80000008, 0));
    vcpu.msrs = vmx::initial_msr_state(msr_config, 0);
    vcpu.kvm = kvm_pv::State{};
    vcpu_switch::reset(vcpu);
    vcpu.event = PendingEvent{};
    for (int i = 0; i < 4; ++i) {
        __atomic_store_n(&vcpu.posted_vectors[i], 0, __ATOMIC_RELAXED);
        __atomic_store_n(&vcpu.posted_level[i], 0, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&vcpu.pending_nmi, false, __ATOMIC_RELAXED);
    __atomic_store_n(&vcpu.pending_init, false, __ATOMIC_RELAXED);
    __atomic_store_n(&vcpu.pending_sipi, -1, __ATOMIC_RELAXED);
    vcpu.reexecution = ReexecutionLimit{};
    vcpu.wake_deadline = ~0ull;
    vcpu.vmcs_ready = false;
    vcpu.launched = false;
    // The boot vCPU starts as the loader says; the others wait for INIT-SIPI-SIPI.
    vcpu.state = vcpu.index == 0 ? VcpuState::runnable : VcpuState::wait_for_sipi;
    if (vcpu.index == 0) {
        vcpu.start = vm.start;
        vcpu.msrs.efer = vm.start.guest.efer;  // RDMSR answers from the policy's copy (long-mode starts)
        vcpu.regs.gpr[reg::rax] = vm.start_eax;
        vcpu.regs.gpr[reg::rbx] = vm.start_ebx;
        vcpu.regs.gpr[reg::rsi] = vm.start_rsi;
    }
}

bool ended(const Vm& vm) { return __atomic_load_n(&vm.end, __ATOMIC_ACQUIRE) != VmEnd::running; }

bool summarize()
{
    // A guest that was asked for and never ran is a failure too, whatever the others did.
    bool all_passed = machine_count > 0 && not_started == 0;
    for (size_t i = 0; i < machine_count; ++i) {
        Vm& vm = *machines[i];
        vm_devices::flush(vm);  // every CPU has stopped: partial console lines come out now
        switch (vm.end) {
        case VmEnd::debug_exit: console::info("vm {} ended: debug-exit {}", vm.name, vm.end_value); break;
        case VmEnd::hypercall: console::info("vm {} ended: exit hypercall {}", vm.name, vm.end_value); break;
        case VmEnd::triple_fault: console::info("vm {} ended: triple fault: {}", vm.name, vm.end_report); break;
        case VmEnd::fault: console::info("vm {} ended: stopped: {}", vm.name, vm.end_report); break;
        case VmEnd::power_off: console::info("vm {} ended: power-off", vm.name); break;
        case VmEnd::reboot: console::info("vm {} ended: reboot", vm.name); break;
        case VmEnd::running: console::info("vm {} ended: still running", vm.name); break;
        }
        const ConsoleLosses& lost = vm.devices.console_losses;
        if (lost.uart_bytes || lost.lines)
            console::info("vm {} console: lost {} bytes written to its busy UART, {} lines over its queue share",
                          vm.name, lost.uart_bytes, lost.lines);
        bool passed = ((vm.end == VmEnd::debug_exit || vm.end == VmEnd::hypercall) && vm.end_value == 0) ||
                      vm.end == VmEnd::power_off;
        all_passed = all_passed && passed;
        char counts[256];
        size_t used = 0;
        for (uint32_t reason = 0; reason < exit_reason::count; ++reason) {
            uint64_t total = 0;
            for (uint32_t v = 0; v < vm.vcpu_count; ++v) total += vm.vcpus[v].exits[reason];
            if (total)
                used += format_to(counts + used, sizeof counts - used, "{}{} {}", used ? ", " : "",
                                  exit_reason::name(reason), total);
        }
        console::info("vm {} exits: {}", vm.name, used ? counts : "none");
        PvUnhalt pv{};
        for (uint32_t v = 0; v < vm.vcpu_count; ++v) {
            pv.kicks += vm.vcpus[v].pv.kicks;
            pv.yields += vm.vcpus[v].pv.yields;
            pv.yields_done += vm.vcpus[v].pv.yields_done;
        }
        if (pv.kicks || pv.yields)
            console::info("vm {} paravirtual: kick_cpu {}, sched_yield {} ({} gave the CPU away)", vm.name, pv.kicks,
                          pv.yields, pv.yields_done);
    }
    return all_passed;
}

}  // namespace vms
