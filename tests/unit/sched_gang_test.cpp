#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/sched_fixtures.hpp"
#include "tools/sim/experiment.hpp"

using namespace sched_test;

namespace {

constexpr Ticks kSecond = 1'000'000;
constexpr Ticks kSlice = 10'000;  // params().slice: one slot

// A gang runs whole or not at all: for every VM, none or all of its runnable vCPUs are on a
// pCPU. Also no vCPU runs outside its affinity or on two pCPUs.
struct GangChecker {
    uint64_t steps = 0, violations = 0, partial_idle = 0;
    std::string first;

    void attach(sim::Machine& m)
    {
        m.on_step = [this](const sim::Machine& machine) { check(machine); };
    }

    void check(const sim::Machine& m)
    {
        ++steps;
        const sched::Scheduler& s = m.scheduler();
        std::vector<int> where(s.entity_count(), -1);
        for (uint32_t p = 0; p < m.pcpus(); ++p) {
            const sched::Entity* e = m.running(p);
            if (!e) continue;
            if (where[e->id] >= 0 || !(e->affinity >> p & 1)) fail(m, "a vCPU on two pCPUs or outside its affinity");
            where[e->id] = int(p);
            if (e->state != sched::State::running) fail(m, "a pCPU runs a vCPU that is not running");
        }
        for (uint32_t v = 0; v < s.vm_count(); ++v) {
            const sched::VmInfo& vm = s.vm(v);
            uint32_t runnable = 0, running = 0;
            for (uint32_t i = 0; i < vm.count; ++i) {
                const sched::Entity& e = s.entity(vm.first + i);
                if (e.state == sched::State::runnable || e.state == sched::State::running) ++runnable;
                if (where[e.id] >= 0) ++running;
            }
            if (running != 0 && running != runnable) fail(m, std::string("part of gang ") + vm.name + " runs");
            if (running && running < vm.count) ++partial_idle;
        }
    }

    void fail(const sim::Machine& m, const std::string& what)
    {
        if (!violations++) first = what + " at " + std::to_string(m.now());
    }
};

TEST(Gang, IsRegisteredWithASummary)
{
    const sched::Policy* p = sched::find_policy("gang");
    ASSERT_NE(p, nullptr);
    EXPECT_GT(std::string(p->summary).size(), 10u);
}

TEST(Gang, EqualRowsGetEqualTime)
{
    // Rows: [a a a a] [b b b b] [c c d d]: a third of the time each, slot for slot.
    sim::Machine m(policy("gang"), params(), 4);
    sim::Busy a[4], b[4], c[2], d[2];
    add_vm(m, "a", a);
    add_vm(m, "b", b);
    add_vm(m, "c", c);
    add_vm(m, "d", d);
    GangChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(3 * kSecond);
    std::vector<double> per_vm;
    for (auto* vm : {a, b}) {
        for (int i = 0; i < 4; ++i) EXPECT_EQ(vm[i].ran, kSecond) << i;
        per_vm.push_back(double(vm[0].ran + vm[1].ran + vm[2].ran + vm[3].ran) / 4);
    }
    for (auto* vm : {c, d}) {
        for (int i = 0; i < 2; ++i) EXPECT_EQ(vm[i].ran, kSecond) << i;
        per_vm.push_back(double(vm[0].ran + vm[1].ran) / 2);
    }
    EXPECT_DOUBLE_EQ(sim::jain_index(per_vm), 1.0);
    EXPECT_EQ(check.violations, 0u) << check.first;
    // Switches only at slot boundaries: a's vCPUs run in every third slot, 0 to 300 (the one
    // starting at the very end included).
    EXPECT_EQ(m.scheduler().entity(0).metrics.switches_in, 101u);
}

TEST(Gang, NoPartOfAGangEverRunsAlone)
{
    // Wide and narrow gangs, vCPUs that halt and wake at odd times, pins: holes open and close
    // all the time, and fillers come and go.
    sim::Machine m(policy("gang"), params(), 4);
    sim::Busy wide[3], pair_busy, solo_busy;
    Periodic wide_io(2'300, 4'100), pair_io(700, 1'900), solo_io(3'100, 17'000), quad_io[4] = {
        {900, 1'100}, {5'000, 2'000}, {1'300, 13'000}, {12'000, 3'000}};
    add_vm(m, "wide", wide);
    m.add_vcpu(wide_io);
    m.add_vm("pair");
    m.add_vcpu(pair_busy, 0b0011);
    m.add_vcpu(pair_io);
    m.add_vm("solo");
    m.add_vcpu(solo_io);
    add_vm(m, "quad", quad_io);
    m.add_vm("one");
    m.add_vcpu(solo_busy, 0b1000);
    GangChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(5 * kSecond);
    EXPECT_GT(check.steps, 5'000u);
    EXPECT_EQ(check.violations, 0u) << check.first;
    EXPECT_GT(check.partial_idle, 1'000u);  // blocked vCPUs really left gangs partly running
    EXPECT_GT(pair_io.halts, 100u);
    EXPECT_GT(solo_busy.ran, 2 * kSecond);  // more than its row's third: it filled holes of other rows
}

TEST(Gang, RoundRobinSplitsGangs)
{
    // The checker is not vacuous: VMs of 2, 1 and 2 vCPUs on two pCPUs; round-robin's FIFO runs
    // b.0 beside c.0, then c.1 beside a.0, ...
    sim::Machine m(policy("round-robin"), params(), 2);
    sim::Busy a[2], b, c[2];
    add_vm(m, "a", a);
    m.add_vm("b");
    m.add_vcpu(b);
    add_vm(m, "c", c);
    GangChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_GT(check.violations, 10u);
}

TEST(Gang, RefusesAVmWiderThanTheMachine)
{
    sim::Machine m(policy("gang"), params(), 2);
    sim::Busy v[3];
    m.add_vm("small");
    m.add_vcpu(v[0]);
    add_vm(m, "huge", v);
    const char* why = m.start();
    ASSERT_NE(why, nullptr);
    EXPECT_STREQ(why, "gang: VM huge has 3 vCPUs but there are only 2 pCPUs; a gang runs all its vCPUs at once");
}

TEST(Gang, RefusesAffinityThatGivesNoPcpuEach)
{
    sim::Machine m(policy("gang"), params(), 4);
    sim::Busy v[3];
    m.add_vm("pinned");
    m.add_vcpu(v[0], 0b0011);
    m.add_vcpu(v[1], 0b0011);
    m.add_vcpu(v[2], 0b0001);  // three vCPUs, two pCPUs among them
    EXPECT_STREQ(m.start(), "gang: the affinity of VM pinned does not give each of its 3 vCPUs a pCPU of its own");
}

TEST(Gang, PacksAroundPinsAndKeepsThem)
{
    // x.0 may only use pCPU 0, x.1 either: the matching must give x.1 pCPU 1; y's pins force a
    // second row even though two columns look free.
    sim::Machine m(policy("gang"), params(), 3);
    sim::Busy x0, x1, y0, y1;
    m.add_vm("x");
    m.add_vcpu(x1, 0b011);
    m.add_vcpu(x0, 0b001);
    m.add_vm("y");
    m.add_vcpu(y0, 0b011);
    m.add_vcpu(y1, 0b011);
    GangChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_EQ(check.violations, 0u) << check.first;
    EXPECT_EQ(x0.ran, kSecond / 2);
    EXPECT_EQ(x1.ran, kSecond / 2);
    EXPECT_EQ(y0.ran, kSecond / 2);
    EXPECT_EQ(y1.ran, kSecond / 2);
    for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(m.scheduler().entity(i).metrics.migrations, 0u) << i;
}

TEST(Gang, ABlockedVcpuLeavesItsColumnIdle)
{
    // Rows [a a] [b b]; a.1 never wakes: a.0 runs alone in a's slots and nobody can fill the
    // hole (b needs both columns), so pCPU 1 idles a quarter of the time.
    sim::Machine m(policy("gang"), params(), 2);
    sim::Busy a0, a1, b0, b1;
    m.add_vm("a");
    m.add_vcpu(a0);
    m.add_vcpu(a1, 0, true);
    m.add_vm("b");
    m.add_vcpu(b0);
    m.add_vcpu(b1);
    GangChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_EQ(check.violations, 0u) << check.first;
    EXPECT_EQ(a0.ran, kSecond / 2);
    EXPECT_EQ(a1.ran, 0u);
    EXPECT_EQ(b0.ran, kSecond / 2);
    EXPECT_EQ(b1.ran, kSecond / 2);
}

TEST(Gang, AWholeGangFillsHolesOfAnotherRow)
{
    // Rows [a a] [b b] [c -]. a.1 never wakes, so a needs one column: it fills c's hole, and c
    // fills a's. a.0 and c run two slots in three, b one.
    sim::Machine m(policy("gang"), params(), 2);
    sim::Busy a0, a1, b0, b1, c;
    m.add_vm("a");
    m.add_vcpu(a0);
    m.add_vcpu(a1, 0, true);
    m.add_vm("b");
    m.add_vcpu(b0);
    m.add_vcpu(b1);
    m.add_vm("c");
    m.add_vcpu(c);
    GangChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(3 * kSecond);
    EXPECT_EQ(check.violations, 0u) << check.first;
    EXPECT_EQ(a0.ran, 2 * kSecond);
    EXPECT_EQ(c.ran, 2 * kSecond);
    EXPECT_EQ(b0.ran, kSecond);
    EXPECT_EQ(b1.ran, kSecond);
}

TEST(Gang, AWakingVcpuOfTheRunningRowStartsAtOnceAndEvictsAFiller)
{
    // Rows [a a] [c -]. In a's slots c fills a.1's column while a.1 sleeps and must give it back
    // the moment a.1 wakes; a.1 always wakes in a's slot (its period is two slots), so it never
    // waits.
    sim::Machine m(policy("gang"), params(), 2);
    sim::Busy a0, c;
    Periodic a1(2'000, 2 * kSlice - 2'000);
    m.add_vm("a");
    m.add_vcpu(a0);
    m.add_vcpu(a1);
    m.add_vm("c");
    m.add_vcpu(c);
    GangChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_EQ(check.violations, 0u) << check.first;
    const sched::Metrics& ma1 = m.scheduler().entity(1).metrics;
    EXPECT_EQ(ma1.runnable, 0u);  // no steal: its column was free for it at every wake
    EXPECT_EQ(a1.halts, 50u);
    EXPECT_EQ(a0.ran, kSecond);  // in c's slots a.1 sleeps and a (that is, a.0) fills c's hole
    // c: its own slots, plus a's slots but for a.1's 2 ms.
    EXPECT_EQ(c.ran, kSecond / 2 + kSecond / 2 - 50 * 2'000);
}

TEST(Gang, OneVcpuVmsShareLikeRowsAndFillHoles)
{
    // Four 1-vCPU VMs on two pCPUs: rows [a b] [c d], half the time each.
    {
        sim::Machine m(policy("gang"), params(), 2);
        sim::Busy v[4];
        const char* names[] = {"a", "b", "c", "d"};
        for (int i = 0; i < 4; ++i) {
            m.add_vm(names[i]);
            m.add_vcpu(v[i]);
        }
        ASSERT_EQ(m.start(), nullptr);
        m.run_until(kSecond);
        for (auto& x : v) EXPECT_EQ(x.ran, kSecond / 2);
    }
    // Three: rows [a b] [c -]; a and b take turns in c's hole, no pCPU ever idles.
    {
        sim::Machine m(policy("gang"), params(), 2);
        sim::Busy v[3];
        const char* names[] = {"a", "b", "c"};
        for (int i = 0; i < 3; ++i) {
            m.add_vm(names[i]);
            m.add_vcpu(v[i]);
        }
        uint64_t idle_steps = 0;
        m.on_step = [&](const sim::Machine& machine) {
            for (uint32_t p = 0; p < machine.pcpus(); ++p)
                if (!machine.running(p)) ++idle_steps;
        };
        ASSERT_EQ(m.start(), nullptr);
        m.run_until(2 * kSecond);
        EXPECT_EQ(idle_steps, 0u);
        EXPECT_EQ(v[2].ran, kSecond);
        EXPECT_EQ(v[0].ran, 3 * kSecond / 2);
        EXPECT_EQ(v[1].ran, 3 * kSecond / 2);
    }
}

TEST(Gang, IdleRowsGiveTheirSlotsAway)
{
    // Rows [a a] [b b]; b works 500 ticks in 30,000: a row with nothing runnable is skipped, and
    // a fills the holes b leaves when it halts.
    sim::Machine m(policy("gang"), params(), 2);
    sim::Busy a0, a1;
    Periodic b0(500, 29'500), b1(500, 29'500);
    m.add_vm("a");
    m.add_vcpu(a0);
    m.add_vcpu(a1);
    m.add_vm("b");
    m.add_vcpu(b0);
    m.add_vcpu(b1);
    GangChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_EQ(check.violations, 0u) << check.first;
    EXPECT_GT(a0.ran, 95 * kSecond / 100);
    EXPECT_EQ(a0.ran, a1.ran);
    EXPECT_GT(b0.halts, 20u);
}

TEST(Gang, AnEndedVmGivesItsSlotsAway)
{
    // Rows [a a] [b b]; a ends at 0.5 s (mid-slot, one vCPU after the other): from then on b's
    // row is the only one with work and runs in every slot.
    sim::Machine m(policy("gang"), params(), 2);
    sim::Busy a0, a1, b0, b1;
    m.add_vm("a");
    sched::Entity& e0 = m.add_vcpu(a0);
    sched::Entity& e1 = m.add_vcpu(a1);
    m.add_vm("b");
    m.add_vcpu(b0);
    m.add_vcpu(b1);
    GangChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond / 2 + 3'000);  // slot 50 runs a
    m.scheduler().end(e0, m.now());
    m.scheduler().end(e1, m.now());
    m.run_until(kSecond);
    EXPECT_EQ(check.violations, 0u) << check.first;
    EXPECT_EQ(a0.ran, kSecond / 4 + 3'000);
    EXPECT_EQ(b0.ran, kSecond / 4 + (kSecond / 2 - 3'000));
    EXPECT_EQ(b1.ran, b0.ran);
}

TEST(Gang, PauseLoopsAndYieldsChangeNothing)
{
    // Rows [s s] [b b]: the spinning VM keeps both columns for its whole slot.
    sim::Machine m(policy("gang"), params(), 2);
    Spinner s0(50), s1(70);
    sim::Busy b0, b1;
    m.add_vm("spin");
    m.add_vcpu(s0);
    m.add_vcpu(s1);
    m.add_vm("b");
    m.add_vcpu(b0);
    m.add_vcpu(b1);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_EQ(s0.ran, kSecond / 2);
    EXPECT_EQ(s1.ran, kSecond / 2);
    EXPECT_EQ(b0.ran, kSecond / 2);
    sched::Scheduler& s = m.scheduler();
    EXPECT_GT(s.entity(0).metrics.pause_loop_exits, 9'000u);
    EXPECT_EQ(s.entity(0).metrics.switches_in, 51u);  // slots 0, 2, .., 100: never descheduled inside one
    EXPECT_FALSE(s.yield_to(s.entity(2), s.entity(3), m.now()));
}

}  // namespace
