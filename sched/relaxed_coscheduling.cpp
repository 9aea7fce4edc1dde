// Relaxed co-scheduling, as VMware ESX 3 and 4 do it: vCPUs of a VM run independently, but none
// may fall too far behind its siblings. Otherwise round-robin on per-pCPU queues (CpuQueues),
// by turns: a VM's turn lasts while any of its vCPUs runs in a slice not yet over.
//
// Turns. A pCPU that needs a vCPU takes, after a laggard owed to a co-stop and a yield's target,
// the longest-waiting queued vCPU of a VM in its turn, before the oldest of all; and a vCPU that
// joins running siblings gets their slice end (the earliest, if they differ). So the VM's vCPUs
// gather on the pCPUs that free up during its turn and all leave together at its end, where
// the FIFO hands the pCPUs, at the same instant, to the next VM's vCPUs. Without turns the pCPUs'
// slices end out of phase and the VMs share the machine in halves: a ticket-lock VM spins
// behind a queued next-ticket holder, its waiting vCPUs cross the threshold, and each co-stop,
// meant to keep the VM together, splits it further (the leaders' pCPUs go to other VMs for whole
// slices, the laggard catches up only to the threshold and crosses it again at its next wait).
// In Bochs (4 pCPUs, 4-vCPU spinlock VMs) that churn cost 0.5 of the fair share at 2x and 0.8
// at 3x, with 40-80 ms of co-stop per vCPU in 0.4 s.
//
// Skew (Entity::skew, in ticks) measures how far a vCPU lags behind the most advanced of its
// active (runnable or running) siblings. The policy keeps a progress count per vCPU that grows
// while it runs; skew = the highest progress among the VM's active vCPUs minus its own. Hence:
//   runnable but not running, while the sibling that leads runs:  skew grows by the time elapsed;
//   running:                                                      skew shrinks (or stays 0 when
//                                                                 it leads or the leader runs too);
//   idle (halted, ended):                                         skew 0: it is left out.
// A waking vCPU starts level with the leader. An idle vCPU has nothing to do, so it lags nobody
// and nobody lags it: idle siblings never cause co-stops (ESX treats idle vCPUs as if they ran).
//
// Co-stop: while a runnable vCPU of the VM (a laggard) has skew > Params::costop_threshold, every
// other runnable sibling (the leaders, skew <= threshold) is co-stopped: marked with
// set_costopped (its wait counts as co-stop time), descheduled at once (its pCPU is kicked) or
// taken off its queue, and never picked. A pCPU a running leader left runs the most lagging
// laggard of that VM next (a new slice for it, taken out of line); the leader keeps its place in
// line and the rest of its slice (Entity::scratch) for later, so every vCPU still gets one slice
// per round. Co-start: once no runnable vCPU's skew exceeds the threshold (the laggards caught
// up, which takes one tick of running, or halted or ended), the leaders are queued again where
// they were.
//
// Timing: every decision's slice is cut short at the next instant a waiting vCPU may pass the
// threshold or a running laggard may get back under it, so co-stops and co-starts happen on
// time, not at the next slice end; at such an early decision the current vCPU goes on with its
// slice (round-robin order is not disturbed). A wake that brings that instant before every
// pCPU's next decision kicks one pCPU (an idle one if there is one). Hence skew exceeds the
// threshold by at most one tick in the simulator (on hardware, by timer and IPI latency too).
//
// Pause loops. A spinner gives up the rest of its slice to the longest-waiting queued vCPU
// (that may run on its pCPU) of the VM that has had the least pCPU time per vCPU, provided that
// VM has had no more than the spinner's (vm_behind, sched/vm_time.hpp; a sibling always
// qualifies); else the exit is futile. Time thus only moves towards the VM furthest behind, and
// since every spinner of every VM picks that same VM, its vCPUs are started together. (It broke
// the ticket-lock convoy in the simulator before turns existed; turns alone now do.) Skew and
// co-stops are untouched: a spinner that left waits like any other vCPU. A yield gives up the
// rest of the slice (within its VM's turn the pCPU goes to a waiting sibling, possibly the
// yielder itself: the pCPU is the VM's until the turn ends); a directed yield runs the target
// next on the yielder's pCPU, unless the target is co-stopped.
#include "lib/format.hpp"
#include "sched/cpu_queues.hpp"
#include "sched/scheduler.hpp"
#include "sched/vm_time.hpp"

namespace sched {
namespace {

constexpr Ticks kNever = ~0ull;
constexpr uint32_t kNoVm = ~0u;

enum class Status : uint8_t { idle, waiting, running };

struct Relaxed {
    CpuQueues queues;
    // What the policy last decided for each entity: valid from `accounted` until the next op.
    Status status[kMaxEntities];
    Ticks progress[kMaxEntities];      // time run (a waking vCPU is set level with its leader)
    bool parked[kMaxEntities];         // co-stopped and off the queues
    uint32_t parked_on[kMaxEntities];  // the queue it goes back to, in queued_at order (kNoPcpu:
                                       // none, it is queued anew)
    Ticks slice_end[kMaxPcpus];        // when the current entity's slice ends (not early decisions)
    Ticks deadline[kMaxPcpus];         // when the pCPU asks again (kNever: when kicked)
    uint32_t handoff[kMaxPcpus];       // a co-stopped leader of this VM leaves: a laggard goes first
    Ticks accounted = 0;
};

Relaxed& rc(Scheduler& s) { return s.state<Relaxed>(); }

bool active(const Relaxed& r, const Entity& e) { return r.status[e.id] != Status::idle; }

// Sets Entity::skew from the progress counts.
void refresh_skew(Scheduler& s, const Relaxed& r)
{
    for (uint32_t v = 0; v < s.vm_count(); ++v) {
        const VmInfo& vm = s.vm(v);
        Ticks lead = 0;
        for (uint32_t i = vm.first; i < vm.first + vm.count; ++i)
            if (r.status[i] != Status::idle && r.progress[i] > lead) lead = r.progress[i];
        for (uint32_t i = vm.first; i < vm.first + vm.count; ++i)
            s.entity(i).skew = r.status[i] == Status::idle ? 0 : lead - r.progress[i];
    }
}

// Progress and skew up to `now`, from the statuses since the last call.
void accrue(Scheduler& s, Relaxed& r, Ticks now)
{
    if (now <= r.accounted) return;
    Ticks dt = now - r.accounted;
    r.accounted = now;
    for (uint32_t i = 0; i < s.entity_count(); ++i)
        if (r.status[i] == Status::running) r.progress[i] += dt;
    refresh_skew(s, r);
}

// e becomes active: level with the most advanced active sibling.
void activate(Scheduler& s, Relaxed& r, const Entity& e)
{
    const VmInfo& vm = s.vm(e.vm);
    Ticks lead = 0;
    bool any = false;
    for (uint32_t i = vm.first; i < vm.first + vm.count; ++i)
        if (i != e.id && r.status[i] != Status::idle && (!any || r.progress[i] > lead)) {
            lead = r.progress[i];
            any = true;
        }
    if (any) r.progress[e.id] = lead;
    r.status[e.id] = Status::waiting;
    refresh_skew(s, r);
}

void costop(Scheduler& s, Relaxed& r, Entity& e, Ticks now)
{
    s.set_costopped(e, true, now);
    if (r.status[e.id] == Status::running) {
        s.kick(e.pcpu);  // its pick_next parks it and hands the pCPU to a laggard
        return;
    }
    // Off its queue; it keeps its place in line (queued_at) for when it is co-started.
    r.parked[e.id] = true;
    r.parked_on[e.id] = kNoPcpu;  // a pCPU's previous entity or a waking one: not queued yet
    for (uint32_t p = 0; p < s.pcpu_count(); ++p)
        if (r.queues.at(p).remove(e)) r.parked_on[e.id] = p;
}

// Queues e on `pcpu` in queued_at order, where it would be had it never left.
void requeue_in_order(Scheduler& s, RunQueue& q, Entity& e, uint32_t pcpu)
{
    RunQueue merged;
    while (q.front() && q.front()->queued_at < e.queued_at) merged.push_back(*q.pop_front());
    merged.push_back(e);
    while (q.front()) merged.push_back(*q.pop_front());
    while (merged.front()) q.push_back(*merged.pop_front());
    if (!s.current(pcpu)) s.kick(pcpu);
}

void costart(Scheduler& s, Relaxed& r, Entity& e, Ticks now)
{
    s.set_costopped(e, false, now);
    if (!r.parked[e.id]) return;  // still on its pCPU, not rescheduled yet: it just goes on
    r.parked[e.id] = false;
    uint32_t p = r.parked_on[e.id];
    if (p != kNoPcpu) requeue_in_order(s, r.queues.at(p), e, p);
    else r.queues.enqueue(s, e, r.queues.choose(s, e));
}

// Co-stops the leaders of every VM with a runnable laggard; co-starts the rest.
void evaluate(Scheduler& s, Relaxed& r, Ticks now)
{
    Ticks threshold = s.params().costop_threshold;
    for (uint32_t v = 0; v < s.vm_count(); ++v) {
        const VmInfo& vm = s.vm(v);
        bool lagging = false;
        for (uint32_t i = 0; i < vm.count; ++i) {
            const Entity& e = s.entity(vm.first + i);
            lagging |= active(r, e) && e.skew > threshold;
        }
        for (uint32_t i = 0; i < vm.count; ++i) {
            Entity& e = s.entity(vm.first + i);
            bool stop = lagging && active(r, e) && e.skew <= threshold;
            if (stop && !e.costopped) costop(s, r, e, now);
            else if (!stop && e.costopped) costart(s, r, e, now);
        }
    }
}

// The next instant a co-stop or co-start may be due, if statuses stay as they are (early is
// harmless: the pCPU decides, finds nothing to do and continues). A waiting vCPU's skew grows
// once a running sibling leads: at once if one does, else when the closest one has caught up.
Ticks next_event(const Scheduler& s, const Relaxed& r, Ticks now)
{
    Ticks threshold = s.params().costop_threshold, event = kNever;
    for (uint32_t v = 0; v < s.vm_count(); ++v) {
        const VmInfo& vm = s.vm(v);
        Ticks to_lead = kNever;  // until a running vCPU leads
        bool stopped = false;
        for (uint32_t i = vm.first; i < vm.first + vm.count; ++i) {
            if (r.status[i] == Status::running && s.entity(i).skew < to_lead) to_lead = s.entity(i).skew;
            stopped |= s.entity(i).costopped;
        }
        for (uint32_t i = vm.first; i < vm.first + vm.count; ++i) {
            const Entity& e = s.entity(i);
            Ticks at = kNever;
            if (r.status[i] == Status::waiting && to_lead != kNever && e.skew <= threshold)
                at = now + to_lead + (threshold - e.skew + 1);  // passes the threshold
            else if (r.status[i] == Status::running && stopped && e.skew > threshold)
                at = now + (e.skew - threshold);  // back at the threshold: co-start
            if (at < event) event = at;
        }
    }
    return event;
}

// Makes sure some pCPU decides again by the next event (a wake may have brought it forward).
void ensure_timer(Scheduler& s, Relaxed& r, Ticks now)
{
    Ticks event = next_event(s, r, now);
    if (event == kNever) return;
    uint32_t pick = kNoPcpu;
    for (uint32_t p = 0; p < s.pcpu_count(); ++p) {
        if (r.deadline[p] <= event) return;
        if (pick == kNoPcpu || (!s.current(p) && s.current(pick))) pick = p;
    }
    s.kick(pick);
}

const char* init(Scheduler& s)
{
    Relaxed& r = s.emplace_state<Relaxed>();
    for (uint32_t p = 0; p < kMaxPcpus; ++p) {
        r.deadline[p] = kNever;
        r.handoff[p] = kNoVm;
    }
    for (uint32_t i = 0; i < s.entity_count(); ++i) {
        Entity& e = s.entity(i);
        e.skew = 0;
        r.status[i] = e.state == State::runnable ? Status::waiting : Status::idle;
        if (e.state == State::runnable) r.queues.enqueue(s, e, r.queues.choose(s, e));
    }
    refresh_skew(s, r);
    return nullptr;
}

void remove(Scheduler& s, Entity& e)
{
    Relaxed& r = rc(s);
    r.queues.remove(e);
    r.status[e.id] = Status::idle;
    r.parked[e.id] = false;
    s.set_costopped(e, false, e.state_since);  // ended: nothing left to account
    // Its siblings may have been co-stopped for it: co-start them now. remove() has no clock; the
    // last accounting instant stands in (the leaders' co-stop time may end a little early).
    refresh_skew(s, r);
    evaluate(s, r, r.accounted);
}

void wake(Scheduler& s, Entity& e, Ticks now)
{
    Relaxed& r = rc(s);
    accrue(s, r, now);
    activate(s, r, e);
    evaluate(s, r, now);  // may co-stop it right away, leaving it parked
    if (!e.costopped) r.queues.enqueue(s, e, r.queues.choose(s, e));
    ensure_timer(s, r, now);
}

void block(Scheduler& s, Entity& e, Ticks now)
{
    Relaxed& r = rc(s);
    accrue(s, r, now);
    r.status[e.id] = Status::idle;
    refresh_skew(s, r);
    evaluate(s, r, now);  // pick_next on its pCPU follows and sets the next deadline
}

void yield(Scheduler& s, Entity& e, Ticks) { rc(s).slice_end[e.pcpu] = 0; }

bool yield_to(Scheduler& s, Entity& from, Entity& target, Ticks)
{
    Relaxed& r = rc(s);
    if (target.costopped || r.status[target.id] != Status::waiting || !s.may_run_on(target, from.pcpu)) return false;
    r.queues.run_next(target, from.pcpu);
    r.slice_end[from.pcpu] = 0;
    return true;
}

// The laggard of `vm` with the most skew that may run on `pcpu`, off its queue.
Entity* take_laggard(Scheduler& s, Relaxed& r, uint32_t vm, uint32_t pcpu)
{
    const VmInfo& info = s.vm(vm);
    Entity* best = nullptr;
    for (uint32_t i = 0; i < info.count; ++i) {
        Entity& e = s.entity(info.first + i);
        if (r.status[e.id] == Status::waiting && !e.costopped && e.skew > s.params().costop_threshold &&
            s.may_run_on(e, pcpu) && (!best || e.skew > best->skew))
            best = &e;
    }
    if (best) r.queues.remove(*best);
    return best;
}

// When the turn of `vm` ends: the earliest slice end among its running vCPUs that are not
// co-stopped and whose slice is not over; kNever when it is not in its turn.
Ticks turn_end(const Scheduler& s, const Relaxed& r, uint32_t vm, Ticks now)
{
    Ticks end = kNever;
    for (uint32_t p = 0; p < s.pcpu_count(); ++p) {
        const Entity* x = s.current(p);
        if (x && x->vm == vm && r.status[x->id] == Status::running && !x->costopped && r.slice_end[p] > now &&
            r.slice_end[p] < end)
            end = r.slice_end[p];
    }
    return end;
}

// The vCPU a yield put at the head of pcpu's queue (queued_at 0), off the queue.
Entity* take_yield_target(Relaxed& r, uint32_t pcpu)
{
    Entity* head = r.queues.at(pcpu).front();
    if (!head || head->queued_at) return nullptr;
    r.queues.remove(*head);
    return head;
}

// The longest-waiting queued vCPU that may run on pcpu and whose VM is in its turn (possibly the
// vCPU that just yielded pcpu: the pCPU is its VM's until the turn ends), off its queue.
Entity* take_sibling_in_turn(Scheduler& s, Relaxed& r, uint32_t pcpu, Ticks now)
{
    Entity* best = nullptr;
    for (uint32_t p = 0; p < s.pcpu_count(); ++p)
        r.queues.at(p).for_each([&](Entity& x) {
            if (s.may_run_on(x, pcpu) && (!best || x.queued_at < best->queued_at) &&
                turn_end(s, r, x.vm, now) != kNever)
                best = &x;
        });
    if (best) r.queues.remove(*best);
    return best;
}

Decision pick_next(Scheduler& s, uint32_t pcpu, Ticks now)
{
    Relaxed& r = rc(s);
    accrue(s, r, now);
    Entity* previous = s.current(pcpu);
    if (previous) r.status[previous->id] = previous->state == State::runnable ? Status::waiting : Status::idle;
    refresh_skew(s, r);
    evaluate(s, r, now);

    // Entity::scratch: the rest of a slice a co-stop cut short, owed to the entity's next run.
    Entity* next = nullptr;
    bool goes_on = false;  // an early decision: `next` keeps the slice it has
    if (previous && previous->state == State::runnable) {
        if (previous->costopped) {
            // Co-stopped while it ran: it keeps the rest of its slice and its place in line,
            // and a laggard of its VM gets the pCPU.
            previous->scratch = now < r.slice_end[pcpu] ? r.slice_end[pcpu] - now : 0;
            r.parked[previous->id] = true;
            r.parked_on[previous->id] = pcpu;
            r.handoff[pcpu] = previous->vm;
        } else if (now < r.slice_end[pcpu]) {
            next = previous;
            goes_on = true;
        } else {
            r.queues.enqueue(s, *previous, pcpu);
        }
    }
    if (!next && r.handoff[pcpu] != kNoVm) next = take_laggard(s, r, r.handoff[pcpu], pcpu);
    r.handoff[pcpu] = kNoVm;
    if (!next) next = take_yield_target(r, pcpu);
    if (!next) next = take_sibling_in_turn(s, r, pcpu, now);
    if (!next) next = r.queues.take_oldest(s, pcpu, [](const Entity&) { return true; });
    if (next && !goes_on) {
        // A new slice, also for the previous entity taken again from its queue (alone on its
        // pCPU): a full one, or what a co-stop left of the last one, but ending no later than its
        // VM's turn if it joins running siblings (the VM's vCPUs leave together).
        Ticks end = now + (next->scratch ? next->scratch : s.params().slice), vm_end = turn_end(s, r, next->vm, now);
        r.slice_end[pcpu] = vm_end < end ? vm_end : end;
        next->scratch = 0;
    }
    if (next) r.status[next->id] = Status::running;

    Ticks slice = next ? r.slice_end[pcpu] - now : 0;
    Ticks event = next_event(s, r, now);
    if (event != kNever && (!slice || event - now < slice)) slice = event - now;
    r.deadline[pcpu] = slice ? now + slice : kNever;
    return Decision{next, slice};
}

Ticks tick(Scheduler&, uint32_t, Ticks) { return 0; }

// True (pick_next then runs the chosen vCPU) when e's pCPU goes to a queued vCPU of the VM that
// has had the least pCPU time per vCPU, provided that VM has had no more than e's.
bool on_pause_loop(Scheduler& s, Entity& e, Ticks now)
{
    Relaxed& r = rc(s);
    Entity* best = furthest_behind(s, r.queues, e.pcpu, now, [](const Entity&) { return true; });
    if (!best || !vm_behind(s, best->vm, e.vm, now)) return false;
    r.queues.run_next(*best, e.pcpu);
    r.slice_end[e.pcpu] = 0;
    return true;
}

void dump(const Scheduler& s, LineSink sink)
{
    const Relaxed& r = s.state<Relaxed>();
    r.queues.dump(s, "relaxed-co", sink);
    for (uint32_t i = 0; i < s.entity_count(); ++i) {
        const Entity& e = s.entity(i);
        if (!e.skew && !e.costopped) continue;
        char line[128];
        format_to(line, sizeof line, "relaxed-co {}.{} skew={}{}", s.vm(e.vm).name, e.index, e.skew,
                  e.costopped ? " co-stopped" : "");
        sink.write(sink.context, line);
    }
}

}  // namespace

extern const Policy kRelaxedCo = {
    "relaxed-co",
    "relaxed co-scheduling (ESX): vCPUs run freely, leaders are co-stopped when a sibling lags too far",
    init, remove, wake, block, yield, yield_to, pick_next, tick, on_pause_loop, dump,
};

}  // namespace sched
