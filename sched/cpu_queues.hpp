// One FIFO run queue per pCPU with the placement rules several policies share: a waking entity
// goes to an idle pCPU it may use (then kicked), else back where it last ran; an idle pCPU steals
// the oldest entity it may run from the longest other queue (Xen credit's load balancing).
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

    // Queues `e` on `pcpu` and kicks that pCPU when it is idle.
    void enqueue(Scheduler& s, Entity& e, uint32_t pcpu)
    {
        queues_[pcpu].push_back(e);
        if (!s.current(pcpu)) s.kick(pcpu);
    }

    // Takes the oldest entity queued on another pCPU that `pcpu` may run, from the longest queue.
    template <class Accept>
    Entity* steal(const Scheduler& s, uint32_t pcpu, Accept accept)
    {
        uint32_t victim = kNoPcpu;
        for (uint32_t p = 0; p < s.pcpu_count(); ++p) {
            if (p == pcpu || queues_[p].empty()) continue;
            if (victim == kNoPcpu || queues_[p].size() > queues_[victim].size()) victim = p;
        }
        if (victim == kNoPcpu) return nullptr;
        return queues_[victim].take_first([&](Entity& e) { return s.may_run_on(e, pcpu) && accept(e); });
    }

    void remove(Entity& e)
    {
        for (RunQueue& q : queues_)
            if (q.remove(e)) return;
    }

    void dump(const Scheduler& s, const char* policy, LineSink sink) const;

private:
    RunQueue queues_[kMaxPcpus];
};

}  // namespace sched
