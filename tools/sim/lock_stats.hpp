// What the lock model measures for one VM (all its threads together), in ticks and counts.
#pragma once
#include <cstdint>

#include "sched/entity.hpp"
#include "tools/sim/latency_histogram.hpp"

namespace sim {

struct LockStats {
    uint64_t acquisitions = 0;
    uint64_t requests = 0;
    sched::Ticks lock_spin = 0;     // running while waiting for the lock (wasted)
    sched::Ticks barrier_spin = 0;  // running while waiting at a barrier (wasted)
    sched::Ticks kick_time = 0;     // releasers' time spent kicking halted pv waiters
    uint64_t holder_preemptions = 0;  // a holder's vCPU left its pCPU while holding
    // The lock was handed to a waiter whose vCPU was preempted (once per descheduled stretch);
    // with pv stealing: the queue head was preempted while the lock was free for it.
    uint64_t waiter_preemptions = 0;
    uint64_t pv_halts = 0;            // pv waiters that spun past the threshold and halted
    uint64_t pv_kicks = 0;            // releasers that woke a halted next waiter
    uint64_t ple_exits = 0;
    uint64_t ple_useful = 0;  // the exit descheduled the spinner or hit a directed yield: window /2
    uint64_t ple_futile = 0;  // it changed nothing: window x2
    uint64_t barriers = 0;    // completed barrier generations
    uint64_t io_waits = 0;
    LatencyHistogram latency;  // request -> acquire, in ticks
};

}  // namespace sim
