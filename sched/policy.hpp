// The scheduling-policy interface: an ops table, as Xen's `struct scheduler` and ACRN's
// `acrn_scheduler`. The core (sched/scheduler.hpp) owns entity states, accounting and tracing and
// calls these with its lock held; a policy owns its run queues and decides who runs where.
#pragma once
#include "lib/str.hpp"
#include "sched/entity.hpp"

namespace sched {

class Scheduler;

struct LineSink {
    void (*write)(void* context, const char* line);
    void* context;
};

// What a pCPU runs next. `next` null: idle. `slice`: ticks until the core asks again (slice end,
// tick()); 0 with `next` null means "until kicked or an entity wakes".
struct Decision {
    Entity* next;
    Ticks slice;
};

struct Policy {
    const char* name;
    const char* summary;
    // Every VM and entity has been added (runnable or blocked); set up state, queue the runnable.
    // Returns an error text when the configuration cannot be scheduled (e.g. a gang wider than the
    // machine), null when fine.
    const char* (*init)(Scheduler& s);
    // The entity leaves for good (its VM ended); it is not current anywhere. Drop it from queues.
    void (*remove)(Scheduler& s, Entity& e);
    // Blocked -> runnable (state already set): queue it; kick a pCPU if it should run at once.
    void (*wake)(Scheduler& s, Entity& e, Ticks now);
    // The running entity halted (state already blocked); the core picks next on its pCPU.
    void (*block)(Scheduler& s, Entity& e, Ticks now);
    // The running entity gives up the rest of its slice; the core picks next on its pCPU.
    void (*yield)(Scheduler& s, Entity& e, Ticks now);
    // `from` (running) wants `target` (a runnable sibling) to run in its place. True when the
    // policy arranged that (the core then picks next on from's pCPU).
    bool (*yield_to)(Scheduler& s, Entity& from, Entity& target, Ticks now);
    // The pCPU needs a decision. s.current(pcpu) is the entity that ran there until now (state
    // runnable if it was preempted or yielded, blocked or ended otherwise) or null: requeue it if
    // it is runnable and not chosen again.
    Decision (*pick_next)(Scheduler& s, uint32_t pcpu, Ticks now);
    // The current entity's slice ran out: return an extension in ticks to defer the preemption,
    // or 0 (the core then calls pick_next).
    Ticks (*tick)(Scheduler& s, uint32_t pcpu, Ticks now);
    // The current entity spun through a pause loop (Entity::spinning is set). True: deschedule it
    // now (pick_next follows); the policy may have yielded to a sibling through s.yield_to().
    bool (*on_pause_loop)(Scheduler& s, Entity& e, Ticks now);
    // Policy state, one line per call of sink.write (no newline).
    void (*dump)(const Scheduler& s, LineSink sink);
};

// Every policy, in the order `sched=` documents them; null-terminated.
extern const Policy* const kPolicies[];
const Policy* find_policy(Str name);

}  // namespace sched
