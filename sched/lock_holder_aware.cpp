// Lock-holder-aware: the credit policy (sched/credit.cpp, same state and ops) plus three remedies
// for lock-holder preemption:
//   - directed yield on pause-loop exits, to the sibling most likely to hold the lock
//     (sched/lock_holder.hpp), else credit's yield, else the oldest spinning sibling;
//   - non-intrusive preemption deferral (Uhlig et al., VM 2004): a vCPU at CPL 0 with interrupts
//     off when its slice ends gets at most Params::max_deferral more, once per slice;
//   - the intrusive hint: a vCPU that asked (Scheduler::hint) runs on until Entity::hint_until.
// See sched/README.md.
#include "sched/credit.hpp"
#include "sched/lock_holder.hpp"

namespace sched {
namespace {

// A directed yield to the likely lock holder among the siblings that are not spinning
// themselves; without one, credit's yield to whoever waits. Yielding to a spinning sibling (a
// ticket waiter whose turn may have come) only swaps which siblings spin: in a ticket-lock convoy
// the VM's vCPUs then hand their pCPUs round among themselves and never all run at once (Bochs,
// 3x, one start phase in five: one VM at 0.23 of its share with 3,700-4,700 such yields per vCPU
// and no preemption), where credit's yield breaks the convoy up. Only when nobody else wants the
// pCPU does the spinner pull its oldest spinning sibling over, the likeliest next ticket holder:
// spinning on would stall the VM until a slice ends elsewhere (Bochs, lock always contended, 2x,
// of a fair 2390: 871 without it against 1174 with it over scattered starts, still below credit's
// 2300; sched/README.md).
bool on_pause_loop(Scheduler& s, Entity& e, Ticks now)
{
    credit::sync(s, now, kNoPcpu);
    auto queued = [&](const Entity& x) { return credit::can_yield_to(s, e, x); };
    Entity* holder = likely_lock_holder(s, e, [&](const Entity& x) { return !x.spinning && queued(x); });
    if (holder && s.directed_yield(e, *holder, now)) return true;
    if (credit::pause_loop_yield(s, e, now)) return true;
    Entity* waiter = likely_lock_holder(s, e, [&](const Entity& x) { return x.spinning && queued(x); });
    return waiter && s.directed_yield(e, *waiter, now);
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
