// A VM's pCPU time per vCPU, for the policies whose pause-loop yields must only move time towards
// a VM that had less (balance, relaxed-co): a spinner gives its pCPU away only to a VM that is
// not ahead of its own, so a VM that keeps spinning falls behind and stops yielding.
#pragma once
#include "sched/cpu_queues.hpp"
#include "sched/scheduler.hpp"

namespace sched {

// The pCPU time e has had, up to now.
inline Ticks time_run(const Entity& e, Ticks now)
{
    return e.metrics.run + (e.state == State::running && now > e.state_since ? now - e.state_since : 0);
}

// VM a has had less pCPU time per vCPU than VM b, or as much (cross-multiplied: no division).
inline bool vm_behind(const Scheduler& s, uint32_t a, uint32_t b, Ticks now)
{
    const VmInfo& va = s.vm(a);
    const VmInfo& vb = s.vm(b);
    unsigned __int128 ta = 0, tb = 0;
    for (uint32_t i = 0; i < va.count; ++i) ta += time_run(s.entity(va.first + i), now);
    for (uint32_t i = 0; i < vb.count; ++i) tb += time_run(s.entity(vb.first + i), now);
    return ta * vb.count <= tb * va.count;
}

// Of the vCPUs queued anywhere in `queues` that may run on `pcpu` and that `accept` takes, the
// longest-waiting one of the VM that has had the least pCPU time per vCPU; null when none. The
// pause-loop yield's target: every spinner of every VM picks the same VM.
template <class Accept>
Entity* furthest_behind(const Scheduler& s, const CpuQueues& queues, uint32_t pcpu, Ticks now, Accept accept)
{
    Entity* best = nullptr;
    for (uint32_t p = 0; p < s.pcpu_count(); ++p)
        queues.at(p).for_each([&](Entity& x) {
            if (!s.may_run_on(x, pcpu) || !accept(x)) return;
            if (!best || (x.vm == best->vm ? x.queued_at < best->queued_at : !vm_behind(s, best->vm, x.vm, now)))
                best = &x;
        });
    return best;
}

}  // namespace sched
