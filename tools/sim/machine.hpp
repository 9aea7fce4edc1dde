// A deterministic discrete-event model of an SMP host running sched/ policies: pCPUs, slices,
// kicks, halts and wakes, pause-loop exits. Guests are Behaviours the machine advances only while
// their vCPU runs, so a preempted lock holder really stops. The same Scheduler core and policies
// as in the hypervisor decide; only the platform (clock, kick) differs. Used by tools/schedsim and
// by the policies' unit tests.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "sched/scheduler.hpp"
#include "tools/sim/rng.hpp"

namespace sim {

using sched::Ticks;
constexpr Ticks kNever = ~0ull;

struct Action {
    enum Kind : uint8_t { none, halt, pause_loop, yield, hint } kind = none;
    Ticks hint_ticks = 0;  // for `hint`: how long not to be preempted
};

// What the guest does on one vCPU.
class Behaviour {
public:
    virtual ~Behaviour() = default;
    // Running from `now`: ticks until it next needs the scheduler (kNever: never by itself).
    virtual Ticks until_action(Ticks now) = 0;
    // It ran from `from` to `to`, at most until_action(from) ticks.
    virtual void run(Ticks from, Ticks to) = 0;
    // Called when until_action's time is reached.
    virtual Action act(Ticks now) = 0;
    // Halted: when it wakes by itself (its timer), or kNever.
    virtual Ticks wake_time() const { return kNever; }
    // It was halted and now runs again.
    virtual void woken(Ticks) {}
    // CPL 0 and IF at this moment, for the deferral of lock-holder-aware policies.
    virtual sched::GuestHints hints() const { return {}; }
    // Its vCPU starts running on `pcpu` / leaves its pCPU (preempted, yielded, halted, ended).
    // Called by every decision that changes what a pCPU runs, in decision order, so a behaviour
    // can tell "descheduled while holding a lock" from "ran on".
    virtual void switched_in(Ticks, uint32_t) {}
    virtual void switched_out(Ticks) {}
    // Its Action::pause_loop was handled: `descheduled` is what Scheduler::pause_loop returned
    // (the vCPU leaves its pCPU right after this call). For PLE-window adaptation.
    virtual void pause_loop_handled(Ticks, bool /*descheduled*/) {}
};

// Runs forever, never halts.
class Busy final : public Behaviour {
public:
    Ticks until_action(Ticks) override { return kNever; }
    void run(Ticks from, Ticks to) override { ran += to - from; }
    Action act(Ticks) override { return {}; }
    Ticks ran = 0;
};

class Machine {
public:
    Machine(const sched::Policy& policy, const sched::Params& params, uint32_t pcpus, uint32_t trace_events = 0);
    Machine(const Machine&) = delete;
    Machine& operator=(const Machine&) = delete;

    uint32_t add_vm(const char* name, uint32_t weight = 256, uint32_t cap_percent = 0);
    // A vCPU of the VM added last. `affinity` 0: every pCPU.
    sched::Entity& add_vcpu(Behaviour& behaviour, uint64_t affinity = 0, bool halted = false);
    // Null when the policy accepts the configuration, else its reason.
    const char* start();
    // Simulates up to `end` (absolute ticks).
    void run_until(Ticks end);

    // Real pCPUs' timers are neither in phase nor exact. With this set (before start), each pCPU's
    // first slice ends at a random point of it when `random_phase` (so slices do not end on every
    // pCPU at once, which would co-schedule VMs by accident), and every slice ends up to `jitter`
    // ticks late (timer and interrupt latency). Off by default: exact, in-phase slices.
    void set_timer_noise(Ticks jitter, bool random_phase, uint64_t seed);
    // A real platform is not instantaneous either: a kicked pCPU reschedules `kick_latency` ticks
    // later (the IPI, the VM exit; a decision taken meanwhile consumes the kick), and a decision
    // that runs a vCPU buys at least `minimum_run` ticks (the hypervisor's vcpu_loop does both).
    // So pCPUs decide at different instants, each on a state others changed since. Off by
    // default: kicks act at once and slices are exact.
    void set_platform_delays(Ticks kick_latency, Ticks minimum_run);
    // A behaviour wakes a halted sibling (a paravirtual unlock kick, an IPI): takes effect now.
    void wake(sched::Entity& e);
    // After every scheduling decision: e.g. a test checking an invariant over all pCPUs.
    std::function<void(const Machine&, uint32_t pcpu)> on_decision;
    // After every instant has been fully handled (all pCPUs decided, wakes applied): the place to
    // check invariants that only hold between instants (e.g. a gang switching on every pCPU).
    std::function<void(const Machine&)> on_step;

    sched::Scheduler& scheduler() { return *scheduler_; }
    const sched::Scheduler& scheduler() const { return *scheduler_; }
    Ticks now() const { return now_; }
    uint32_t pcpus() const { return uint32_t(cpus_.size()); }
    sched::Entity* running(uint32_t pcpu) const { return cpus_[pcpu].current; }
    // When the pCPU next decides by itself (its slice ends), kNever for never.
    Ticks deadline(uint32_t pcpu) const { return cpus_[pcpu].deadline; }
    Behaviour& behaviour(const sched::Entity& e) const { return *vcpus_[e.id].behaviour; }
    uint32_t vcpu_count() const { return uint32_t(vcpus_.size()); }
    sched::Entity& vcpu(uint32_t id) { return *vcpus_[id].entity; }
    const sched::Entity& vcpu(uint32_t id) const { return *vcpus_[id].entity; }
    uint64_t decisions() const { return decisions_; }
    // Kicks that reached a pCPU (the rest were consumed by a decision taken meanwhile).
    uint64_t kicks() const { return kicks_; }

private:
    struct Cpu {
        sched::Entity* current = nullptr;
        Ticks deadline = kNever;  // slice end, or when an idle pCPU asks again
        bool phased = false;      // its first slice has been given (set_timer_noise)
        Ticks kick_due = kNever;  // when a pending kick takes effect (set_platform_delays)
    };
    struct Vcpu {
        std::unique_ptr<sched::Entity> entity;
        Behaviour* behaviour;
    };

    void reschedule(uint32_t pcpu);
    void settle();
    void handle_events(uint32_t pcpu);
    static void kick(void* context, uint32_t pcpu);

    std::unique_ptr<sched::Scheduler> scheduler_;
    std::vector<Cpu> cpus_;
    std::vector<Vcpu> vcpus_;
    std::vector<sched::Entity*> wakes_;
    std::vector<sched::TraceEvent> trace_buffer_;
    Ticks now_ = 0;
    uint64_t decisions_ = 0;
    uint64_t kicks_ = 0;
    Ticks timer_jitter_ = 0;
    Ticks kick_latency_ = 0;
    Ticks minimum_run_ = 0;
    bool random_phase_ = false;
    Rng timer_rng_;
};

}  // namespace sim
