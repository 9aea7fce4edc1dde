#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "sched/credit.hpp"
#include "tests/unit/sched_fixtures.hpp"
#include "tools/sim/experiment.hpp"

using namespace sched_test;

namespace {

constexpr Ticks kSecond = 1'000'000;

// Halted until `at` (its timer), then busy for good.
class BusyFrom final : public sim::Behaviour {
public:
    explicit BusyFrom(Ticks at) : at_(at) {}
    Ticks until_action(Ticks) override { return sim::kNever; }
    void run(Ticks from, Ticks to) override { ran += to - from; }
    sim::Action act(Ticks) override { return {}; }
    Ticks wake_time() const override { return at_; }
    Ticks ran = 0;

private:
    Ticks at_;
};

// Run time per VM over [0, end) of `policy`: VMs with 1, 2 and 3 busy vCPUs on 2 pCPUs.
std::vector<double> vm_shares_1_2_3(const char* policy_name, Ticks end)
{
    sim::Machine m(policy(policy_name), params(), 2);
    sim::Busy v[6];
    int next = 0;
    for (int vm = 0; vm < 3; ++vm) {
        m.add_vm(("vm" + std::to_string(vm)).c_str());
        for (int i = 0; i <= vm; ++i) m.add_vcpu(v[next++]);
    }
    EXPECT_EQ(m.start(), nullptr);
    m.run_until(end);
    return {double(v[0].ran), double(v[1].ran + v[2].ran), double(v[3].ran + v[4].ran + v[5].ran)};
}

TEST(Credit, IsRegistered)
{
    const sched::Policy* p = sched::find_policy("credit");
    ASSERT_NE(p, nullptr);
    EXPECT_STREQ(p->name, "credit");
    EXPECT_NE(p->summary, nullptr);
}

TEST(Credit, EqualWeightsGiveVmsEqualSharesWhateverTheirVcpuCounts)
{
    std::vector<double> credit = vm_shares_1_2_3("credit", 3 * kSecond);
    EXPECT_GE(sim::jain_index(credit), 0.99) << credit[0] << " " << credit[1] << " " << credit[2];
    for (double share : credit) EXPECT_NEAR(share, 2.0 * kSecond, 0.03 * 2 * kSecond);
    // The index tells the policies apart: round-robin shares by vCPU (1:2:3).
    std::vector<double> rr = vm_shares_1_2_3("round-robin", 3 * kSecond);
    EXPECT_LT(sim::jain_index(rr), 0.9);
}

TEST(Credit, Weights512To256GiveTwoToOne)
{
    sim::Machine m(policy("credit"), params(), 1);
    sim::Busy heavy, light;
    m.add_vm("heavy", 512);
    m.add_vcpu(heavy);
    m.add_vm("light", 256);
    m.add_vcpu(light);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(3 * kSecond);
    EXPECT_EQ(heavy.ran + light.ran, 3 * kSecond);
    EXPECT_NEAR(double(heavy.ran) / double(light.ran), 2.0, 0.06);
}

TEST(Credit, WeightsHoldOnSeveralPcpus)
{
    // Two vCPUs each on two pCPUs: 2:1 is 4/3 and 2/3 of a pCPU per VM.
    sim::Machine m(policy("credit"), params(), 2);
    sim::Busy h[2], l[2];
    m.add_vm("heavy", 512);
    for (auto& b : h) m.add_vcpu(b);
    m.add_vm("light", 256);
    for (auto& b : l) m.add_vcpu(b);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(3 * kSecond);
    double heavy = double(h[0].ran + h[1].ran), light = double(l[0].ran + l[1].ran);
    EXPECT_NEAR(heavy / light, 2.0, 0.06);
    EXPECT_NEAR(heavy + light, 6.0 * kSecond, 1);
}

std::string dump_of(sim::Machine& m)
{
    std::vector<std::string> lines;
    m.scheduler().dump_metrics(m.now(), sched::LineSink{[](void* c, const char* line) {
                                                             static_cast<std::vector<std::string>*>(c)->push_back(line);
                                                         },
                                                         &lines});
    std::string all;
    for (auto& l : lines) all += l + "\n";
    return all;
}

TEST(Credit, WhatAVmsVcpusCannotUseGoesToTheOthersByWeight)
{
    // Weights 1024:512:256 on two pCPUs (60 ms a period), but the heavy VM has one vCPU: its
    // share is one pCPU (30 ms, not 4/7 of 60), and the rest is shared 2:1 by the others.
    sim::Machine m(policy("credit"), params(), 2);
    sim::Busy heavy, mid[2], low[2];
    m.add_vm("heavy", 1024);
    m.add_vcpu(heavy);
    m.add_vm("mid", 512);
    for (auto& b : mid) m.add_vcpu(b);
    m.add_vm("low", 256, 10);
    for (auto& b : low) m.add_vcpu(b);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(100'000);
    std::string dump = dump_of(m);
    // The capped VM gets no more than its cap: 10% of 30 ms; the mid VM what is left.
    EXPECT_NE(dump.find("credit vm heavy: weight=1024 cap=0% share=30000 active=1"), std::string::npos) << dump;
    EXPECT_NE(dump.find("credit vm mid: weight=512 cap=0% share=27000 active=2"), std::string::npos) << dump;
    EXPECT_NE(dump.find("credit vm low: weight=256 cap=10% share=3000 active=2"), std::string::npos) << dump;
    EXPECT_NE(dump.find("credit vcpu mid.1: credit="), std::string::npos) << dump;
}

TEST(Credit, AVmNeverGetsMoreThanItsVcpusCanUse)
{
    // Weight 4:1, but the heavy VM has one vCPU on two pCPUs: it gets one pCPU, not 8/5 of
    // one, and the light VM's two vCPUs get the other pCPU, not just their 1/5 of the machine.
    sim::Machine m(policy("credit"), params(), 2);
    sim::Busy heavy, l[2];
    m.add_vm("heavy", 1024);
    m.add_vcpu(heavy);
    m.add_vm("light", 256);
    for (auto& b : l) m.add_vcpu(b);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(2 * kSecond);
    EXPECT_NEAR(double(heavy.ran), 2.0 * kSecond, 0.03 * 2 * kSecond);
    EXPECT_NEAR(double(l[0].ran + l[1].ran), 2.0 * kSecond, 0.03 * 2 * kSecond);
}

TEST(Credit, CapHalfAPcpuHoldsOnAnOtherwiseIdleMachine)
{
    sched::Params p = params();
    sim::Machine m(policy("credit"), p, 2);
    sim::Busy capped;
    m.add_vm("capped", 256, 50);
    sched::Entity& e = m.add_vcpu(capped);
    // Per period too: never more than half a pCPU in any credit period.
    Ticks last = 0, ran_at_last = 0, worst = 0;
    m.on_step = [&](const sim::Machine& machine) {
        if (machine.now() < last + p.credit_period) return;
        worst = std::max(worst, capped.ran - ran_at_last);
        last = machine.now();
        ran_at_last = capped.ran;
    };
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(3 * kSecond);
    EXPECT_LE(capped.ran, 3 * kSecond / 2);
    EXPECT_GE(capped.ran, 3 * kSecond / 2 - p.credit_period);
    EXPECT_LE(worst, p.credit_period / 2);
    EXPECT_GT(e.metrics.runnable, kSecond);  // parked: runnable, but held back
}

TEST(Credit, CapIsForTheWholeVmAndOthersGetTheRest)
{
    sched::Params p = params();
    sim::Machine m(policy("credit"), p, 2);
    sim::Busy c[3], other;
    m.add_vm("capped", 256, 50);
    for (auto& b : c) m.add_vcpu(b);
    m.add_vm("other");
    m.add_vcpu(other);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(3 * kSecond);
    Ticks capped = c[0].ran + c[1].ran + c[2].ran;
    EXPECT_LE(capped, 3 * kSecond / 2 + p.credit_period / 10);
    EXPECT_GE(capped, 3 * kSecond / 2 - p.credit_period);
    // The other VM's share is a whole pCPU (the capped VM's unusable part goes to it), though
    // FIFO among vCPUs with credit lets the capped vCPUs push it off now and then.
    EXPECT_GT(other.ran, 3 * kSecond * 8 / 10);
}

TEST(Credit, CapHoldsForVcpusPinnedApartOnAnIdleMachine)
{
    // Each pinned vCPU is parked on its own pCPU; both pCPUs wake for the refill by themselves.
    sched::Params p = params();
    sim::Machine m(policy("credit"), p, 2);
    sim::Busy a, b;
    m.add_vm("capped", 256, 50);
    m.add_vcpu(a, 0b01);
    m.add_vcpu(b, 0b10);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(3 * kSecond);
    EXPECT_LE(a.ran + b.ran, 3 * kSecond / 2 + p.credit_period / 10);
    EXPECT_GE(a.ran + b.ran, 3 * kSecond / 2 - p.credit_period);
    EXPECT_NEAR(double(a.ran), double(b.ran), double(p.credit_period));
}

TEST(Credit, AnEndedVcpuNeverRunsAgainAndTheOthersShareItsTime)
{
    sim::Machine m(policy("credit"), params(), 1);
    sim::Busy a, b, c;
    m.add_vm("ab");
    sched::Entity& ea = m.add_vcpu(a);
    m.add_vcpu(b);
    m.add_vm("c");
    m.add_vcpu(c);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    m.scheduler().end(ea, m.now());
    Ticks a_before = a.ran, b_before = b.ran, c_before = c.ran;
    m.run_until(2 * kSecond);
    EXPECT_EQ(a.ran, a_before);
    EXPECT_NEAR(double(b.ran - b_before), kSecond / 2.0, 0.02 * kSecond);
    EXPECT_NEAR(double(c.ran - c_before), kSecond / 2.0, 0.02 * kSecond);
}

TEST(Credit, IdlePcpuNeverWaitsBesideRunnableWorkItMayRun)
{
    sim::Machine m(policy("credit"), params(), 3);
    sim::Busy busy[3], pinned;
    Periodic io[3] = {Periodic(700, 1300), Periodic(3000, 4000), Periodic(50, 20000)};
    sim::Busy capped;
    m.add_vm("busy", 512);
    for (auto& b : busy) m.add_vcpu(b);
    m.add_vcpu(pinned, 0b010);
    m.add_vm("io");
    m.add_vcpu(io[0], 0b100);
    m.add_vcpu(io[1]);
    m.add_vcpu(io[2], 0b011);
    m.add_vm("capped", 256, 30);
    m.add_vcpu(capped);
    uint64_t checks = 0, idle_instants = 0;
    std::string violation;
    m.on_step = [&](const sim::Machine& machine) {
        ++checks;
        const sched::Scheduler& s = machine.scheduler();
        for (uint32_t p = 0; p < machine.pcpus(); ++p) {
            if (machine.running(p)) continue;
            ++idle_instants;
            for (uint32_t i = 0; i < s.entity_count(); ++i) {
                const sched::Entity& e = s.entity(i);
                if (e.state == sched::State::runnable && !sched::credit::parked(s, e) && s.may_run_on(e, p))
                    violation = "pcpu " + std::to_string(p) + " idle at " + std::to_string(machine.now()) +
                                " while vcpu " + std::to_string(i) + " waits";
            }
        }
    };
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_EQ(violation, "");
    EXPECT_GT(checks, 1000u);
    // The busy VM alone would keep every pCPU busy: stop it and the machine must idle sometimes.
    for (uint32_t i = 0; i < 4; ++i) m.scheduler().end(m.vcpu(i), m.now());
    m.run_until(2 * kSecond);
    EXPECT_EQ(violation, "");
    EXPECT_GT(idle_instants, 100u);
    EXPECT_GT(io[2].halts, 40u);
}

TEST(Credit, NoEntityRunsOutsideItsAffinityOrOnTwoPcpus)
{
    sim::Machine m(policy("credit"), params(), 3);
    sim::Busy b[5];
    Periodic io(500, 1500);
    m.add_vm("a");
    m.add_vcpu(b[0], 0b001);
    m.add_vcpu(b[1], 0b001);
    m.add_vcpu(b[2], 0b110);
    m.add_vm("b", 512);
    m.add_vcpu(b[3], 0b100);
    m.add_vcpu(b[4]);
    m.add_vcpu(io, 0b010);
    PlacementChecker placement;
    placement.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(2 * kSecond);
    EXPECT_EQ(placement.violations, 0);
    // The two vCPUs pinned to pCPU 0 share it; nobody else may help them.
    EXPECT_NEAR(double(b[0].ran), double(kSecond), 0.02 * kSecond);
    EXPECT_NEAR(double(b[1].ran), double(kSecond), 0.02 * kSecond);
    EXPECT_EQ(b[0].ran + b[1].ran, 2 * kSecond);
    EXPECT_GT(io.halts, 500u);
}

TEST(Credit, BlockedVcpusAccrueNothing)
{
    sched::Params p = params();
    sim::Machine m(policy("credit"), p, 1);
    sim::Busy early;
    BusyFrom late(kSecond);
    m.add_vm("early");
    m.add_vcpu(early);
    m.add_vm("late");
    sched::Entity& e = m.add_vcpu(late, 0, true);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond / 2);
    // A halted VM is not active: the running one's share is the whole pCPU.
    std::string dump = dump_of(m);
    EXPECT_NE(dump.find("credit vm early: weight=256 cap=0% share=30000 active=1"), std::string::npos) << dump;
    EXPECT_NE(dump.find("credit vm late: weight=256 cap=0% share=0 active=0"), std::string::npos) << dump;
    m.run_until(kSecond);
    EXPECT_EQ(early.ran, kSecond);  // alone, it had everything
    EXPECT_LE(e.credit, 0);         // a second of being halted earned nothing
    // No catching up afterwards: from its wake on, the late one gets half, not more.
    m.run_until(2 * kSecond);
    EXPECT_NEAR(double(late.ran), kSecond / 2.0, double(p.credit_period));
    EXPECT_NEAR(double(early.ran - kSecond), kSecond / 2.0, double(p.credit_period));
    // Nor does a vCPU bank credit it cannot use.
    for (uint32_t i = 0; i < 2; ++i)
        EXPECT_LE(m.scheduler().entity(i).credit, int64_t(p.credit_period / 2)) << i;
}

TEST(Credit, AMostlyIdleVcpuBanksNoMoreThanOnePeriodsShare)
{
    sched::Params p = params();
    sim::Machine m(policy("credit"), p, 1);
    sim::Busy busy;
    Periodic io(1000, 9000);  // uses a tenth of the pCPU, is due half
    m.add_vm("busy");
    m.add_vcpu(busy);
    m.add_vm("io");
    sched::Entity& e = m.add_vcpu(io);
    Ticks most = 0;
    m.on_step = [&](const sim::Machine&) { most = std::max(most, Ticks(e.credit > 0 ? e.credit : 0)); };
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_EQ(most, p.credit_period / 2);
    EXPECT_NEAR(double(io.ran), kSecond / 10.0, 1000);  // its first burst waited one slice
}

// Periodic (burst, then halted for `sleep`) until `busy_from`, busy after.
class IoThenBusy final : public sim::Behaviour {
public:
    IoThenBusy(Ticks burst, Ticks sleep, Ticks busy_from) : burst_(burst), sleep_(sleep), from_(busy_from), left_(burst) {}
    Ticks until_action(Ticks now) override { return now >= from_ ? sim::kNever : left_; }
    void run(Ticks from, Ticks to) override
    {
        left_ = left_ > to - from ? left_ - (to - from) : 0;
        ran += to - from;
    }
    sim::Action act(Ticks now) override
    {
        wake_ = now + sleep_;
        left_ = burst_;
        return {sim::Action::halt, 0};
    }
    Ticks wake_time() const override { return wake_; }
    Ticks ran = 0;

private:
    Ticks burst_, sleep_, from_, left_, wake_ = sim::kNever;
};

TEST(Credit, DebtIsBoundedToOnePeriod)
{
    // For a second the busy vCPU runs far beyond its half share (the other VM mostly idles):
    // its debt stops at one period. When the other turns busy, they share half and half.
    sched::Params p = params();
    sim::Machine m(policy("credit"), p, 1);
    sim::Busy busy;
    IoThenBusy other(1000, 9000, kSecond);
    m.add_vm("busy");
    sched::Entity& e = m.add_vcpu(busy);
    m.add_vm("other");
    m.add_vcpu(other);
    int64_t least = 0;
    m.on_step = [&](const sim::Machine&) { least = std::min(least, e.credit); };
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_GT(busy.ran, kSecond * 85 / 100);
    // Clamped to -credit_period at each refill, then charged for at most one period's running.
    EXPECT_GE(least, -2 * int64_t(p.credit_period));
    EXPECT_LT(least, -int64_t(p.credit_period / 2));
    m.run_until(kSecond + 100'000);
    Ticks before = busy.ran;
    m.run_until(kSecond + 400'000);
    EXPECT_NEAR(double(busy.ran - before), 150'000.0, 10'000.0);
}

TEST(Credit, ThreeBusyVcpusOnTwoPcpusEachGetTwoThirds)
{
    sim::Machine m(policy("credit"), params(), 2);
    sim::Busy v[3];
    m.add_vm("vm");
    for (auto& b : v) m.add_vcpu(b);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(3 * kSecond);
    for (auto& b : v) EXPECT_NEAR(double(b.ran), 2.0 * kSecond, 0.02 * kSecond) << &b - v;
}

TEST(Credit, ThreeBusyVmsOnTwoPcpusEachGetTwoThirds)
{
    sim::Machine m(policy("credit"), params(), 2);
    sim::Busy v[3];
    for (auto& b : v) {
        m.add_vm("vm");
        m.add_vcpu(b);
    }
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(3 * kSecond);
    for (auto& b : v) EXPECT_NEAR(double(b.ran), 2.0 * kSecond, 0.02 * kSecond) << &b - v;
}

TEST(Credit, WakingVcpuWithCreditIsBoostedAheadOfBusyOnes)
{
    // An I/O-bound vCPU beside two CPU hogs on one pCPU: boosted, it runs as soon as it wakes.
    auto steal = [](const char* name) {
        sim::Machine m(policy(name), params(), 1);
        sim::Busy hog[2];
        Periodic io(200, 1800);
        m.add_vm("hogs");
        for (auto& b : hog) m.add_vcpu(b);
        m.add_vm("io");
        sched::Entity& e = m.add_vcpu(io);
        EXPECT_EQ(m.start(), nullptr);
        m.run_until(100'000);  // past the first turn, which waits behind both hogs' FIFO turns
        Ticks steal_before = e.metrics.runnable;
        uint64_t halts_before = io.halts;
        m.run_until(kSecond);
        EXPECT_GT(io.halts, halts_before + 20);
        return (e.metrics.runnable - steal_before) / (io.halts - halts_before);
    };
    EXPECT_EQ(steal("credit"), 0u);       // never waits after a wake
    EXPECT_GT(steal("round-robin"), 1000u);  // waits behind a hog's slice
}

TEST(Credit, DumpShowsSharesCreditAndQueues)
{
    sim::Machine m(policy("credit"), params(), 1);
    sim::Busy a, b;
    m.add_vm("alpha", 512, 0);
    m.add_vcpu(a);
    m.add_vm("beta", 256, 40);
    m.add_vcpu(b);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(100'000);
    std::string all = dump_of(m);
    EXPECT_NE(all.find("credit period=30000"), std::string::npos) << all;
    EXPECT_NE(all.find("credit vm alpha: weight=512 cap=0% share=20000"), std::string::npos) << all;
    EXPECT_NE(all.find("credit vm beta: weight=256 cap=40% share=10000"), std::string::npos) << all;
    EXPECT_NE(all.find("credit pcpu 0: queued"), std::string::npos) << all;
}

TEST(Credit, RefusesAZeroCreditPeriod)
{
    sched::Params p = params();
    p.credit_period = 0;
    sim::Machine m(policy("credit"), p, 1);
    sim::Busy a;
    m.add_vm("vm");
    m.add_vcpu(a);
    EXPECT_NE(m.start(), nullptr);
}

}  // namespace
