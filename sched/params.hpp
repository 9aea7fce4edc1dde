// The scheduler's tunables, in ticks (the platform converts from microseconds with its tick rate).
#pragma once
#include "sched/entity.hpp"

namespace sched {

struct Params {
    Ticks ticks_per_us = 1;
    Ticks slice = 0;             // a vCPU's time slice
    Ticks max_deferral = 0;      // lock-holder-aware: extension for a vCPU at CPL 0 with IF=0
    Ticks max_hint = 0;          // lock-holder-aware: the most one hint hypercall may ask for
    Ticks hint_budget = 0;       // ... and all hints of a vCPU per slice-long window together
    Ticks costop_threshold = 0;  // relaxed co-scheduling: the skew that co-stops the leaders
    Ticks credit_period = 0;     // proportional share: credits are refilled this often

    // Defaults in the spirit of Xen's credit scheduler (30 ms accounting) and Uhlig et al.'s
    // bounded deferral; a slice of 10 ms as KVM's CFS and Xen's credit2 roughly give.
    static Params defaults(Ticks ticks_per_us)
    {
        Params p;
        p.ticks_per_us = ticks_per_us ? ticks_per_us : 1;
        p.slice = 10'000 * p.ticks_per_us;
        p.max_deferral = 50 * p.ticks_per_us;
        p.max_hint = 100 * p.ticks_per_us;
        p.hint_budget = 500 * p.ticks_per_us;
        p.costop_threshold = 3'000 * p.ticks_per_us;
        p.credit_period = 30'000 * p.ticks_per_us;
        return p;
    }
};

}  // namespace sched
