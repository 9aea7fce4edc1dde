// The scheduler core: entities, VMs and pCPUs, the policy that decides, and everything every
// policy needs done the same way: state changes, accounting (run, steal, blocked, co-stop),
// metrics, traces and the intrusive hint. It knows nothing of VMX or of the simulator: the
// platform calls the entry points below when its pCPUs need decisions and gives it a kick
// callback (a host IPI in the hypervisor, an event in tools/schedsim).
//
// Entry points (lock taken inside) are called by the platform; the "policy helpers" further down
// are for policy ops, which run with the lock held.
#pragma once
#include <cstddef>
#include <cstdint>
#include <new>

#include "lib/spinlock.hpp"
#include "sched/entity.hpp"
#include "sched/params.hpp"
#include "sched/policy.hpp"
#include "sched/trace.hpp"

namespace sched {

struct VmInfo {
    char name[32];
    uint32_t index;
    uint32_t weight;       // proportional share (default 256, as Xen's credit)
    uint32_t cap_percent;  // at most this much of one pCPU summed over its vCPUs; 0: no cap
    uint32_t first;        // its entities are entity(first) .. entity(first + count - 1)
    uint32_t count;
};

struct Platform {
    // Make `pcpu` call schedule() soon (it may be running a guest right now).
    void (*kick)(void* context, uint32_t pcpu);
    void* context;
};

class Scheduler {
public:
    static constexpr size_t kPolicyStateBytes = 16 * 1024;

    // ---- set-up (single-threaded, before start) ----
    void configure(const Policy& policy, const Params& params, Platform platform, uint32_t pcpus);
    // Null and an error in `why` when full; names are truncated.
    VmInfo* add_vm(const char* name, uint32_t weight, uint32_t cap_percent);
    // Adds the next vCPU of the VM added last. `affinity` 0 means every pCPU.
    Entity* add_entity(Entity& e, void* owner, uint64_t affinity, State initial);
    // Runs the policy's init. Null when fine, else why the configuration cannot be scheduled.
    const char* start(Ticks now);
    void attach_trace(uint32_t pcpu, TraceEvent* buffer, uint32_t capacity);

    // ---- entry points for the platform ----
    // The pCPU's next entity and slice; the previous current (if still running) goes back.
    Decision schedule(uint32_t pcpu, Ticks now);
    // The current entity of its pCPU halted (the platform then calls schedule()).
    void block(Entity& e, Ticks now);
    // A blocked entity has something to do. False when it was not blocked.
    bool wake(Entity& e, Ticks now);
    // The current entity gives up its slice (the platform then calls schedule()).
    void yield(Entity& e, Ticks now);
    // Directed yield asked for by the guest (e.g. a paravirtual yield hypercall).
    bool yield_to(Entity& from, Entity& target, Ticks now);
    // A pause-loop exit of the current entity. True: the platform calls schedule() now.
    bool pause_loop(Entity& e, Ticks now);
    // The current entity's slice ran out: ticks it may go on for (deferral), 0 to reschedule.
    Ticks slice_end(uint32_t pcpu, Ticks now);
    // Intrusive hint: the entity asks not to be preempted for `ticks`. Returns the ticks granted
    // (bounded by max_hint and by hint_budget per slice-long window).
    Ticks hint(Entity& e, Ticks now, Ticks ticks);
    // The entity's VM ended: it never runs again (the platform reschedules its pCPU if current).
    void end(Entity& e, Ticks now);
    // True once: a kick asked this pCPU to reschedule.
    bool take_resched(uint32_t pcpu);
    // Accounts every entity up to `now` (so metrics are current) and writes metric lines:
    //   sched-metrics vm=NAME vcpu=I run_us=.. steal_us=.. blocked_us=.. costop_us=.. ...
    void dump_metrics(Ticks now, LineSink sink);
    // The trace in the format of sched/trace.hpp.
    void dump_trace(LineSink sink);

    // ---- policy helpers (lock held) ----
    const Params& params() const { return params_; }
    const Policy& policy() const { return *policy_; }
    uint32_t pcpu_count() const { return pcpus_; }
    uint32_t vm_count() const { return vm_count_; }
    uint32_t entity_count() const { return entity_count_; }
    VmInfo& vm(uint32_t index) { return vms_[index]; }
    const VmInfo& vm(uint32_t index) const { return vms_[index]; }
    Entity& entity(uint32_t id) { return *entities_[id]; }
    const Entity& entity(uint32_t id) const { return *entities_[id]; }
    Entity& sibling(const Entity& e, uint32_t index) { return *entities_[vms_[e.vm].first + index]; }
    Entity* current(uint32_t pcpu) const { return current_[pcpu]; }
    bool may_run_on(const Entity& e, uint32_t pcpu) const { return pcpu < 64 && (e.affinity >> pcpu & 1); }
    void kick(uint32_t pcpu);
    // Changes e's state and accounts the time spent in the old one.
    void set_state(Entity& e, State state, Ticks now);
    // Marks e co-stopped or not (its runnable time then counts as co-stop).
    void set_costopped(Entity& e, bool costopped, Ticks now);
    // A directed yield decided by the policy (from on_pause_loop): metrics, trace, policy op.
    bool directed_yield(Entity& from, Entity& target, Ticks now);
    void trace(uint32_t pcpu, Ticks now, TraceKind kind, const Entity* e, uint32_t arg);
    // Policy-private state: init constructs it with emplace_state, the other ops use state.
    template <class T>
    T& emplace_state()
    {
        static_assert(sizeof(T) <= kPolicyStateBytes && alignof(T) <= 16, "policy state too large");
        return *new (policy_state_) T();
    }
    template <class T>
    T& state()
    {
        return *reinterpret_cast<T*>(policy_state_);
    }
    template <class T>
    const T& state() const
    {
        return *reinterpret_cast<const T*>(policy_state_);
    }

private:
    Ticks monotonic(Ticks now);
    void account(Entity& e, Ticks now);

    Spinlock lock_;
    const Policy* policy_ = nullptr;
    Params params_{};
    Platform platform_{};
    uint32_t pcpus_ = 0;
    Ticks latest_ = 0;  // the latest time any entry point was given
    uint32_t vm_count_ = 0;
    uint32_t entity_count_ = 0;
    VmInfo vms_[kMaxVms]{};
    Entity* entities_[kMaxEntities]{};
    Entity* current_[kMaxPcpus]{};
    DescheduleReason leaving_[kMaxPcpus]{};  // why current_ is about to leave, for the trace
    bool resched_[kMaxPcpus]{};
    TraceRing traces_[kMaxPcpus];
    char error_[96];
    alignas(16) unsigned char policy_state_[kPolicyStateBytes];
};

}  // namespace sched
