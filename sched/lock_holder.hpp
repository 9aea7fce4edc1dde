// Which preempted sibling a spinning vCPU most likely waits for: the choice of directed-yield
// target that lock-holder-aware and balance share on pause-loop exits.
#pragma once
#include "sched/scheduler.hpp"

namespace sched {

// How likely a queued sibling is to be what the spinner waits for: preempted in a critical
// section (not spinning, interrupts off) first, then not spinning, then spinning: a waiter in a
// ticket or queued lock whose turn may have come, which the spinner behind it also waits for.
inline uint32_t lock_holder_rank(const Entity& e) { return e.spinning ? 0 : e.hints.interrupts_off ? 2 : 1; }

// Of the spinner's siblings that `eligible` accepts (queued and allowed where the spinner runs:
// the policy's rule), and preempted in kernel mode when the spinner spins in kernel mode (a
// kernel lock's holder was preempted there), the highest ranked. Among equals, a spinner
// descheduled earlier probably drew the earlier ticket; otherwise the most recently descheduled
// had the least time to release. Null when there is none.
template <class Eligible>
Entity* likely_lock_holder(Scheduler& s, const Entity& spinner, Eligible eligible)
{
    Entity* best = nullptr;
    for (uint32_t i = 0; i < s.vm(spinner.vm).count; ++i) {
        Entity& e = s.sibling(spinner, i);
        if (&e == &spinner || !eligible(e)) continue;
        if (spinner.hints.kernel_mode && !e.hints.kernel_mode) continue;
        if (best) {
            uint32_t mine = lock_holder_rank(e), theirs = lock_holder_rank(*best);
            if (mine < theirs) continue;
            if (mine == theirs && (e.spinning ? e.last_descheduled >= best->last_descheduled
                                              : e.last_descheduled <= best->last_descheduled))
                continue;
        }
        best = &e;
    }
    return best;
}

}  // namespace sched
