// Balance scheduling (Sukwong and Kim, EuroSys 2011): round-robin on per-pCPU queues (the VM
// furthest behind first, within bounds, below), except that siblings are spread. A VM with no
// more vCPUs than there are pCPUs never has two of them on one pCPU, queued or running, so no
// vCPU ever waits behind a sibling (the lock holder it may be spinning for) on the same pCPU;
// the guest's own lock-holder preemption and wake-up latencies then look like those of real SMP
// hardware. Unlike co-scheduling nothing is forced to run at the
// same time, so no pCPU idles for a gang's sake.
//
// The rule, for every pCPU p and VM v (limit(v) = ceil(vcpus / pcpus), 1 when the VM fits the
// machine): the vCPUs of v queued on p plus the one running there number at most limit(v).
// Placement (init, wake) takes the usual choice of CpuQueues (an idle pCPU, else where it last
// ran, else the shortest queue) among the pCPUs the rule allows; when affinity leaves none, the
// allowed pCPU with the fewest siblings. A pCPU takes (pick_next) only a vCPU the rule admits:
// any of its own queue, which stacks nothing new, or one of another queue that stacks no sibling.
// A directed yield swaps the two siblings' places.
//
// Which admitted vCPU: one of the VM furthest behind in pCPU time per vCPU (the same VM on every
// pCPU), not the oldest, unless it has had over two slices more pCPU time of its own than the
// oldest; never the vCPU whose slice just ended when another is admitted. At 3x (limit 1, every
// pCPU holding one vCPU of each VM) nothing migrates, and with a plain FIFO each pCPU kept its
// own cyclic order of the VMs forever; pCPUs in different orders can run at most one VM whole
// and the others convoy. Naming the same VM everywhere brings the pCPUs into one order. The
// bound keeps it fair per vCPU: a VM far behind only because its other vCPUs idle gets its busy
// vCPU no more than two slices ahead of those sharing its pCPU.
//
// Pause loops: the spinner yields its pCPU to a queued vCPU the rule admits there, of the VM that
// has had the least pCPU time per vCPU, provided that VM has had no more than the spinner's
// (vm_behind, sched/vm_time.hpp). Without the yield, a VM whose next ticket holder waits in a
// queue spins away every sibling's slice (the pCPUs' slices end out of phase, so the VM stays half
// running: a ticket-lock convoy); without the condition, a convoyed VM hands its slices to the
// other VMs over and over and starves. With it, time only moves towards the VM that had less, so
// shares stay equal while the convoyed VM gives way to one that can use the pCPU. The VM furthest
// behind rather than the pCPU's next in line: at 3x (limit 1, every pCPU holding one vCPU of each
// VM) nothing migrates, so each pCPU keeps its own cyclic order of the VMs, and a yield to the
// next in line keeps it. With pCPUs in opposite orders at most one VM can ever run whole and the
// others convoy for good (Bochs: one VM at 0.7 of the others' rate). Every spinner naming the same VM
// reorders the pCPUs into one order and phase; the slice ends' choice above does so when the VM
// out of phase is itself the one behind, whose spinners' exits are futile. Yield: to the back of
// its own queue.
#include "sched/cpu_queues.hpp"
#include "sched/scheduler.hpp"
#include "sched/vm_time.hpp"

namespace sched {
namespace {

struct Balance {
    CpuQueues queues;
    uint32_t requeue_on[kMaxPcpus];  // after a directed yield: where the yielder waits
};

Balance& bal(Scheduler& s) { return s.state<Balance>(); }

uint32_t limit(const Scheduler& s, uint32_t vm)
{
    uint32_t n = s.vm(vm).count, p = s.pcpu_count();
    return n <= p ? 1 : (n + p - 1) / p;
}

// e's siblings queued on or running on `pcpu`, not counting e itself.
uint32_t siblings_on(const Scheduler& s, const Balance& b, const Entity& e, uint32_t pcpu)
{
    uint32_t n = 0;
    b.queues.at(pcpu).for_each([&](const Entity& x) {
        if (x.vm == e.vm && &x != &e) ++n;
    });
    const Entity* c = s.current(pcpu);
    if (c && c != &e && c->vm == e.vm && c->state == State::running) ++n;
    return n;
}

uint32_t place(Scheduler& s, Balance& b, const Entity& e)
{
    uint32_t lim = limit(s, e.vm);
    uint32_t p = b.queues.choose(s, e, [&](uint32_t q) { return siblings_on(s, b, e, q) < lim; });
    if (p != kNoPcpu) return p;
    // Affinity crowds the VM: stack as little as possible.
    uint32_t fewest = ~0u;
    for (uint32_t q = 0; q < s.pcpu_count(); ++q)
        if (s.may_run_on(e, q) && siblings_on(s, b, e, q) < fewest) fewest = siblings_on(s, b, e, q);
    return b.queues.choose(s, e, [&](uint32_t q) { return siblings_on(s, b, e, q) == fewest; });
}

const char* init(Scheduler& s)
{
    Balance& b = s.emplace_state<Balance>();
    for (uint32_t& p : b.requeue_on) p = kNoPcpu;
    for (uint32_t i = 0; i < s.entity_count(); ++i) {
        Entity& e = s.entity(i);
        if (e.state == State::runnable) b.queues.enqueue(s, e, place(s, b, e));
    }
    return nullptr;
}

void remove(Scheduler& s, Entity& e) { bal(s).queues.remove(e); }

void wake(Scheduler& s, Entity& e, Ticks) { bal(s).queues.enqueue(s, e, place(s, bal(s), e)); }

void block(Scheduler&, Entity&, Ticks) {}
void yield(Scheduler&, Entity&, Ticks) {}

// The target takes from's pCPU at once and from takes the target's place in the queues, so the
// number of the VM's vCPUs on each pCPU stays what it was.
bool yield_to(Scheduler& s, Entity& from, Entity& target, Ticks)
{
    Balance& b = bal(s);
    uint32_t p = from.pcpu, q = 0;
    if (from.state != State::running || !s.may_run_on(target, p)) return false;
    for (; q < s.pcpu_count() && !b.queues.at(q).contains(target); ++q) {}
    if (q == s.pcpu_count() || !s.may_run_on(from, q)) return false;
    b.queues.run_next(target, p);
    b.requeue_on[p] = q;
    return true;
}

// pick_next's rule for taking e onto pcpu: from its own queue always, from another only when
// that stacks no sibling.
bool admitted(const Scheduler& s, const Balance& b, const Entity& e, uint32_t pcpu)
{
    return b.queues.at(pcpu).contains(e) || siblings_on(s, b, e, pcpu) < limit(s, e.vm);
}

// How much more of its own pCPU time than the longest-waiting vCPU the vCPU of the VM furthest
// behind may have had and still pass it. Enough to let every pCPU follow the same order of the
// VMs; bounded so that a VM behind only because its other vCPUs idle cannot keep a pCPU from the
// vCPUs sharing it with its busy one (their shares then differ by at most this).
constexpr Ticks kMaxPassSlices = 2;

// The next vCPU: a yield's target first (run_next queued it as the oldest); otherwise, of the
// admitted vCPUs other than the one whose slice just ended, one of the VM furthest behind in pCPU
// time per vCPU, unless it has had more than kMaxPassSlices slices more than the oldest admitted
// one, which then runs (round-robin). Not the previous one: a VM behind would keep the pCPU for
// several slices in a row, which at 2x (one vCPU of each VM per pCPU) cost two start phases in
// ten in Bochs about 30% of their rate (sched/README.md).
Decision pick_next(Scheduler& s, uint32_t pcpu, Ticks now)
{
    Balance& b = bal(s);
    Entity* previous = s.current(pcpu);
    uint32_t back_to = b.requeue_on[pcpu] == kNoPcpu ? pcpu : b.requeue_on[pcpu];
    b.requeue_on[pcpu] = kNoPcpu;
    if (previous && previous->state == State::runnable) b.queues.enqueue(s, *previous, back_to);
    auto admit = [&](const Entity& e) { return admitted(s, b, e, pcpu); };
    Entity* next = b.queues.oldest(s, pcpu, admit);
    auto admit_other = [&](const Entity& e) { return &e != previous && admit(e); };
    Entity* behind = nullptr;
    if (next && next->queued_at != 0) behind = furthest_behind(s, b.queues, pcpu, now, admit_other);
    Ticks bound = kMaxPassSlices * s.params().slice;
    if (behind && time_run(*behind, now) <= time_run(*next, now) + bound) next = behind;
    if (next) b.queues.remove(*next);
    return Decision{next, next ? s.params().slice : 0};
}

Ticks tick(Scheduler&, uint32_t, Ticks) { return 0; }
// True (deschedule; pick_next then runs the target) when a vCPU the rule admits on e's pCPU
// belongs to the VM furthest behind and that VM is not ahead of e's in pCPU time per vCPU. The
// spinner pays for its spinning in its VM's time like for any running, so a VM that keeps
// convoying falls behind and stops yielding.
bool on_pause_loop(Scheduler& s, Entity& e, Ticks now)
{
    Balance& b = bal(s);
    Entity* target =
        furthest_behind(s, b.queues, e.pcpu, now, [&](const Entity& x) { return admitted(s, b, x, e.pcpu); });
    if (!target || !vm_behind(s, target->vm, e.vm, now)) return false;
    b.queues.run_next(*target, e.pcpu);
    return true;
}
void dump(const Scheduler& s, LineSink sink) { s.state<Balance>().queues.dump(s, "balance", sink); }

}  // namespace

extern const Policy kBalance = {
    "balance",
    "round-robin that never queues two vCPUs of a VM on one pCPU (balance scheduling)",
    init, remove, wake, block, yield, yield_to, pick_next, tick, on_pause_loop, dump,
};

}  // namespace sched
