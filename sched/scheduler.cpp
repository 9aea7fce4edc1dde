#include "sched/scheduler.hpp"

#include "lib/format.hpp"
#include "lib/str.hpp"

namespace sched {
namespace {

uint32_t trace_pcpu(const Entity& e) { return e.pcpu == kNoPcpu ? 0 : e.pcpu; }

}  // namespace

void Scheduler::configure(const Policy& policy, const Params& params, Platform platform, uint32_t pcpus)
{
    policy_ = &policy;
    params_ = params;
    platform_ = platform;
    pcpus_ = pcpus > kMaxPcpus ? kMaxPcpus : pcpus;
    latest_ = 0;
    vm_count_ = 0;
    entity_count_ = 0;
    for (uint32_t p = 0; p < kMaxPcpus; ++p) {
        current_[p] = nullptr;
        leaving_[p] = DescheduleReason::preempted;
        resched_[p] = false;
        traces_[p].attach(nullptr, 0);
    }
}

VmInfo* Scheduler::add_vm(const char* name, uint32_t weight, uint32_t cap_percent)
{
    if (vm_count_ == kMaxVms) return nullptr;
    VmInfo& vm = vms_[vm_count_];
    size_t n = 0;
    for (; name && name[n] && n + 1 < sizeof vm.name; ++n) vm.name[n] = name[n];
    vm.name[n] = 0;
    vm.index = vm_count_++;
    vm.weight = weight ? weight : 256;
    vm.cap_percent = cap_percent;
    vm.first = entity_count_;
    vm.count = 0;
    return &vm;
}

Entity* Scheduler::add_entity(Entity& e, void* owner, uint64_t affinity, State initial)
{
    if (vm_count_ == 0 || entity_count_ == kMaxEntities) return nullptr;
    VmInfo& vm = vms_[vm_count_ - 1];
    uint64_t all = pcpus_ >= 64 ? ~0ull : (1ull << pcpus_) - 1;
    e = Entity{};
    e.owner = owner;
    e.id = entity_count_;
    e.vm = vm.index;
    e.index = vm.count++;
    e.affinity = (affinity ? affinity : all) & all;
    e.state = initial;
    entities_[entity_count_++] = &e;
    return &e;
}

const char* Scheduler::start(Ticks now)
{
    latest_ = now;
    for (uint32_t i = 0; i < entity_count_; ++i) {
        Entity& e = *entities_[i];
        if (!e.affinity) {
            format_to(error_, sizeof error_, "vm {}: its pinning names no CPU that exists", vms_[e.vm].name);
            return error_;
        }
        e.state_since = now;
        e.hint_window_start = now;
    }
    SpinlockGuard guard(lock_);
    const char* why = policy_->init(*this);
    // Every pCPU calls schedule() first anyway: kicks from init would only reschedule twice.
    for (uint32_t p = 0; p < kMaxPcpus; ++p) resched_[p] = false;
    return why;
}

void Scheduler::attach_trace(uint32_t pcpu, TraceEvent* buffer, uint32_t capacity)
{
    if (pcpu < kMaxPcpus) traces_[pcpu].attach(buffer, capacity);
}

// CPUs read their clocks before they take the lock, so calls arrive slightly out of order;
// policies and accounting see time that never goes backwards.
Ticks Scheduler::monotonic(Ticks now)
{
    if (now < latest_) return latest_;
    latest_ = now;
    return now;
}

void Scheduler::account(Entity& e, Ticks now)
{
    Ticks spent = now > e.state_since ? now - e.state_since : 0;
    switch (e.state) {
    case State::running: e.metrics.run += spent; break;
    case State::runnable: (e.costopped ? e.metrics.costop : e.metrics.runnable) += spent; break;
    case State::blocked: e.metrics.blocked += spent; break;
    case State::ended: break;
    }
    if (now > e.state_since) e.state_since = now;
}

void Scheduler::set_state(Entity& e, State state, Ticks now)
{
    account(e, now);
    e.state = state;
}

void Scheduler::set_costopped(Entity& e, bool costopped, Ticks now)
{
    if (e.costopped == costopped) return;
    account(e, now);
    e.costopped = costopped;
}

void Scheduler::trace(uint32_t pcpu, Ticks now, TraceKind kind, const Entity* e, uint32_t arg)
{
    if (pcpu >= kMaxPcpus) return;
    TraceEvent event{now, kind, 0, uint16_t(e ? e->vm : 0xffff), uint16_t(e ? e->index : 0xffff), uint16_t(pcpu), arg};
    traces_[pcpu].record(event);
}

void Scheduler::kick(uint32_t pcpu)
{
    if (pcpu >= pcpus_) return;
    __atomic_store_n(&resched_[pcpu], true, __ATOMIC_RELEASE);
    if (platform_.kick) platform_.kick(platform_.context, pcpu);
}

bool Scheduler::take_resched(uint32_t pcpu)
{
    if (pcpu >= kMaxPcpus || !__atomic_load_n(&resched_[pcpu], __ATOMIC_RELAXED)) return false;
    return __atomic_exchange_n(&resched_[pcpu], false, __ATOMIC_ACQUIRE);
}

Decision Scheduler::schedule(uint32_t pcpu, Ticks now)
{
    SpinlockGuard guard(lock_);
    now = monotonic(now);
    __atomic_store_n(&resched_[pcpu], false, __ATOMIC_RELAXED);
    Entity* previous = current_[pcpu];
    DescheduleReason reason = leaving_[pcpu];
    leaving_[pcpu] = DescheduleReason::preempted;
    if (previous && previous->state == State::running) {
        set_state(*previous, State::runnable, now);
        previous->last_descheduled = now;
    }
    Decision d = policy_->pick_next(*this, pcpu, now);
    // A policy bug must not run one entity on two pCPUs: the pCPU idles instead.
    if (d.next && (d.next->state != State::runnable || !may_run_on(*d.next, pcpu))) d = Decision{nullptr, 0};
    if (previous && d.next != previous) {
        if (previous->state == State::runnable && reason == DescheduleReason::preempted) {
            ++previous->metrics.preemptions;
            if (previous->hints.kernel_mode && previous->hints.interrupts_off) ++previous->metrics.preempted_kernel_irqoff;
        }
        trace(pcpu, now, TraceKind::deschedule, previous, uint32_t(reason));
    }
    current_[pcpu] = d.next;
    if (!d.next) {
        if (previous) trace(pcpu, now, TraceKind::idle, nullptr, 0);
        return d;
    }
    Entity& next = *d.next;
    if (&next != previous) {
        if (next.pcpu != kNoPcpu && next.pcpu != pcpu) {
            ++next.metrics.migrations;
            trace(pcpu, now, TraceKind::migrate, &next, next.pcpu);
        }
        ++next.metrics.switches_in;
        trace(pcpu, now, TraceKind::run, &next, uint32_t(d.slice > 0xffffffff ? 0xffffffff : d.slice));
    }
    set_costopped(next, false, now);
    set_state(next, State::running, now);
    next.pcpu = pcpu;
    next.spinning = false;
    return d;
}

void Scheduler::block(Entity& e, Ticks now)
{
    SpinlockGuard guard(lock_);
    now = monotonic(now);
    if (e.state != State::running) return;
    set_state(e, State::blocked, now);
    leaving_[e.pcpu] = DescheduleReason::blocked;
    policy_->block(*this, e, now);
    trace(e.pcpu, now, TraceKind::block, &e, 0);
}

bool Scheduler::wake(Entity& e, Ticks now)
{
    SpinlockGuard guard(lock_);
    now = monotonic(now);
    if (e.state != State::blocked) return false;
    set_state(e, State::runnable, now);
    if (e.pcpu < kMaxPcpus && current_[e.pcpu] == &e) {
        // It blocked, but its pCPU has not rescheduled yet (the wake-up raced with its halt): it
        // never left. Its pick_next re-queues it as it does any runnable previous entity; the
        // policy queuing it here as well would put it in a run queue twice.
        trace(e.pcpu, now, TraceKind::wake, &e, e.pcpu);
        return true;
    }
    policy_->wake(*this, e, now);
    trace(trace_pcpu(e), now, TraceKind::wake, &e, e.pcpu);
    return true;
}

void Scheduler::yield(Entity& e, Ticks now)
{
    SpinlockGuard guard(lock_);
    now = monotonic(now);
    if (e.state != State::running) return;
    leaving_[e.pcpu] = DescheduleReason::yielded;
    policy_->yield(*this, e, now);
}

bool Scheduler::directed_yield(Entity& from, Entity& target, Ticks now)
{
    ++from.metrics.directed_yields;
    bool worked = &target != &from && target.vm == from.vm && target.state == State::runnable &&
                  policy_->yield_to(*this, from, target, now);
    if (worked) {
        ++from.metrics.directed_yield_hits;
        if (from.state == State::running) leaving_[from.pcpu] = DescheduleReason::yielded;
    }
    trace(trace_pcpu(from), now, TraceKind::yield_to, &from, (target.vm << 16 | target.index) | (worked ? 1u << 31 : 0));
    return worked;
}

bool Scheduler::yield_to(Entity& from, Entity& target, Ticks now)
{
    SpinlockGuard guard(lock_);
    now = monotonic(now);
    return directed_yield(from, target, now);
}

bool Scheduler::pause_loop(Entity& e, Ticks now)
{
    SpinlockGuard guard(lock_);
    now = monotonic(now);
    if (e.state != State::running) return false;
    ++e.metrics.pause_loop_exits;
    e.spinning = true;
    trace(e.pcpu, now, TraceKind::pause_loop, &e, 0);
    bool deschedule = policy_->on_pause_loop(*this, e, now);
    if (deschedule && leaving_[e.pcpu] == DescheduleReason::preempted) leaving_[e.pcpu] = DescheduleReason::yielded;
    return deschedule;
}

Ticks Scheduler::slice_end(uint32_t pcpu, Ticks now)
{
    SpinlockGuard guard(lock_);
    now = monotonic(now);
    Entity* e = current_[pcpu];
    if (!e || e->state != State::running) return 0;
    Ticks extension = policy_->tick(*this, pcpu, now);
    if (extension) {
        ++e->metrics.deferrals;
        trace(pcpu, now, TraceKind::defer, e, uint32_t(extension > 0xffffffff ? 0xffffffff : extension));
    }
    return extension;
}

Ticks Scheduler::hint(Entity& e, Ticks now, Ticks ticks)
{
    SpinlockGuard guard(lock_);
    now = monotonic(now);
    if (now - e.hint_window_start >= params_.slice) {
        e.hint_window_start = now;
        e.hint_used = 0;
    }
    Ticks left = params_.hint_budget > e.hint_used ? params_.hint_budget - e.hint_used : 0;
    Ticks granted = ticks;
    if (granted > params_.max_hint) granted = params_.max_hint;
    if (granted > left) granted = left;
    if (!granted) return 0;
    e.hint_used += granted;
    if (now + granted > e.hint_until) e.hint_until = now + granted;
    ++e.metrics.hints_granted;
    return granted;
}

void Scheduler::end(Entity& e, Ticks now)
{
    SpinlockGuard guard(lock_);
    now = monotonic(now);
    if (e.state == State::ended) return;
    bool running = e.state == State::running;
    set_state(e, State::ended, now);
    policy_->remove(*this, e);
    if (running) {
        leaving_[e.pcpu] = DescheduleReason::ended;
        kick(e.pcpu);
    }
}

void Scheduler::dump_metrics(Ticks now, LineSink sink)
{
    SpinlockGuard guard(lock_);
    now = monotonic(now);
    Ticks per_us = params_.ticks_per_us;
    char line[320];
    for (uint32_t i = 0; i < entity_count_; ++i) {
        Entity& e = *entities_[i];
        account(e, now);
        const Metrics& m = e.metrics;
        format_to(line, sizeof line,
                  "sched-metrics vm={} vcpu={} run_us={} steal_us={} blocked_us={} costop_us={} switches={} "
                  "preemptions={} migrations={} ple_exits={} yields={} yield_hits={} deferrals={} hints={} "
                  "preempted_cpl0_if0={}",
                  vms_[e.vm].name, e.index, m.run / per_us, m.runnable / per_us, m.blocked / per_us, m.costop / per_us,
                  m.switches_in, m.preemptions, m.migrations, m.pause_loop_exits, m.directed_yields,
                  m.directed_yield_hits, m.deferrals, m.hints_granted, m.preempted_kernel_irqoff);
        sink.write(sink.context, line);
    }
    if (policy_->dump) policy_->dump(*this, sink);
}

void Scheduler::dump_trace(LineSink sink)
{
    SpinlockGuard guard(lock_);
    char line[160];
    format_to(line, sizeof line, "sched-trace-begin policy={} pcpus={} ticks_per_us={}", policy_->name, pcpus_,
              params_.ticks_per_us);
    sink.write(sink.context, line);
    for (uint32_t v = 0; v < vm_count_; ++v) {
        format_to(line, sizeof line, "sched-trace-vm {} {} {}", v, vms_[v].name, vms_[v].count);
        sink.write(sink.context, line);
    }
    uint64_t events = 0, lost = 0;
    for (uint32_t p = 0; p < pcpus_; ++p) {
        traces_[p].for_each([&](const TraceEvent& event) {
            format_event(line, sizeof line, event);
            sink.write(sink.context, line);
        });
        events += traces_[p].written() - traces_[p].lost();
        lost += traces_[p].lost();
    }
    format_to(line, sizeof line, "sched-trace-end events={} lost={}", events, lost);
    sink.write(sink.context, line);
}

}  // namespace sched
