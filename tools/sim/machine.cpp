#include "tools/sim/machine.hpp"

#include <algorithm>

namespace sim {
namespace {

Ticks after(Ticks now, Ticks delta) { return delta >= kNever - now ? kNever : now + delta; }

}  // namespace

Machine::Machine(const sched::Policy& policy, const sched::Params& params, uint32_t pcpus, uint32_t trace_events)
    : scheduler_(std::make_unique<sched::Scheduler>()), cpus_(pcpus), trace_buffer_(size_t(trace_events) * pcpus)
{
    scheduler_->configure(policy, params, sched::Platform{kick, this}, pcpus);
    if (trace_events)
        for (uint32_t p = 0; p < pcpus; ++p) scheduler_->attach_trace(p, trace_buffer_.data() + size_t(p) * trace_events, trace_events);
}

// The core has set the pCPU's resched flag; settle() acts on it when the kick arrives.
void Machine::kick(void* context, uint32_t pcpu)
{
    Machine& m = *static_cast<Machine*>(context);
    Cpu& cpu = m.cpus_[pcpu];
    cpu.kick_due = std::min(cpu.kick_due, after(m.now_, m.kick_latency_));
}

uint32_t Machine::add_vm(const char* name, uint32_t weight, uint32_t cap_percent)
{
    return scheduler_->add_vm(name, weight, cap_percent)->index;
}

sched::Entity& Machine::add_vcpu(Behaviour& behaviour, uint64_t affinity, bool halted)
{
    vcpus_.push_back(Vcpu{std::make_unique<sched::Entity>(), &behaviour});
    sched::Entity& e = *vcpus_.back().entity;
    scheduler_->add_entity(e, &behaviour, affinity, halted ? sched::State::blocked : sched::State::runnable);
    return e;
}

const char* Machine::start()
{
    if (const char* why = scheduler_->start(now_)) return why;
    for (uint32_t p = 0; p < pcpus(); ++p) reschedule(p);
    settle();
    if (on_step) on_step(*this);
    return nullptr;
}

void Machine::set_timer_noise(Ticks jitter, bool random_phase, uint64_t seed)
{
    timer_jitter_ = jitter;
    random_phase_ = random_phase;
    timer_rng_ = Rng(seed);
}

void Machine::set_platform_delays(Ticks kick_latency, Ticks minimum_run)
{
    kick_latency_ = kick_latency;
    minimum_run_ = minimum_run;
}

void Machine::wake(sched::Entity& e) { wakes_.push_back(&e); }

void Machine::reschedule(uint32_t pcpu)
{
    Cpu& cpu = cpus_[pcpu];
    sched::Entity* previous = cpu.current;
    if (previous) previous->hints = behaviour(*previous).hints();
    cpu.kick_due = kNever;  // schedule() consumes a pending kick; one from pick_next sets it anew
    sched::Decision d = scheduler_->schedule(pcpu, now_);
    cpu.current = d.next;
    if (previous != d.next) {
        if (previous) behaviour(*previous).switched_out(now_);
        if (d.next) behaviour(*d.next).switched_in(now_, pcpu);
    }
    Ticks slice = d.slice;
    if (d.next && slice && slice < minimum_run_) slice = minimum_run_;
    if (slice && random_phase_ && !cpu.phased) slice = 1 + timer_rng_.below(slice);
    if (slice) cpu.phased = true;
    if (slice && timer_jitter_ && slice < kNever - timer_jitter_) slice += timer_rng_.below(timer_jitter_ + 1);
    cpu.deadline = slice ? after(now_, slice) : kNever;
    ++decisions_;
    if (on_decision) on_decision(*this, pcpu);
}

// Applies everything due now: wakes asked for by behaviours or by their own timers, and the
// reschedules kicks asked for; repeats until nothing changes.
void Machine::settle()
{
    for (bool changed = true; changed;) {
        changed = false;
        std::vector<sched::Entity*> wakes;
        wakes.swap(wakes_);
        for (Vcpu& v : vcpus_)
            if (v.entity->state == sched::State::blocked && v.behaviour->wake_time() <= now_) wakes.push_back(v.entity.get());
        for (sched::Entity* e : wakes) {
            if (!scheduler_->wake(*e, now_)) continue;
            behaviour(*e).woken(now_);
            changed = true;
        }
        for (uint32_t p = 0; p < pcpus(); ++p) {
            if (cpus_[p].kick_due > now_) continue;
            cpus_[p].kick_due = kNever;
            if (!scheduler_->take_resched(p)) continue;
            ++kicks_;
            reschedule(p);
            changed = true;
        }
    }
}

void Machine::handle_events(uint32_t pcpu)
{
    Cpu& cpu = cpus_[pcpu];
    // Zero-time actions may follow each other (a spinner takes the lock the holder just freed);
    // a behaviour that never makes progress is cut off rather than hanging the simulation.
    for (int i = 0; i < 64 && cpu.current && behaviour(*cpu.current).until_action(now_) == 0; ++i) {
        sched::Entity& e = *cpu.current;
        Action a = behaviour(e).act(now_);
        e.hints = behaviour(e).hints();
        switch (a.kind) {
        case Action::none: break;
        case Action::halt:
            scheduler_->block(e, now_);
            reschedule(pcpu);
            break;
        case Action::pause_loop: {
            bool deschedule = scheduler_->pause_loop(e, now_);
            behaviour(e).pause_loop_handled(now_, deschedule);
            if (deschedule) reschedule(pcpu);
            break;
        }
        case Action::yield:
            scheduler_->yield(e, now_);
            reschedule(pcpu);
            break;
        case Action::hint: scheduler_->hint(e, now_, a.hint_ticks); break;
        }
    }
    if (cpu.deadline > now_) return;
    if (cpu.current) {
        cpu.current->hints = behaviour(*cpu.current).hints();
        if (Ticks extension = scheduler_->slice_end(pcpu, now_)) {
            cpu.deadline = after(now_, extension);
            return;
        }
    }
    reschedule(pcpu);
}

void Machine::run_until(Ticks end)
{
    settle();
    while (now_ < end) {
        Ticks next = end;
        for (Cpu& cpu : cpus_) {
            next = std::min(next, std::min(cpu.deadline, cpu.kick_due));
            if (cpu.current) next = std::min(next, after(now_, behaviour(*cpu.current).until_action(now_)));
        }
        for (Vcpu& v : vcpus_)
            if (v.entity->state == sched::State::blocked) next = std::min(next, std::max(now_, v.behaviour->wake_time()));
        for (Cpu& cpu : cpus_)
            if (cpu.current) behaviour(*cpu.current).run(now_, next);
        now_ = next;
        for (uint32_t p = 0; p < pcpus(); ++p) handle_events(p);
        settle();
        if (on_step) on_step(*this);
    }
}

}  // namespace sim
