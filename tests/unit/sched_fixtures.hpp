// Shared pieces of the scheduler tests: parameters in round numbers and small guest behaviours.
#pragma once
#include "sched/scheduler.hpp"
#include "tools/sim/machine.hpp"

namespace sched_test {

using sched::Ticks;

// One tick per microsecond: a 10 ms slice is 10,000 ticks.
inline sched::Params params() { return sched::Params::defaults(1); }

inline const sched::Policy& policy(const char* name)
{
    const sched::Policy* p = sched::find_policy(name);
    if (!p) abort();
    return *p;
}

// Runs for `burst` ticks, halts for `sleep` ticks (its own timer wakes it), forever.
class Periodic final : public sim::Behaviour {
public:
    Periodic(Ticks burst, Ticks sleep) : burst_(burst), sleep_(sleep), left_(burst) {}
    Ticks until_action(Ticks) override { return left_; }
    void run(Ticks from, Ticks to) override
    {
        left_ -= to - from;
        ran += to - from;
    }
    sim::Action act(Ticks now) override
    {
        wake_ = now + sleep_;
        left_ = burst_;
        ++halts;
        return {sim::Action::halt, 0};
    }
    Ticks wake_time() const override { return wake_; }
    Ticks ran = 0;
    uint64_t halts = 0;

private:
    Ticks burst_, sleep_, left_, wake_ = sim::kNever;
};

// Runs `burst` ticks, then gives up its slice, forever.
class Yielder final : public sim::Behaviour {
public:
    explicit Yielder(Ticks burst) : burst_(burst), left_(burst) {}
    Ticks until_action(Ticks) override { return left_; }
    void run(Ticks from, Ticks to) override
    {
        left_ -= to - from;
        ran += to - from;
    }
    sim::Action act(Ticks) override
    {
        left_ = burst_;
        return {sim::Action::yield, 0};
    }
    Ticks ran = 0;

private:
    Ticks burst_, left_;
};

// Spins in a pause loop: a pause-loop exit every `window` ticks of running, at CPL 0 with
// interrupts off or on as asked.
class Spinner final : public sim::Behaviour {
public:
    explicit Spinner(Ticks window, bool interrupts_off = false) : window_(window), left_(window), off_(interrupts_off) {}
    Ticks until_action(Ticks) override { return left_; }
    void run(Ticks from, Ticks to) override
    {
        left_ -= to - from;
        ran += to - from;
    }
    sim::Action act(Ticks) override
    {
        left_ = window_;
        return {sim::Action::pause_loop, 0};
    }
    sched::GuestHints hints() const override { return {true, off_}; }
    Ticks ran = 0;

private:
    Ticks window_, left_;
    bool off_;
};

// A VM named `name` whose vCPUs run `behaviours` (an array of them), in order.
template <class Behaviours>
void add_vm(sim::Machine& m, const char* name, Behaviours& behaviours)
{
    m.add_vm(name);
    for (auto& b : behaviours) m.add_vcpu(b);
}

// Two VMs named "first" and "second" of one busy vCPU each: the smallest competition.
struct TwoBusyVms {
    sim::Busy first, second;

    void add(sim::Machine& m)
    {
        m.add_vm("first");
        m.add_vcpu(first);
        m.add_vm("second");
        m.add_vcpu(second);
    }
};

// Counts, at every decision, each vCPU running outside its affinity or on two pCPUs at once.
struct PlacementChecker {
    int violations = 0;

    void attach(sim::Machine& m)
    {
        m.on_decision = [this](const sim::Machine& machine, uint32_t) {
            for (uint32_t p = 0; p < machine.pcpus(); ++p) {
                const sched::Entity* e = machine.running(p);
                if (!e) continue;
                if (!(e->affinity >> p & 1)) ++violations;
                for (uint32_t q = p + 1; q < machine.pcpus(); ++q)
                    if (machine.running(q) == e) ++violations;
            }
        };
    }
};

// For four pCPUs: VMs of 4, 3, 2 and 1 vCPUs that compute, halt and yield (2.5x overcommitted
// at the busiest).
struct Mixed {
    sim::Busy a[3], c0, d;
    Periodic a3{3'000, 2'000}, b0{700, 1'900}, b1{5'000, 11'000}, c1{1'300, 300};
    Yielder b2{2'500};

    void add(sim::Machine& m)
    {
        m.add_vm("a");
        for (auto& x : a) m.add_vcpu(x);
        m.add_vcpu(a3);
        m.add_vm("b");
        m.add_vcpu(b0);
        m.add_vcpu(b1);
        m.add_vcpu(b2);
        m.add_vm("c");
        m.add_vcpu(c0);
        m.add_vcpu(c1);
        m.add_vm("d");
        m.add_vcpu(d);
    }
};

}  // namespace sched_test
