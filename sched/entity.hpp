// A vCPU as the scheduler sees it: its state, where it is, what the platform saw of the guest at
// its last exit, its accounting and a little room for the policy's own bookkeeping. The platform
// (the hypervisor's Vcpu, the simulator's model) embeds one and points `owner` back at itself.
#pragma once
#include <cstdint>

namespace sched {

using Ticks = uint64_t;  // TSC ticks in the hypervisor, simulated ticks in tools/schedsim

constexpr uint32_t kMaxPcpus = 64;  // an affinity mask is one word
constexpr uint32_t kMaxVms = 16;
constexpr uint32_t kMaxEntities = 256;
constexpr uint32_t kNoPcpu = ~0u;

enum class State : uint8_t { runnable, running, blocked, ended };

// Filled in by the platform before every call that deschedules or may defer: what the guest was
// doing when it last exited. The lock-holder-aware policy reads them; the core counts preemptions
// at CPL 0 with interrupts off.
struct GuestHints {
    bool kernel_mode;     // CPL 0
    bool interrupts_off;  // RFLAGS.IF = 0
};

struct Metrics {
    Ticks run, runnable, blocked, costop;  // runnable is steal: ready but not on a pCPU
    uint64_t switches_in, preemptions, migrations;
    uint64_t pause_loop_exits, directed_yields, directed_yield_hits;
    uint64_t deferrals, hints_granted, preempted_kernel_irqoff;
};

struct Entity {
    void* owner = nullptr;  // the platform's vCPU
    uint32_t id = 0;        // index in Scheduler's entity table
    uint32_t vm = 0;        // index in Scheduler's VM table
    uint32_t index = 0;     // vCPU number within the VM
    uint64_t affinity = ~0ull;  // bit n: may run on pCPU n
    State state = State::runnable;
    uint32_t pcpu = kNoPcpu;  // running on, queued on, or last ran on
    GuestHints hints{};
    bool spinning = false;    // its last exit was a pause loop; cleared when it runs again
    bool costopped = false;   // held back by a co-scheduling policy (its wait counts as co-stop)
    Ticks state_since = 0;
    Ticks last_descheduled = 0;  // when it last left a pCPU while still runnable
    Ticks hint_until = 0;        // intrusive hint: asked not to be preempted before this
    Ticks hint_used = 0;         // hint time granted in the current accounting window
    Ticks hint_window_start = 0;
    Metrics metrics{};
    // Policy-owned: a run-queue link and a few numbers whose meaning each policy documents.
    Entity* next = nullptr;
    uint64_t queued_at = 0;  // CpuQueues' enqueue order
    int64_t credit = 0;
    Ticks skew = 0;
    uint64_t scratch = 0;
};

}  // namespace sched
