// Round-robin: the baseline. Every runnable vCPU gets the same slice in (nearly global) FIFO
// order; pause loops and CPL/IF hints are ignored. This is what a scheduler that knows
// nothing about VMs does, and what lock-holder preemption hurts most.
#include "sched/cpu_queues.hpp"
#include "sched/scheduler.hpp"

namespace sched {
namespace {

struct RoundRobin {
    CpuQueues queues;
};

RoundRobin& rr(Scheduler& s) { return s.state<RoundRobin>(); }

const char* init(Scheduler& s)
{
    s.emplace_state<RoundRobin>();
    for (uint32_t i = 0; i < s.entity_count(); ++i) {
        Entity& e = s.entity(i);
        if (e.state == State::runnable) rr(s).queues.enqueue(s, e, rr(s).queues.choose(s, e));
    }
    return nullptr;
}

void remove(Scheduler& s, Entity& e) { rr(s).queues.remove(e); }

void wake(Scheduler& s, Entity& e, Ticks) { rr(s).queues.enqueue(s, e, rr(s).queues.choose(s, e)); }

void block(Scheduler&, Entity&, Ticks) {}
void yield(Scheduler&, Entity&, Ticks) {}

// The target goes to the head of the yielding pCPU's queue as if it had waited longest, so it
// runs there next.
bool yield_to(Scheduler& s, Entity& from, Entity& target, Ticks)
{
    if (!s.may_run_on(target, from.pcpu)) return false;
    rr(s).queues.run_next(target, from.pcpu);
    return true;
}

Decision pick_next(Scheduler& s, uint32_t pcpu, Ticks)
{
    CpuQueues& q = rr(s).queues;
    Entity* previous = s.current(pcpu);
    if (previous && previous->state == State::runnable) q.enqueue(s, *previous, pcpu);
    Entity* next = q.take_oldest(s, pcpu, [](const Entity&) { return true; });
    return Decision{next, next ? s.params().slice : 0};
}

Ticks tick(Scheduler&, uint32_t, Ticks) { return 0; }
bool on_pause_loop(Scheduler&, Entity&, Ticks) { return false; }
void dump(const Scheduler& s, LineSink sink) { s.state<RoundRobin>().queues.dump(s, "round-robin", sink); }

}  // namespace

extern const Policy kRoundRobin = {
    "round-robin",
    "equal slices in FIFO order; blind to pause loops and lock holders",
    init, remove, wake, block, yield, yield_to, pick_next, tick, on_pause_loop, dump,
};

}  // namespace sched
