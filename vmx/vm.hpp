// A virtual machine: its RAM, EPT, bitmaps, vCPUs and devices, and how it ended. Created at boot
// from a guest module; nothing is allocated afterwards (no allocation on exit paths).
#pragma once
#include <cstddef>
#include <cstdint>

#include "lib/frame_allocator.hpp"
#include "lib/spinlock.hpp"
#include "vmx/guest_config.hpp"
#include "vmx/guest_memory_map.hpp"
#include "vmx/guest_ram.hpp"
#include "vmx/entry_checks.hpp"
#include "vmx/vcpu.hpp"
#include "vmx/vm_devices.hpp"

constexpr size_t kMaxVms = guest_config::GuestList::kMaxGuests;

// power_off: the guest wrote S5 to its ACPI PM1a control register; reboot: it reset the machine
// (ACPI reset register 0xCF9, the 8042's reset line) and does not restart (on_reboot=end, or
// max_restarts reached; on_reboot=restart starts it again instead: vmx/vm_reset.hpp).
enum class VmEnd : uint8_t { running, debug_exit, hypercall, triple_fault, fault, power_off, reboot };

struct Vm {
    char name[guest_config::kMaxNameLength + 1];
    uint32_t index;
    GuestRam ram;
    uint64_t ram_physical;
    guest_memory::Layout layout;
    vmx::StartState start;  // the boot vCPU's first state, with its EAX, EBX (Multiboot) and RSI (Linux)
    uint32_t start_eax, start_ebx;
    uint64_t start_rsi;
    uint64_t ept_pointer;
    uint64_t io_bitmaps;  // physical: bitmap A (ports 0-0x7fff), then bitmap B
    uint64_t msr_bitmap;  // physical
    Vcpu* vcpus;
    uint32_t vcpu_count;
    uint32_t weight;       // scheduling share (weight=), cap (cap=, % of one CPU) and CPUs (pin=)
    uint32_t cap_percent;
    uint64_t pin_mask;     // 0: any CPU
    const guest_config::Guest* guest;  // its modules, kept by GRUB: a restart loads them again
    guest_config::OnReboot on_reboot;
    uint32_t max_restarts;  // 0: no limit
    uint32_t restarts;      // done so far
    // A reset in progress (vm_reset): requested for generation reset_generation; reset_parked
    // vCPUs have taken it.
    bool resetting;
    uint32_t reset_generation;
    uint32_t reset_parked;
    VmDevices devices;
    Spinlock devices_lock;  // the VM's vCPUs run on several CPUs; devices are not reentrant
    Spinlock lock;          // the end fields
    VmEnd end;
    uint64_t end_value;
    char end_report[320];
};

namespace vms {

// Builds every VM from the guest modules GRUB loaded and assigns vCPUs to physical CPUs.
// A guest that cannot be built is reported and left out; the others still start.
void create_all(const mb2::BootInfo& boot, FrameAllocator& frames);
size_t count();
// True when guests were left out and every one of them because this CPU cannot run it (the run
// then ends with the "refused" status, as a machine without VT-x does).
bool all_refused();
Vm& get(size_t index);

// The guest's memory and devices as at creation: RAM zeroed, the ACPI tables and the guest's
// images loaded again, the start state recomputed, the devices reset (the CMOS keeps its
// battery-backed contents). Only while none of its vCPUs runs. False with the reason in `error`.
bool reload(Vm& vm, char* error, size_t error_size);
// vCPU `vcpu` as after power-on: registers, local APIC, MSRs, extended state, paravirtual MSRs,
// nothing pending, a fresh VMCS at its next entry; the boot vCPU runnable at the VM's start
// state, the others waiting for SIPI. The vCPU must be loaded on no CPU.
void power_on(Vm& vm, Vcpu& vcpu);

// Ends a VM (first caller wins): records why and stops its vCPUs at their next exit. `report`
// is printed as the VM's end line by summarize().
void end(Vm& vm, VmEnd how, uint64_t value, const char* report);
bool ended(const Vm& vm);

// Prints `matryoshka: vm NAME ended: REASON` lines and per-VM exit counts; true when every guest
// the modules asked for ran and ended through debug-exit (or the exit hypercall) with value 0, or
// powered itself off.
bool summarize();

}  // namespace vms
