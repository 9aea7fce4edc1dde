// One FIFO run queue per pCPU with the placement rules several policies share: a waking entity
// goes to an idle pCPU it may use (then kicked), else back where it last ran, else to the
// shortest queue; a pCPU takes the longest-waiting head of any queue it may run from.
#pragma once
#include "sched/run_queue.hpp"
#include "sched/scheduler.hpp"

namespace sched {

class CpuQueues {
public:
    RunQueue& at(uint32_t pcpu) { return queues_[pcpu]; }
    const RunQueue& at(uint32_t pcpu) const { return queues_[pcpu]; }

    // The pCPU `e` should wait on: an idle allowed one first, then its last one if allowed, then
    // the allowed one with the shortest queue. `accept(pcpu)` may rule pCPUs out (balance).
    template <class Accept>
    uint32_t choose(const Scheduler& s, const Entity& e, Accept accept) const
    {
        uint32_t best = kNoPcpu;
        for (uint32_t p = 0; p < s.pcpu_count(); ++p)
            if (s.may_run_on(e, p) && accept(p) && !s.current(p) && queues_[p].empty()) return p;
        if (e.pcpu != kNoPcpu && s.may_run_on(e, e.pcpu) && accept(e.pcpu)) return e.pcpu;
        for (uint32_t p = 0; p < s.pcpu_count(); ++p)
            if (s.may_run_on(e, p) && accept(p) && (best == kNoPcpu || queues_[p].size() < queues_[best].size()))
                best = p;
        return best;
    }
    uint32_t choose(const Scheduler& s, const Entity& e) const
    {
        return choose(s, e, [](uint32_t) { return true; });
    }

    // Queues `e` at the back of `pcpu`'s queue and kicks that pCPU when it is idle.
    void enqueue(Scheduler& s, Entity& e, uint32_t pcpu)
    {
        e.queued_at = ++sequence_;
        queues_[pcpu].push_back(e);
        if (!s.current(pcpu)) s.kick(pcpu);
    }

    // Of the entities at the heads of all queues that `pcpu` may run and `accept` takes, the one
    // queued first (null when none): a pCPU runs its own head unless another queue's head was
    // queued before it, which keeps the per-pCPU queues close to one global FIFO.
    template <class Accept>
    Entity* oldest(const Scheduler& s, uint32_t pcpu, Accept accept) const
    {
        Entity* oldest = nullptr;
        for (uint32_t p = 0; p < s.pcpu_count(); ++p) {
            Entity* head = queues_[p].front();
            // Only the head of each queue competes; a head pinned elsewhere hides the rest of its
            // queue until its own pCPU takes it.
            if (!head || !s.may_run_on(*head, pcpu) || !accept(*head)) continue;
            if (!oldest || head->queued_at < oldest->queued_at) oldest = head;
        }
        return oldest;
    }

    // oldest(), removed from its queue.
    template <class Accept>
    Entity* take_oldest(const Scheduler& s, uint32_t pcpu, Accept accept)
    {
        Entity* e = oldest(s, pcpu, accept);
        if (e) remove(*e);
        return e;
    }

    // Moves queued `e` to the front of `pcpu`'s queue, as if it had waited longest: `pcpu` runs it
    // next (a yield's target).
    void run_next(Entity& e, uint32_t pcpu)
    {
        remove(e);
        e.queued_at = 0;
        queues_[pcpu].push_front(e);
    }

    void remove(Entity& e)
    {
        for (RunQueue& q : queues_)
            if (q.remove(e)) return;
    }

    void dump(const Scheduler& s, const char* policy, LineSink sink) const;

private:
    RunQueue queues_[kMaxPcpus];
    uint64_t sequence_ = 0;  // enqueue order across all queues (Entity::queued_at)
};

}  // namespace sched
