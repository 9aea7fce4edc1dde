// The credit policy's state and ops, shared with lock-holder-aware (sched/lock_holder_aware.cpp),
// which is credit with other tick and on_pause_loop ops. sched/README.md describes the behaviour.
//
// Entity::credit holds a vCPU's credit in ticks: refilled every Params::credit_period in
// proportion to its VM's weight, debited by the time it runs. The rest of a vCPU's bookkeeping is
// in credit::Vcpu below, indexed by Entity::id.
#pragma once
#include <cstdint>

#include "sched/cpu_queues.hpp"
#include "sched/scheduler.hpp"

namespace sched::credit {

// Who runs first: a higher priority before a lower one, FIFO (Entity::queued_at) within one.
enum class Priority : uint8_t {
    over,   // no credit left: runs only when nobody with credit wants the pCPU
    under,  // credit left
    boost,  // woke with credit left: runs before UNDER, to keep I/O latency low
};

struct Vcpu {
    Ticks charged_until;  // while it runs: credit is debited up to here
    uint32_t queue;       // the pCPU whose queue holds it; kNoPcpu: not queued (running, blocked, parked)
    Priority lift;        // a directed yield's target: the least priority it has until it runs
    bool lifted;
    bool active;    // runnable or running at some moment of this period: it shares the next refill
    bool boost;     // woke with credit; cleared when it leaves a pCPU
    bool parked;    // runnable, but its VM is over its cap: unqueued until the next refill
    bool extended;  // lock-holder-aware: this slice was already deferred once
};

struct Vm {
    Ticks used;       // capped VMs: run time charged in this period (an overrun is carried over)
    Ticks share;      // credit granted at the last refill, for dump
    uint32_t active;  // its active vCPUs at the last refill, for dump
    bool parked;      // over its cap: its vCPUs wait for the next refill
};

struct PolicyState {
    CpuQueues queues;  // per-pCPU FIFOs (CpuQueues::choose places); every priority in one queue
    Vcpu vcpus[kMaxEntities];
    Vm vms[kMaxVms];
    uint64_t sequence;  // Entity::queued_at
    Ticks next_refill;
    bool clock_started;  // init has no time: the first op with one starts the period clock
};

// The ops both policies share (the contract is in sched/policy.hpp).
const char* init(Scheduler& s);
void remove(Scheduler& s, Entity& e);
void wake(Scheduler& s, Entity& e, Ticks now);
void block(Scheduler& s, Entity& e, Ticks now);
void yield(Scheduler& s, Entity& e, Ticks now);
bool yield_to(Scheduler& s, Entity& from, Entity& target, Ticks now);
Decision pick_next(Scheduler& s, uint32_t pcpu, Ticks now);
void dump(const Scheduler& s, LineSink sink);

// ---- for lock-holder-aware (lock held) ----
inline PolicyState& state(Scheduler& s) { return s.state<PolicyState>(); }
inline const PolicyState& state(const Scheduler& s) { return s.state<PolicyState>(); }
inline Vcpu& vcpu(Scheduler& s, const Entity& e) { return state(s).vcpus[e.id]; }
// Refills credit if a period boundary has passed (every op above does this first).
void sync(Scheduler& s, Ticks now, uint32_t deciding_pcpu);
// yield_to would accept `target`: a queued (runnable, not running, not parked) sibling that may
// run on from's pCPU.
bool can_yield_to(const Scheduler& s, const Entity& from, const Entity& target);
// Ending the slice of the entity current on `pcpu` now would hand the pCPU to another: someone
// queued that may run there has at least its priority, or its VM reached its cap. Charges it.
bool preemption_due(Scheduler& s, uint32_t pcpu, Ticks now);
// credit's on_pause_loop: true (the spinner yields) when preemption_due on its pCPU.
bool pause_loop_yield(Scheduler& s, Entity& e, Ticks now);

// ---- for tests and tools (no lock needed when nothing runs) ----
// Runnable but held back by its VM's cap until the next refill.
inline bool parked(const Scheduler& s, const Entity& e) { return state(s).vcpus[e.id].parked; }

}  // namespace sched::credit
