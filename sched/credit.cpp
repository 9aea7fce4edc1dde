// Credit: proportional share with weights and caps, in the spirit of Xen's credit scheduler.
// Every credit_period the pCPU time of the period (credit_period x pCPUs) is shared among the
// VMs that were active in it, in proportion to their weights, and each VM's part among its
// active vCPUs; running debits credit by the time run. vCPUs with credit (UNDER) run before
// those without (OVER); a vCPU that wakes with credit is BOOSTed ahead of UNDER and may preempt.
// A capped VM is parked once it has run its cap in a period. A pause-loop exit yields, as in Xen.
// See sched/README.md.
#include "sched/credit.hpp"

#include "lib/format.hpp"

namespace sched::credit {
namespace {

// Xen's weight range; keeps (period x pCPUs x weight) far from overflowing 64 bits.
constexpr uint32_t kMaxWeight = 65535;

template <class T>
T min_of(T a, T b)
{
    return a < b ? a : b;
}

Ticks period(const Scheduler& s) { return s.params().credit_period; }

uint32_t weight(const Scheduler& s, uint32_t vm)
{
    uint32_t w = s.vm(vm).weight;
    return w == 0 ? 1 : w > kMaxWeight ? kMaxWeight : w;
}

bool capped(const Scheduler& s, uint32_t vm) { return s.vm(vm).cap_percent != 0; }

// A capped VM's run time per period.
Ticks cap_ticks(const Scheduler& s, uint32_t vm)
{
    uint64_t percent = s.vm(vm).cap_percent;
    uint64_t most = 100ull * s.pcpu_count();
    return period(s) * (percent < most ? percent : most) / 100;
}

bool running(const Scheduler& s, const Entity& e)
{
    return e.state == State::running && e.pcpu < s.pcpu_count() && s.current(e.pcpu) == &e;
}

Priority priority(const PolicyState& c, const Entity& e)
{
    const Vcpu& v = c.vcpus[e.id];
    Priority p = v.boost ? Priority::boost : e.credit > 0 ? Priority::under : Priority::over;
    return v.lifted && v.lift > p ? v.lift : p;
}

void dequeue(PolicyState& c, Entity& e)
{
    Vcpu& v = c.vcpus[e.id];
    if (v.queue == kNoPcpu) return;
    c.queues.at(v.queue).remove(e);
    v.queue = kNoPcpu;
}

// Queues e at the back of pcpu's queue; kick_idle() then wakes a pCPU for it if one is idle.
void enqueue(PolicyState& c, Entity& e, uint32_t pcpu)
{
    e.queued_at = ++c.sequence;
    c.queues.at(pcpu).push_back(e);
    c.vcpus[e.id].queue = pcpu;
}

// Work conservation: every idle pCPU (but `deciding`, which is choosing right now) that may run a
// queued entity is kicked, one pCPU per entity.
void kick_idle(Scheduler& s, uint32_t deciding)
{
    uint64_t idle = 0;
    for (uint32_t p = 0; p < s.pcpu_count(); ++p)
        if (!s.current(p) && p != deciding) idle |= 1ull << p;
    PolicyState& c = state(s);
    for (uint32_t q = 0; q < s.pcpu_count() && idle; ++q)
        c.queues.at(q).for_each([&](const Entity& e) {
            uint64_t usable = e.affinity & idle;
            if (!usable) return;
            uint32_t p = uint32_t(__builtin_ctzll(usable));
            idle &= ~(1ull << p);
            s.kick(p);
        });
}

void park_vm(Scheduler& s, uint32_t vm);

// Debits e's credit (and its capped VM's budget) by the time it ran since it was last charged.
// Only for an entity that ran until `now`.
void charge(Scheduler& s, Entity& e, Ticks now)
{
    PolicyState& c = state(s);
    Vcpu& v = c.vcpus[e.id];
    if (now <= v.charged_until) return;
    Ticks ran = now - v.charged_until;
    v.charged_until = now;
    e.credit -= int64_t(ran);
    if (!capped(s, e.vm)) return;
    Vm& m = c.vms[e.vm];
    m.used += ran;
    if (!m.parked && m.used >= cap_ticks(s, e.vm)) park_vm(s, e.vm);
}

// The VM ran its cap: its runnable vCPUs leave the queues until the next refill and those
// running are kicked off their pCPUs (pick_next parks them).
void park_vm(Scheduler& s, uint32_t vm)
{
    PolicyState& c = state(s);
    c.vms[vm].parked = true;
    const VmInfo& info = s.vm(vm);
    for (uint32_t i = info.first; i < info.first + info.count; ++i) {
        Entity& e = s.entity(i);
        if (e.state != State::runnable && e.state != State::running) continue;
        if (running(s, e)) {
            s.kick(e.pcpu);
            continue;
        }
        dequeue(c, e);
        c.vcpus[e.id].parked = true;
    }
}

// Shares a period's pCPU time among the active VMs by weight (water-filling: a VM never gets more
// than its active vCPUs or its cap can use; the rest goes to the others), then each VM's part
// among its active vCPUs. Credit is clamped to [-period, one period's share]: nothing is banked.
void grant(Scheduler& s)
{
    PolicyState& c = state(s);
    const Ticks per = period(s);
    uint32_t active[kMaxVms] = {};
    for (uint32_t i = 0; i < s.entity_count(); ++i) {
        const Entity& e = s.entity(i);
        if (c.vcpus[i].active && e.state != State::ended) ++active[e.vm];
    }
    Ticks granted[kMaxVms] = {};
    bool settled[kMaxVms] = {};
    Ticks left = per * s.pcpu_count();
    uint64_t weights = 0;
    for (uint32_t vm = 0; vm < s.vm_count(); ++vm)
        if (active[vm]) weights += weight(s, vm);
    for (bool changed = true; changed && weights;) {
        changed = false;
        Ticks pool = left;
        uint64_t pool_weights = weights;
        for (uint32_t vm = 0; vm < s.vm_count(); ++vm) {
            if (!active[vm] || settled[vm]) continue;
            Ticks peak = per * active[vm];
            if (capped(s, vm)) peak = min_of(peak, cap_ticks(s, vm));
            if (pool * weight(s, vm) / pool_weights < peak) continue;
            granted[vm] = peak;
            settled[vm] = true;
            left -= peak;
            weights -= weight(s, vm);
            changed = true;
        }
    }
    for (uint32_t vm = 0; vm < s.vm_count(); ++vm) {
        if (active[vm] && !settled[vm]) granted[vm] = left * weight(s, vm) / weights;
        c.vms[vm].share = granted[vm];
        c.vms[vm].active = active[vm];
    }
    for (uint32_t i = 0; i < s.entity_count(); ++i) {
        Entity& e = s.entity(i);
        if (c.vcpus[i].active && e.state != State::ended) {
            int64_t share = int64_t(granted[e.vm] / active[e.vm]);
            e.credit += share;
            if (e.credit > share) e.credit = share;
        }
        if (e.credit < -int64_t(per)) e.credit = -int64_t(per);
    }
}

// A period ended: running entities pay for it, credit is granted, capped VMs get their budget
// back (less an overrun) and parked vCPUs return to the queues.
void refill(Scheduler& s, Ticks now, uint32_t deciding)
{
    PolicyState& c = state(s);
    for (uint32_t p = 0; p < s.pcpu_count(); ++p)
        if (Entity* e = s.current(p); e && e->state == State::running) charge(s, *e, now);
    grant(s);
    for (uint32_t vm = 0; vm < s.vm_count(); ++vm) {
        Vm& m = c.vms[vm];
        Ticks cap = capped(s, vm) ? cap_ticks(s, vm) : 0;
        m.used = m.used > cap ? min_of(m.used - cap, cap) : 0;
        if (m.parked && (!cap || m.used < cap)) m.parked = false;
    }
    for (uint32_t i = 0; i < s.entity_count(); ++i) {
        Entity& e = s.entity(i);
        Vcpu& v = c.vcpus[i];
        v.active = e.state == State::runnable || e.state == State::running;
        if (!v.parked || c.vms[e.vm].parked) continue;
        v.parked = false;
        if (e.state == State::runnable) enqueue(c, e, c.queues.choose(s, e));
    }
    kick_idle(s, deciding);
}

// The best queued entity that may run on pcpu: highest priority, then queued first.
Entity* select(Scheduler& s, uint32_t pcpu)
{
    PolicyState& c = state(s);
    Entity* best = nullptr;
    Priority best_priority = Priority::over;
    for (uint32_t q = 0; q < s.pcpu_count(); ++q)
        c.queues.at(q).for_each([&](const Entity& queued) {
            if (!s.may_run_on(queued, pcpu)) return;
            Priority p = priority(c, queued);
            if (best && (p < best_priority || (p == best_priority && queued.queued_at >= best->queued_at))) return;
            best = &s.entity(queued.id);
            best_priority = p;
        });
    return best;
}

// Of a capped VM's budget, what is left now: running siblings are charged first (which parks the
// VM when they used it up).
Ticks cap_left(Scheduler& s, uint32_t vm, Ticks now, uint32_t* running_siblings)
{
    const VmInfo& info = s.vm(vm);
    *running_siblings = 0;
    for (uint32_t i = info.first; i < info.first + info.count; ++i) {
        Entity& e = s.entity(i);
        if (!running(s, e)) continue;
        charge(s, e, now);
        ++*running_siblings;
    }
    Ticks cap = cap_ticks(s, vm);
    Ticks used = state(s).vms[vm].used;
    return used < cap ? cap - used : 0;
}

// A vCPU that woke with credit may preempt a pCPU (it may use) running something of a lower
// priority when no pCPU it may use is idle: the one it last ran on if it qualifies, else the
// one running the lowest priority.
void preempt_for(Scheduler& s, const Entity& e)
{
    PolicyState& c = state(s);
    Priority mine = priority(c, e);
    uint32_t victim = kNoPcpu;
    Priority lowest = mine;
    for (uint32_t p = 0; p < s.pcpu_count(); ++p) {
        if (!s.may_run_on(e, p)) continue;
        const Entity* current = s.current(p);
        if (!current) return;  // an idle pCPU takes it (kick_idle)
        if (current->state != State::running) continue;
        Priority theirs = priority(c, *current);
        if (theirs >= mine) continue;
        if (victim == kNoPcpu || theirs < lowest || (theirs == lowest && p == e.pcpu)) {
            victim = p;
            lowest = theirs;
        }
    }
    if (victim != kNoPcpu) s.kick(victim);
}

Ticks tick(Scheduler&, uint32_t, Ticks) { return 0; }

}  // namespace

void sync(Scheduler& s, Ticks now, uint32_t deciding)
{
    PolicyState& c = state(s);
    const Ticks per = period(s);
    if (!c.clock_started) {
        c.clock_started = true;
        c.next_refill = now + per;
        return;
    }
    if (now < c.next_refill) return;
    refill(s, now, deciding);
    c.next_refill += ((now - c.next_refill) / per + 1) * per;
}

bool can_yield_to(const Scheduler& s, const Entity& from, const Entity& target)
{
    return &target != &from && target.vm == from.vm && target.state == State::runnable &&
           state(s).vcpus[target.id].queue != kNoPcpu && from.pcpu < s.pcpu_count() && s.may_run_on(target, from.pcpu);
}

bool preemption_due(Scheduler& s, uint32_t pcpu, Ticks now)
{
    Entity* e = s.current(pcpu);
    if (!e || e->state != State::running) return false;
    charge(s, *e, now);
    PolicyState& c = state(s);
    if (c.vms[e->vm].parked) return true;
    // pick_next requeues it behind its priority without boost or lift: anyone queued with at
    // least that priority goes first.
    Priority mine = e->credit > 0 ? Priority::under : Priority::over;
    Entity* rival = select(s, pcpu);
    return rival && priority(c, *rival) >= mine;
}

// As Xen answers a pause-loop exit (SCHEDOP_yield): the spinner gives its pCPU up when someone
// queued for it has at least its priority; pick_next then requeues it behind its priority.
bool pause_loop_yield(Scheduler& s, Entity& e, Ticks now)
{
    sync(s, now, kNoPcpu);
    return e.pcpu < s.pcpu_count() && s.current(e.pcpu) == &e && preemption_due(s, e.pcpu, now);
}

const char* init(Scheduler& s)
{
    PolicyState& c = s.emplace_state<PolicyState>();
    if (!period(s)) return "the credit policies need a credit period";
    for (uint32_t i = 0; i < s.entity_count(); ++i) {
        Entity& e = s.entity(i);
        e.credit = 0;
        c.vcpus[i].queue = kNoPcpu;
        c.vcpus[i].active = e.state == State::runnable;
    }
    grant(s);
    for (uint32_t i = 0; i < s.entity_count(); ++i) {
        Entity& e = s.entity(i);
        if (e.state == State::runnable) enqueue(c, e, c.queues.choose(s, e));
    }
    return nullptr;
}

void remove(Scheduler& s, Entity& e)
{
    PolicyState& c = state(s);
    dequeue(c, e);
    Vcpu& v = c.vcpus[e.id];
    v.parked = v.active = v.boost = v.lifted = false;
}

void wake(Scheduler& s, Entity& e, Ticks now)
{
    sync(s, now, kNoPcpu);
    PolicyState& c = state(s);
    Vcpu& v = c.vcpus[e.id];
    v.active = true;
    v.lifted = false;
    if (c.vms[e.vm].parked) {
        v.parked = true;
        return;
    }
    v.boost = e.credit > 0;
    enqueue(c, e, c.queues.choose(s, e));
    kick_idle(s, kNoPcpu);
    if (v.boost) preempt_for(s, e);
}

void block(Scheduler& s, Entity& e, Ticks now)
{
    charge(s, e, now);
    state(s).vcpus[e.id].boost = false;
    sync(s, now, kNoPcpu);
}

// pick_next requeues it behind everyone of its priority.
void yield(Scheduler& s, Entity& e, Ticks now)
{
    charge(s, e, now);
    state(s).vcpus[e.id].boost = false;
    sync(s, now, kNoPcpu);
}

// The target goes to the head of from's queue with at least the priority `from` ran at (so it
// runs there next unless something of a higher priority waits), and is charged as usual.
bool yield_to(Scheduler& s, Entity& from, Entity& target, Ticks now)
{
    sync(s, now, kNoPcpu);
    PolicyState& c = state(s);
    if (!can_yield_to(s, from, target)) return false;
    Priority lift = priority(c, from);
    charge(s, from, now);
    if (!can_yield_to(s, from, target)) return false;  // the charge reached the VM's cap
    dequeue(c, target);
    target.queued_at = 0;
    c.queues.at(from.pcpu).push_front(target);
    Vcpu& v = c.vcpus[target.id];
    v.queue = from.pcpu;
    v.lift = lift > priority(c, target) ? lift : priority(c, target);
    v.lifted = true;
    return true;
}

Decision pick_next(Scheduler& s, uint32_t pcpu, Ticks now)
{
    PolicyState& c = state(s);
    Entity* previous = s.current(pcpu);
    // It ran until now; an entity that blocked or ended was charged then.
    if (previous && previous->state == State::runnable) charge(s, *previous, now);
    if (previous) c.vcpus[previous->id].boost = false;
    sync(s, now, pcpu);
    if (previous && previous->state == State::runnable && c.vcpus[previous->id].queue == kNoPcpu) {
        if (c.vms[previous->vm].parked) c.vcpus[previous->id].parked = true;
        else enqueue(c, *previous, pcpu);
    }
    Entity* next = nullptr;
    Ticks slice = 0;
    while ((next = select(s, pcpu))) {
        slice = s.params().slice;
        if (!capped(s, next->vm)) break;
        // A capped VM's vCPUs share what is left of its budget, so that together they stop at
        // the cap (a small overrun is carried over to the next period).
        uint32_t siblings = 0;
        Ticks left = cap_left(s, next->vm, now, &siblings);
        if (left && !c.vms[next->vm].parked) {
            Ticks share = left / (siblings + 1);
            slice = min_of(slice, share ? share : 1);
            break;
        }
        if (!c.vms[next->vm].parked) park_vm(s, next->vm);  // parks `next` too
    }
    if (next) {
        dequeue(c, *next);
        Vcpu& v = c.vcpus[next->id];
        v.charged_until = now;
        v.active = true;
        v.lifted = false;
        v.extended = false;
    } else {
        // Idle: while a vCPU is parked, wake up for the refill that unparks it (and kicks an
        // idle pCPU it may use, should that not be this one).
        for (uint32_t i = 0; i < s.entity_count() && !slice; ++i)
            if (c.vcpus[i].parked) slice = c.next_refill - now;
    }
    kick_idle(s, pcpu);
    return Decision{next, slice};
}

void dump(const Scheduler& s, LineSink sink)
{
    const PolicyState& c = state(s);
    const char* name = s.policy().name;
    char line[256];
    format_to(line, sizeof line, "{} period={} next_refill={}", name, period(s), c.next_refill);
    sink.write(sink.context, line);
    for (uint32_t vm = 0; vm < s.vm_count(); ++vm) {
        const Vm& m = c.vms[vm];
        format_to(line, sizeof line, "{} vm {}: weight={} cap={}% share={} active={} used={}{}", name, s.vm(vm).name,
                  s.vm(vm).weight, s.vm(vm).cap_percent, m.share, m.active, m.used, m.parked ? " parked" : "");
        sink.write(sink.context, line);
    }
    static const char* const kPriority[] = {"over", "under", "boost"};
    for (uint32_t i = 0; i < s.entity_count(); ++i) {
        const Entity& e = s.entity(i);
        const Vcpu& v = c.vcpus[i];
        format_to(line, sizeof line, "{} vcpu {}.{}: credit={} {}{}", name, s.vm(e.vm).name, e.index, e.credit,
                  v.parked ? "parked" : kPriority[uint32_t(priority(c, e))], v.active ? " active" : "");
        sink.write(sink.context, line);
    }
    c.queues.dump(s, name, sink);
}

}  // namespace sched::credit

namespace sched {

extern const Policy kCredit = {
    "credit",
    "proportional share by VM weight with caps and wake-up boost (Xen's credit); a pause loop yields",
    credit::init, credit::remove, credit::wake, credit::block, credit::yield, credit::yield_to,
    credit::pick_next, credit::tick, credit::pause_loop_yield, credit::dump,
};

}  // namespace sched
