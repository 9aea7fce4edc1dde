// Lock-holder-aware: the credit policy (sched/credit.cpp, same state and ops) plus three remedies
// for lock-holder preemption:
//   - directed yield on pause-loop exits, to the sibling most likely to hold the lock;
//   - non-intrusive preemption deferral (Uhlig et al., VM 2004): a vCPU at CPL 0 with interrupts
//     off when its slice ends gets at most Params::max_deferral more, once per slice;
//   - the intrusive hint: a vCPU that asked (Scheduler::hint) runs on until Entity::hint_until.
// See sched/README.md.
#include "sched/credit.hpp"

namespace sched {
namespace {

// The sibling most likely to hold the lock `spinner` waits for: queued (runnable, not running)
// where the spinner runs, not itself spinning, preempted in kernel mode (required when the
// spinner spins in kernel mode: a kernel lock's holder was preempted there), most recently.
Entity* lock_holder_candidate(Scheduler& s, const Entity& spinner)
{
    const VmInfo& vm = s.vm(spinner.vm);
    Entity* best = nullptr;
    for (uint32_t i = 0; i < vm.count; ++i) {
        Entity& e = s.sibling(spinner, i);
        if (e.spinning || !credit::can_yield_to(s, spinner, e)) continue;
        if (spinner.hints.kernel_mode && !e.hints.kernel_mode) continue;
        if (best && (best->hints.kernel_mode > e.hints.kernel_mode ||
                     (best->hints.kernel_mode == e.hints.kernel_mode && best->last_descheduled >= e.last_descheduled)))
            continue;
        best = &e;
    }
    return best;
}

bool on_pause_loop(Scheduler& s, Entity& e, Ticks now)
{
    credit::sync(s, now, kNoPcpu);
    Entity* target = lock_holder_candidate(s, e);
    return target && s.directed_yield(e, *target, now);
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
