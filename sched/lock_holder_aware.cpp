// Lock-holder-aware: the credit policy (sched/credit.cpp, same state and ops) plus three remedies
// for lock-holder preemption:
//   - directed yield on pause-loop exits, to the sibling most likely to hold the lock
//     (sched/lock_holder.hpp), else credit's yield;
//   - non-intrusive preemption deferral (Uhlig et al., VM 2004): a vCPU at CPL 0 with interrupts
//     off when its slice ends gets at most Params::max_deferral more, once per slice;
//   - the intrusive hint: a vCPU that asked (Scheduler::hint) runs on until Entity::hint_until.
// See sched/README.md.
#include "sched/credit.hpp"
#include "sched/lock_holder.hpp"

namespace sched {
namespace {

// A directed yield to the likely lock holder; without one, credit's yield to whoever waits.
bool on_pause_loop(Scheduler& s, Entity& e, Ticks now)
{
    credit::sync(s, now, kNoPcpu);
    Entity* target = likely_lock_holder(s, e, [&](const Entity& x) { return credit::can_yield_to(s, e, x); });
    if (target && s.directed_yield(e, *target, now)) return true;
    return credit::pause_loop_yield(s, e, now);
}

// The slice of the current entity ended. Nothing is deferred when ending it would not hand the
// pCPU to anyone else (pick_next would give it a new slice anyway).
Ticks tick(Scheduler& s, uint32_t pcpu, Ticks now)
{
    credit::sync(s, now, pcpu);
    Entity* e = s.current(pcpu);
    if (!e || e->state != State::running || !credit::preemption_due(s, pcpu, now)) return 0;
    // Intrusive: the core bounded hint_until (max_hint per request, hint_budget per window).
    if (e->hint_until > now) return e->hint_until - now;
    // Non-intrusive: CPL 0 with interrupts off probably holds a spinlock; once per slice.
    credit::Vcpu& v = credit::vcpu(s, *e);
    if (e->hints.kernel_mode && e->hints.interrupts_off && !v.extended && s.params().max_deferral) {
        v.extended = true;
        return s.params().max_deferral;
    }
    return 0;
}

}  // namespace

extern const Policy kLockHolderAware = {
    "lock-holder-aware",
    "credit plus directed yield on pause loops, bounded deferral at CPL 0 with IF=0 and the hint",
    credit::init, credit::remove, credit::wake, credit::block, credit::yield, credit::yield_to,
    credit::pick_next, tick, on_pause_loop, credit::dump,
};

}  // namespace sched
