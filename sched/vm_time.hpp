// A VM's pCPU time per vCPU, for the policies whose pause-loop yields must only move time towards
// a VM that had less (balance, relaxed-co): a spinner gives its pCPU away only to a VM that is
// not ahead of its own, so a VM that keeps spinning falls behind and stops yielding.
#pragma once
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

}  // namespace sched
