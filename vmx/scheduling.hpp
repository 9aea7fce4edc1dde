// The hypervisor's side of sched/: one Scheduler for the machine, its platform (the TSC for time,
// host IPIs for kicks), and the glue between a Vcpu and its sched::Entity. Policy code knows
// nothing of VMX; this file and the vCPU loop are all that connect the two.
#pragma once
#include <cstdint>

#include "lib/frame_allocator.hpp"
#include "sched/scheduler.hpp"
#include "vmx/vcpu.hpp"

struct Vm;

namespace scheduling {

struct Config {
    const sched::Policy* policy;
    uint32_t slice_us;
    bool trace_at_end;
};

// After vms::create_all: registers every VM (weight, cap, pinning) and vCPU, gives every CPU a
// trace ring and starts the policy. False, with the reason on the console, when the policy
// cannot schedule this configuration (e.g. a gang wider than the machine).
bool init(const Config& config, FrameAllocator& frames);

sched::Scheduler& scheduler();
inline Vcpu& vcpu_of(sched::Entity& e) { return *static_cast<Vcpu*>(e.owner); }
uint64_t ticks_per_us();

// Something was posted for a vCPU that may be blocked (halted or waiting for SIPI).
void wake(Vcpu& vcpu);
// The VM ended: none of its vCPUs runs again; CPUs running them are kicked.
void end_vm(Vm& vm);
// Every vCPU of every VM has ended.
bool finished();
// Wakes the vCPUs that halted on `cpu` and whose LAPIC timer is due; recomputes the CPU's
// earliest such deadline.
void wake_sleepers(PerCpu& cpu, uint64_t now);

// Metrics (and the trace when asked for with sched_trace=end) on the console.
void report_end();
// The `t` debug key: metrics and the trace now.
void dump();

}  // namespace scheduling
