#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "sched/credit.hpp"
#include "sched/lock_holder.hpp"
#include "tests/unit/sched_fixtures.hpp"
#include "tools/sim/experiment.hpp"

using namespace sched_test;

namespace {

constexpr Ticks kSecond = 1'000'000;

std::vector<std::string> trace_of(sim::Machine& m)
{
    std::vector<std::string> lines;
    m.scheduler().dump_trace(sched::LineSink{
        [](void* c, const char* line) { static_cast<std::vector<std::string>*>(c)->push_back(line); }, &lines});
    return lines;
}

bool contains(const std::vector<std::string>& lines, const std::string& line)
{
    return std::find(lines.begin(), lines.end(), line) != lines.end();
}

// The trace's yield_to argument for a directed yield that worked.
std::string yield_hit(uint32_t vm, uint32_t vcpu) { return std::to_string((vm << 16 | vcpu) | 1u << 31); }

// Busy for good with fixed hints.
class BusyIn final : public sim::Behaviour {
public:
    explicit BusyIn(sched::GuestHints hints) : hints_(hints) {}
    Ticks until_action(Ticks) override { return sim::kNever; }
    void run(Ticks from, Ticks to) override { ran += to - from; }
    sim::Action act(Ticks) override { return {}; }
    sched::GuestHints hints() const override { return hints_; }
    Ticks ran = 0;

private:
    sched::GuestHints hints_;
};

constexpr sched::GuestHints kKernel{true, false};
constexpr sched::GuestHints kKernelIrqOff{true, true};
constexpr sched::GuestHints kUser{false, false};

// Runs `ticks` in kernel mode, then halts for good (e.g. it released a lock and went idle).
class KernelThenHalt final : public sim::Behaviour {
public:
    explicit KernelThenHalt(Ticks ticks) : left_(ticks) {}
    Ticks until_action(Ticks) override { return left_; }
    void run(Ticks from, Ticks to) override { left_ -= to - from; }
    sim::Action act(Ticks) override
    {
        left_ = sim::kNever;
        return {sim::Action::halt, 0};
    }
    sched::GuestHints hints() const override { return kKernel; }

private:
    Ticks left_;
};

// User mode for `user` ticks of running, then spins in the kernel: a pause-loop exit every
// `window` ticks.
class LateSpinner final : public sim::Behaviour {
public:
    LateSpinner(Ticks user, Ticks window) : user_(user), window_(window), left_(user + window) {}
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
    sched::GuestHints hints() const override { return ran < user_ ? kUser : kKernel; }
    Ticks ran = 0;

private:
    Ticks user_, window_, left_;
};

// Alternates `user` ticks of user mode and `critical` ticks in a critical section at CPL 0 with
// interrupts off.
class CriticalSections final : public sim::Behaviour {
public:
    CriticalSections(Ticks user, Ticks critical) : user_(user), critical_(critical), left_(user) {}
    Ticks until_action(Ticks) override { return left_; }
    void run(Ticks from, Ticks to) override { left_ -= to - from; }
    sim::Action act(Ticks) override
    {
        inside_ = !inside_;
        left_ = inside_ ? critical_ : user_;
        return {};
    }
    sched::GuestHints hints() const override { return inside_ ? kKernelIrqOff : kUser; }

private:
    Ticks user_, critical_, left_;
    bool inside_ = false;
};

// Asks for a hint of `ask` ticks `lead` ticks before its slice ends, then every `again` ticks
// (0: once). The test tells it when a slice starts (slice_started) from Machine::on_decision.
class Hinter final : public sim::Behaviour {
public:
    Hinter(Ticks slice, Ticks lead, Ticks ask, Ticks again) : slice_(slice), lead_(lead), ask_(ask), again_(again) {}
    void slice_started(Ticks now)
    {
        next_ = now + slice_ - lead_;
        asks_left_ = true;
    }
    Ticks until_action(Ticks now) override
    {
        if (!asks_left_) return sim::kNever;
        return next_ > now ? next_ - now : 0;
    }
    void run(Ticks from, Ticks to) override { ran += to - from; }
    sim::Action act(Ticks now) override
    {
        if (again_) next_ = now + again_;
        else asks_left_ = false;
        return {sim::Action::hint, ask_};
    }
    Ticks ran = 0;

private:
    Ticks slice_, lead_, ask_, again_, next_ = 0;
    bool asks_left_ = false;
};

// A guest spinlock shared by the vCPUs of one VM.
struct GuestLock {
    int holder = -1;
    uint64_t acquired = 0;
};

// Works `work` ticks in user mode, takes the lock (spinning in the kernel while it is held, a
// pause-loop exit every `window` ticks of spinning), holds it `hold` ticks at CPL 0 with
// interrupts off, releases it; forever.
class LockUser final : public sim::Behaviour {
public:
    LockUser(GuestLock& lock, int id, Ticks work, Ticks hold, Ticks window)
        : lock_(lock), id_(id), work_(work), hold_(hold), window_(window), left_(work)
    {
    }
    Ticks until_action(Ticks) override { return phase_ == spin && lock_.holder < 0 ? 0 : left_; }
    void run(Ticks from, Ticks to) override
    {
        left_ -= to - from;
        ran += to - from;
        if (phase_ == spin) spun += to - from;
    }
    sim::Action act(Ticks) override
    {
        switch (phase_) {
        case work:
        case spin: {
            if (lock_.holder < 0) {
                lock_.holder = id_;
                ++lock_.acquired;
                phase_ = hold;
                left_ = hold_;
                return {};
            }
            bool exited = phase_ == spin;
            phase_ = spin;
            left_ = window_;
            return {exited ? sim::Action::pause_loop : sim::Action::none, 0};
        }
        case hold:
            lock_.holder = -1;
            phase_ = work;
            left_ = work_;
            return {};
        }
        return {};
    }
    sched::GuestHints hints() const override { return phase_ == hold ? kKernelIrqOff : phase_ == spin ? kKernel : kUser; }
    Ticks ran = 0, spun = 0;

private:
    enum Phase { work, spin, hold };
    GuestLock& lock_;
    int id_;
    Ticks work_, hold_, window_, left_;
    Phase phase_ = work;
};

// Lengths of the slices `e` got on pCPU 0 (from one decision to the next), split by whether the
// next decision handed the pCPU to someone else (preempted) or gave `e` a new slice.
struct Slices {
    std::vector<Ticks> preempted, renewed;
};

void record_slices(sim::Machine& m, const sched::Entity& e, Slices& out, Hinter* hinter = nullptr)
{
    auto started = std::make_shared<Ticks>(sim::kNever);
    m.on_decision = [&e, &out, hinter, started](const sim::Machine& machine, uint32_t pcpu) {
        if (pcpu != 0) return;
        if (*started != sim::kNever)
            (machine.running(0) == &e ? out.renewed : out.preempted).push_back(machine.now() - *started);
        *started = machine.running(0) == &e ? machine.now() : sim::kNever;
        if (hinter && machine.running(0) == &e) hinter->slice_started(machine.now());
    };
}

TEST(LockHolderAware, IsRegistered)
{
    const sched::Policy* p = sched::find_policy("lock-holder-aware");
    ASSERT_NE(p, nullptr);
    EXPECT_STREQ(p->name, "lock-holder-aware");
    EXPECT_NE(p->summary, nullptr);
}

// One pCPU, six vCPUs of one VM with 1 ms slices, in FIFO order:
//   0 k_old  kernel mode, preempted at 1000
//   1 k_new  kernel mode, preempted at 2000                      <- the lock holder
//   2 h      kernel mode, preempted at 3000; runs 10 more when yielded to at 3100, then halts
//   3 p      spins in the kernel from 3000: yields to h at 3100 (still spinning when queued)
//   4 u      user mode, preempted at 4110
//   5 s      user mode from 4110, spins in the kernel from 4210: pause-loop exit at 4310
// At 4310 the sibling preempted most recently in kernel mode that is not spinning is k_new.
struct YieldScenario {
    explicit YieldScenario(const char* policy_name) : m(policy_name_params(policy_name), slice_params(), 1, 256)
    {
        m.add_vm("vm");
        for (sim::Behaviour* b : std::initializer_list<sim::Behaviour*>{&k_old, &k_new, &h, &p, &u, &s}) m.add_vcpu(*b);
    }
    static const sched::Policy& policy_name_params(const char* name) { return policy(name); }
    static sched::Params slice_params()
    {
        sched::Params params = sched_test::params();
        params.slice = 1000;
        return params;
    }
    sched::Entity& entity(uint32_t i) { return m.vcpu(i); }

    BusyIn k_old{kKernel}, k_new{kKernel};
    KernelThenHalt h{1010};
    Spinner p{100};
    BusyIn u{kUser};
    LateSpinner s{100, 100};
    sim::Machine m;
};

TEST(LockHolderAware, DirectedYieldPicksTheMostRecentlyPreemptedKernelSiblingThatIsNotSpinning)
{
    YieldScenario sc("lock-holder-aware");
    ASSERT_EQ(sc.m.start(), nullptr);
    sc.m.run_until(4311);
    EXPECT_EQ(sc.m.running(0), &sc.entity(1));  // k_new runs in the spinner's place
    auto trace = trace_of(sc.m);
    EXPECT_TRUE(contains(trace, "sched-trace 0 3100 yield_to 0 3 " + yield_hit(0, 2)));
    EXPECT_TRUE(contains(trace, "sched-trace 0 4310 yield_to 0 5 " + yield_hit(0, 1)));
    EXPECT_EQ(sc.entity(5).metrics.directed_yields, 1u);
    EXPECT_EQ(sc.entity(5).metrics.directed_yield_hits, 1u);
    EXPECT_EQ(sc.entity(3).metrics.directed_yield_hits, 1u);
    // The state the choice rested on, as the scenario set it up.
    EXPECT_TRUE(sc.entity(3).spinning);
    EXPECT_GT(sc.entity(3).last_descheduled, sc.entity(1).last_descheduled);
    EXPECT_GT(sc.entity(4).last_descheduled, sc.entity(1).last_descheduled);
    EXPECT_FALSE(sc.entity(4).hints.kernel_mode);
    EXPECT_EQ(sc.entity(2).state, sched::State::blocked);
}

// The ranking itself, on hand-set hints: a sibling preempted inside a critical section beats a
// more recent one outside; not spinning beats spinning; among spinners (ticket waiters) the one
// descheduled first, which drew the earlier ticket.
TEST(LockHolderAware, LikelyLockHolderRanksCriticalSectionsThenNonSpinnersThenTheOldestSpinner)
{
    sim::Machine m(policy("round-robin"), params(), 1);
    sim::Busy b[5];
    m.add_vm("vm");
    for (sim::Busy& x : b) m.add_vcpu(x);
    ASSERT_EQ(m.start(), nullptr);
    auto set = [&](uint32_t i, bool spinning, bool irq_off, Ticks when) {
        sched::Entity& e = m.vcpu(i);
        e.spinning = spinning;
        e.hints = {true, irq_off};
        e.last_descheduled = when;
    };
    sched::Entity& spinner = m.vcpu(0);
    set(0, true, true, 0);
    set(1, true, true, 300);   // spinner, later ticket
    set(2, true, true, 200);   // spinner, earlier ticket
    set(3, false, false, 500); // not spinning, interrupts on, most recent
    set(4, false, true, 100);  // not spinning, interrupts off: in a critical section
    auto all = [](const sched::Entity&) { return true; };
    auto pick = [&](auto eligible) { return sched::likely_lock_holder(m.scheduler(), spinner, eligible); };
    EXPECT_EQ(pick(all), &m.vcpu(4));
    EXPECT_EQ(pick([&](const sched::Entity& e) { return &e != &m.vcpu(4); }), &m.vcpu(3));
    EXPECT_EQ(pick([&](const sched::Entity& e) { return e.spinning; }), &m.vcpu(2));
    EXPECT_EQ(pick([](const sched::Entity&) { return false; }), nullptr);
    m.vcpu(4).hints.kernel_mode = false;  // preempted in user mode: never a kernel lock's holder
    EXPECT_EQ(pick(all), &m.vcpu(3));
}

TEST(LockHolderAware, CreditYieldsTheSameSpinnerToTheNextInLineWithoutChoosing)
{
    YieldScenario sc("credit");
    ASSERT_EQ(sc.m.start(), nullptr);
    sc.m.run_until(4311);
    EXPECT_EQ(sc.entity(5).metrics.directed_yields, 0u);
    EXPECT_EQ(sc.entity(3).metrics.directed_yields, 0u);
    // p's first pause-loop exit (3100) gave the pCPU to u, next in FIFO order, for a whole slice;
    // s's (4300: it ran from 4100, 100 in user mode, 100 spinning) to the next in line, k_old,
    // not k_new.
    auto trace = trace_of(sc.m);
    EXPECT_TRUE(contains(trace, "sched-trace 0 3100 run 0 4 1000"));
    EXPECT_TRUE(contains(trace, "sched-trace 0 4300 run 0 0 1000"));
    EXPECT_EQ(sc.m.running(0), &sc.entity(0));
}

TEST(LockHolderAware, WithoutACandidateAPauseLoopExitFallsBackToCreditsYield)
{
    // Siblings: one halted, one preempted in user mode (the spinner spins in the kernel), one
    // pinned to the other pCPU. None can hold the kernel lock and run in the spinner's place, so
    // there is no directed yield; the spinner still gives its pCPU to whoever waits for it.
    sim::Machine m(policy("lock-holder-aware"), params(), 2);
    Spinner spin(50);
    sim::Busy halted, user;
    BusyIn elsewhere(kKernel), other(kUser);
    m.add_vm("vm");
    sched::Entity& s = m.add_vcpu(spin, 0b01);
    m.add_vcpu(halted, 0, true);
    m.add_vcpu(user, 0b01);
    sched::Entity& pinned = m.add_vcpu(elsewhere, 0b10);
    m.add_vm("other");
    m.add_vcpu(other, 0b10);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_GT(s.metrics.pause_loop_exits, 1000u);
    EXPECT_EQ(s.metrics.directed_yields, 0u);
    EXPECT_GT(pinned.metrics.preemptions, 10u);  // it was queued, in kernel mode, at times
    // While the busy sibling has credit, each turn of the spinner ends at its first exit (it ran
    // half of the pCPU when pause loops were ignored); once the sibling is OVER, the UNDER
    // spinner keeps its pCPU: a yield never hands out more than the credit allows.
    EXPECT_LT(double(spin.ran), 0.4 * kSecond);
    EXPECT_GT(double(user.ran), 0.6 * kSecond);
}

TEST(LockHolderAware, CreditsYieldGoesBeforeASpinningSibling)
{
    // Two siblings that only spin, in the kernel, on one pCPU: each is queued spinning when the
    // other exits. While credit's yield passes the pCPU, a directed yield would only swap the
    // spinners (a ticket-lock convoy's hand-round), so there is none.
    sim::Machine m(policy("lock-holder-aware"), params(), 1);
    Spinner a(50, true), b(50, true);
    m.add_vm("vm");
    sched::Entity& ea = m.add_vcpu(a);
    sched::Entity& eb = m.add_vcpu(b);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_GT(ea.metrics.pause_loop_exits + eb.metrics.pause_loop_exits, 1000u);
    EXPECT_EQ(ea.metrics.directed_yields + eb.metrics.directed_yields, 0u);
    EXPECT_GT(ea.metrics.switches_in + eb.metrics.switches_in, 10u);  // credit's yields
    EXPECT_EQ(a.ran + b.ran, kSecond);
}

TEST(LockHolderAware, AnExitNobodyElseWantsThePcpuForPullsTheOldestSpinningSibling)
{
    // pCPU 0 only ever has the spinner `a`; its siblings spin queued on pCPU 1 behind another
    // VM. Nobody waits for pCPU 0, so rather than spin on (a futile exit) `a` hands it to the
    // sibling descheduled first: a ticket waiter whose turn has probably come.
    sim::Machine m(policy("lock-holder-aware"), params(), 2);
    sim::Busy other;
    Spinner a(50, true), b(50, true), c(50, true);
    m.add_vm("other");
    m.add_vcpu(other, 0b10);
    m.add_vm("vm");
    sched::Entity& ea = m.add_vcpu(a, 0b01);
    sched::Entity& eb = m.add_vcpu(b, 0b11);
    sched::Entity& ec = m.add_vcpu(c, 0b11);
    int pulled = 0, oldest = 0;
    m.on_decision = [&](const sim::Machine& machine, uint32_t pcpu) {
        const sched::Entity* now_running = machine.running(pcpu);
        if (pcpu != 0 || (now_running != &eb && now_running != &ec)) return;
        const sched::Entity& rival = now_running == &eb ? ec : eb;
        ++pulled;
        if (rival.state != sched::State::runnable || now_running->last_descheduled <= rival.last_descheduled) ++oldest;
    };
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_GT(ea.metrics.directed_yield_hits, 10u);
    EXPECT_EQ(ea.metrics.directed_yields, ea.metrics.directed_yield_hits);
    EXPECT_GT(pulled, 10);
    EXPECT_EQ(oldest, pulled);
}

TEST(LockHolderAware, APauseLoopExitWithNobodyWaitingIsFutile)
{
    sim::Machine m(policy("lock-holder-aware"), params(), 1);
    Spinner spin(50);
    sim::Busy halted;
    m.add_vm("vm");
    sched::Entity& s = m.add_vcpu(spin);
    m.add_vcpu(halted, 0, true);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_GT(s.metrics.pause_loop_exits, 5000u);
    EXPECT_EQ(spin.ran, kSecond);
    ASSERT_EQ(m.running(0), &s);
    EXPECT_FALSE(m.scheduler().pause_loop(s, m.now()));
}

TEST(LockHolderAware, DirectedYieldReturnsTrueAndTheTargetRunsAtOnce)
{
    // Spinner and a sibling preempted in kernel mode on one pCPU: every pause-loop exit hands
    // the pCPU to the sibling, which runs at once.
    sim::Machine m(policy("lock-holder-aware"), params(), 1);
    Spinner spin(50);
    BusyIn holder(kKernel);
    m.add_vm("vm");
    sched::Entity& s = m.add_vcpu(spin);
    sched::Entity& h = m.add_vcpu(holder);
    int yields_seen = 0, target_ran_next = 0;
    Ticks yielded_at = sim::kNever;
    m.on_decision = [&](const sim::Machine& machine, uint32_t) {
        if (yielded_at == machine.now() && machine.running(0) == &h) ++target_ran_next;
        yielded_at = sim::kNever;
        if (s.metrics.directed_yield_hits > uint64_t(yields_seen)) {
            yields_seen = int(s.metrics.directed_yield_hits);
            yielded_at = machine.now();
            if (machine.running(0) == &h) ++target_ran_next;
        }
    };
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_GT(yields_seen, 10);
    EXPECT_EQ(target_ran_next, yields_seen);
    EXPECT_EQ(s.metrics.directed_yields, s.metrics.directed_yield_hits);
    // After its first slice (the holder had not run yet: no kernel-mode candidate), every turn
    // of the spinner ends at its first pause-loop exit; the pCPU never idles.
    EXPECT_LE(spin.ran, params().slice + 50 * Ticks(yields_seen + 1));
    EXPECT_EQ(spin.ran + holder.ran, kSecond);
}

TEST(LockHolderAware, DeferralIsBoundedToOneMaxDeferralPerSlice)
{
    auto slices_of = [](const char* name) {
        sim::Machine m(policy(name), params(), 1);
        BusyIn irqoff(kKernelIrqOff);
        sim::Busy sibling;
        m.add_vm("vm");
        sched::Entity& e = m.add_vcpu(irqoff);
        m.add_vcpu(sibling);
        Slices slices;
        record_slices(m, e, slices);
        EXPECT_EQ(m.start(), nullptr);
        m.run_until(kSecond);
        EXPECT_EQ(e.metrics.deferrals, name == std::string("credit") ? 0u : slices.preempted.size());
        EXPECT_GT(sibling.ran, kSecond * 45 / 100);
        return slices;
    };
    const sched::Params p = params();
    Slices lha = slices_of("lock-holder-aware");
    ASSERT_GT(lha.preempted.size(), 40u);
    for (Ticks length : lha.preempted) EXPECT_EQ(length, p.slice + p.max_deferral);
    for (Ticks length : lha.renewed) EXPECT_EQ(length, p.slice);  // nobody to defer for
    Slices credit = slices_of("credit");
    ASSERT_GT(credit.preempted.size(), 40u);
    for (Ticks length : credit.preempted) EXPECT_EQ(length, p.slice);
}

TEST(LockHolderAware, DeferralLetsShortCriticalSectionsFinishBeforePreemption)
{
    auto preempted_inside = [](const char* name) {
        sim::Machine m(policy(name), params(), 1);
        // 40 ticks at CPL 0 with IF=0 (shorter than max_deferral, 50) in every 97: slices end
        // anywhere in the cycle.
        CriticalSections cs(57, 40);
        sim::Busy other;
        m.add_vm("vm");
        sched::Entity& e = m.add_vcpu(cs);
        m.add_vm("other");
        m.add_vcpu(other);
        EXPECT_EQ(m.start(), nullptr);
        m.run_until(kSecond);
        EXPECT_GT(e.metrics.preemptions, 40u);
        return e.metrics.preempted_kernel_irqoff;
    };
    EXPECT_EQ(preempted_inside("lock-holder-aware"), 0u);
    EXPECT_GT(preempted_inside("credit"), 10u);
}

TEST(LockHolderAware, HintIsHonouredUpToWhatTheCoreGranted)
{
    const sched::Params p = params();  // max_hint 100, hint_budget 500
    struct Case {
        const char* policy;
        Ticks ask, expected;
    } cases[] = {
        {"lock-holder-aware", 80, p.slice - 50 + 80},   // asked 50 before the end: 30 more
        {"lock-holder-aware", 1'000'000, p.slice - 50 + p.max_hint},  // bounded by max_hint
        {"credit", 80, p.slice},                         // credit ignores hints
    };
    for (const Case& c : cases) {
        sim::Machine m(policy(c.policy), p, 1);
        Hinter hinter(p.slice, 50, c.ask, 0);
        sim::Busy sibling;
        m.add_vm("vm");
        sched::Entity& e = m.add_vcpu(hinter);
        m.add_vcpu(sibling);
        Slices slices;
        record_slices(m, e, slices, &hinter);
        ASSERT_EQ(m.start(), nullptr);
        m.run_until(kSecond);
        ASSERT_GT(slices.preempted.size(), 40u) << c.policy << " " << c.ask;
        for (Ticks length : slices.preempted) EXPECT_EQ(length, c.expected) << c.policy << " " << c.ask;
        for (Ticks length : slices.renewed) EXPECT_EQ(length, p.slice) << c.policy << " " << c.ask;
        EXPECT_GT(e.metrics.hints_granted, 40u);
    }
}

TEST(LockHolderAware, HintsAskedOverAndOverStayWithinTheBudget)
{
    const sched::Params p = params();
    sim::Machine m(policy("lock-holder-aware"), p, 1);
    Hinter greedy(p.slice, 50, p.max_hint, 10);  // from 50 before the end, every 10 ticks
    sim::Busy sibling;
    m.add_vm("vm");
    sched::Entity& e = m.add_vcpu(greedy);
    m.add_vcpu(sibling);
    Slices slices;
    record_slices(m, e, slices, &greedy);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    ASSERT_GT(slices.preempted.size(), 40u);
    Ticks longest = *std::max_element(slices.preempted.begin(), slices.preempted.end());
    // What the core grants a vCPU is at most hint_budget per slice-long window; one slice's
    // extension can span two windows.
    EXPECT_LE(longest, p.slice + 2 * p.hint_budget);
    EXPECT_GT(longest, p.slice);
    EXPECT_GT(e.metrics.deferrals, 40u);
    EXPECT_NEAR(double(greedy.ran), kSecond / 2.0, 0.02 * kSecond);  // no unfair advantage over time
}

struct LockRun {
    double locky, batch;  // run time per VM
    uint64_t acquired;
};

// A VM of four vCPUs that take one lock (50 ticks of work, 30 holding it) beside a VM of four
// busy vCPUs, on two pCPUs.
LockRun lock_workload(const char* name)
{
    sim::Machine m(policy(name), params(), 2);
    GuestLock lock;
    std::vector<std::unique_ptr<LockUser>> users;
    sim::Busy batch[4];
    m.add_vm("locky");
    for (int i = 0; i < 4; ++i) {
        users.push_back(std::make_unique<LockUser>(lock, i, 50, 30, 20));
        m.add_vcpu(*users.back());
    }
    m.add_vm("batch");
    for (auto& b : batch) m.add_vcpu(b);
    EXPECT_EQ(m.start(), nullptr);
    m.run_until(3 * kSecond);
    LockRun r{0, 0, lock.acquired};
    for (auto& u : users) r.locky += double(u->ran);
    for (auto& b : batch) r.batch += double(b.ran);
    return r;
}

TEST(LockHolderAware, FairOverTimeLikeCreditAndMoreLockThroughput)
{
    LockRun lha = lock_workload("lock-holder-aware");
    LockRun credit = lock_workload("credit");
    EXPECT_GE(sim::jain_index({lha.locky, lha.batch}), 0.99) << lha.locky << " " << lha.batch;
    EXPECT_GE(sim::jain_index({credit.locky, credit.batch}), 0.99) << credit.locky << " " << credit.batch;
    EXPECT_NEAR(lha.locky / (lha.locky + lha.batch), credit.locky / (credit.locky + credit.batch), 0.03);
    // Lock holders preempted under credit leave their siblings spinning; here they are not.
    EXPECT_GT(double(lha.acquired), 1.5 * double(credit.acquired)) << lha.acquired << " " << credit.acquired;
}

}  // namespace
