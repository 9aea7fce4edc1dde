// A virtual CPU: its registers while it is out of the guest, its VMCS, where it runs, what is
// waiting to be injected, and its exit counters.
#pragma once
#include <cstdint>

#include "drivers/virtual/vlapic.hpp"
#include "sched/entity.hpp"
#include "vmx/exit_reason.hpp"
#include "vmx/guest_registers.hpp"
#include "vmx/cpuid_policy.hpp"
#include "vmx/entry_checks.hpp"
#include "vmx/guest_cpuid.hpp"
#include "vmx/kvm_pv.hpp"
#include "vmx/msr_policy.hpp"
#include "vmx/reexecution_limit.hpp"

struct Vm;
struct PerCpu;

enum class VcpuState : uint8_t { runnable, halted, wait_for_sipi };

// An XSAVE/FXSAVE area (64-byte aligned; its size comes from CPUID at run time).
struct alignas(64) ExtendedState {
    uint8_t bytes[512];
};

// KVM's paravirtual spinlocks and yield (vmx/hypercall.cpp): the kick that ends a HLT, as KVM's
// pv_unhalted, and what the vCPU asked for (the VM's end report counts them).
struct PvUnhalt {
    bool unhalted = false;  // kicked: its current or next HLT ends (taken by the vCPU loop)
    uint64_t kicks = 0;     // KVM_HC_KICK_CPU calls that named a vCPU of its VM
    uint64_t yields = 0, yields_done = 0;  // KVM_HC_SCHED_YIELD calls; those that gave its CPU away
};

// An event for the next VM entry (SDM Vol. 3C 27.6 "Event Injection"): the VM-entry
// interruption-information format, plus the error code and instruction length it may need.
struct PendingEvent {
    uint32_t info;  // bit 31 valid
    uint32_t error_code;
    uint32_t instruction_length;
};

struct Vcpu {
    Vcpu(Vm* owner, uint32_t number, const vlapic::Config& apic, vlapic::Callbacks apic_callbacks)
        : vm(owner), index(number), lapic(apic, apic_callbacks)
    {
    }

    GuestRegisters regs{};
    Vm* vm;
    uint32_t index;
    vlapic::Vlapic lapic;
    vmx::GuestMsrState msrs{};
    kvm_pv::State kvm{};
    PvUnhalt pv{};
    vmx::CpuidView cpuid_view{};
    guest_cpuid::Cache cpuid_cache{};
    uint16_t vpid = 0;
    uint64_t vmcs = 0;  // physical
    bool launched = false;
    bool vmcs_ready = false;
    VcpuState state = VcpuState::runnable;
    sched::Entity entity;           // what the scheduler knows of it (vmx/scheduling.cpp)
    PerCpu* resident_on = nullptr;  // the CPU holding its registers and VMCS (vcpu_switch)
    PerCpu* last_cpu = nullptr;     // whose host state its VMCS holds
    uint64_t wake_deadline = ~0ull; // halted: when its LAPIC timer wakes it
    uint32_t ple_window = 0;        // its adaptive pause-loop window (vcpu_loop)
    uint32_t processor_controls = 0;  // cached: interrupt-window exiting toggles per entry
    ReexecutionLimit reexecution;   // of instructions that do not match their EPT violation
    PendingEvent event{};
    uint32_t reset_generation = 0;  // the VM's last reset this vCPU took (vm_reset)
    // Posted by other vCPUs (vmx/ipi.cpp), taken by this vCPU's own CPU.
    uint64_t posted_vectors[4]{};
    uint64_t posted_level[4]{};  // of those, the level-triggered ones (from the I/O APIC)
    bool pending_nmi = false;
    bool pending_init = false;
    int pending_sipi = -1;  // start-up vector, -1 for none
    vmx::StartState start{};  // the state the VMCS is set up with
    // Saved while another vCPU uses the physical CPU (vcpu_switch).
    ExtendedState* extended_state = nullptr;
    uint32_t extended_state_bytes = 0;
    uint64_t xcr0 = 1;
    uint64_t xsave_mask = 0;  // every component the guest may enable (its CPUID leaf 0xD)
    uint64_t cr2 = 0;
    uint64_t debug[5] = {};  // DR0-DR3, DR6
    uint64_t exits[exit_reason::count]{};
};
