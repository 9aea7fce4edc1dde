#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/unit/sched_convoy.hpp"
#include "tests/unit/sched_fixtures.hpp"
#include "tools/sim/experiment.hpp"

using namespace sched_test;

namespace {

constexpr Ticks kSecond = 1'000'000;
constexpr Ticks kSlice = 10'000;

// How many vCPUs of each VM every pCPU holds (queued, from the policy's dump, plus running),
// checked after every instant.
struct SpreadChecker {
    uint64_t steps = 0;
    uint64_t stacked = 0;      // a VM that fits the machine has two vCPUs on one pCPU
    uint64_t over_limit = 0;   // a wider VM has more than ceil(vcpus / pcpus) on one pCPU
    uint64_t idle_waste = 0;   // a pCPU idles while a vCPU that may run there waits
    uint32_t most_stacked = 0;
    std::string first;

    void attach(sim::Machine& m)
    {
        m.on_step = [this](const sim::Machine& machine) { check(machine); };
    }

    void check(const sim::Machine& m)
    {
        ++steps;
        const sched::Scheduler& s = m.scheduler();
        std::map<std::string, uint32_t> vm_by_name;
        for (uint32_t v = 0; v < s.vm_count(); ++v) vm_by_name[s.vm(v).name] = v;
        std::vector<std::vector<uint32_t>> held(m.pcpus(), std::vector<uint32_t>(s.vm_count()));
        std::vector<std::string> lines;
        s.policy().dump(s, sched::LineSink{[](void* c, const char* line) {
                                               static_cast<std::vector<std::string>*>(c)->push_back(line);
                                           },
                                           &lines});
        for (const std::string& line : lines) {
            size_t at = line.find(" pcpu "), colon = line.find(": queued");
            if (at == std::string::npos || colon == std::string::npos) continue;
            uint32_t p = uint32_t(std::stoul(line.substr(at + 6, colon - at - 6)));
            for (size_t i = colon + 8; i < line.size();) {
                size_t end = line.find(' ', i + 1);
                std::string token = line.substr(i + 1, end == std::string::npos ? std::string::npos : end - i - 1);
                ++held[p][vm_by_name.at(token.substr(0, token.rfind('.')))];
                if (end == std::string::npos) break;
                i = end;
            }
        }
        for (uint32_t p = 0; p < m.pcpus(); ++p)
            if (const sched::Entity* e = m.running(p)) ++held[p][e->vm];
        for (uint32_t p = 0; p < m.pcpus(); ++p)
            for (uint32_t v = 0; v < s.vm_count(); ++v) {
                uint32_t n = s.vm(v).count, limit = n <= m.pcpus() ? 1 : (n + m.pcpus() - 1) / m.pcpus();
                if (held[p][v] > most_stacked) most_stacked = held[p][v];
                if (held[p][v] <= limit) continue;
                ++(n <= m.pcpus() ? stacked : over_limit);
                if (first.empty())
                    first = std::string(s.vm(v).name) + " x" + std::to_string(held[p][v]) + " on pCPU " +
                            std::to_string(p) + " at " + std::to_string(m.now());
            }
        for (uint32_t p = 0; p < m.pcpus(); ++p) {
            if (m.running(p)) continue;
            for (uint32_t i = 0; i < s.entity_count(); ++i) {
                const sched::Entity& e = s.entity(i);
                if (e.state == sched::State::runnable && (e.affinity >> p & 1)) {
                    ++idle_waste;
                    break;
                }
            }
        }
    }
};

TEST(Balance, IsRegisteredWithASummary)
{
    const sched::Policy* p = sched::find_policy("balance");
    ASSERT_NE(p, nullptr);
    EXPECT_GT(std::string(p->summary).size(), 10u);
}

TEST(Balance, NeverPutsTwoSiblingsOnOnePcpu)
{
    sim::Machine m(policy("balance"), params(), 4);
    Mixed w;
    w.add(m);
    SpreadChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(5 * kSecond);
    EXPECT_GT(check.steps, 4'000u);
    EXPECT_EQ(check.stacked, 0u) << check.first;
    EXPECT_EQ(check.idle_waste, 0u);  // the rule never kept a pCPU idle here
    EXPECT_GT(w.b0.halts, 300u);
    uint64_t migrations = 0;
    for (uint32_t i = 0; i < m.scheduler().entity_count(); ++i) migrations += m.scheduler().entity(i).metrics.migrations;
    EXPECT_GT(migrations, 100u);  // idle pCPUs did pull work, within the rule
}

TEST(Balance, RoundRobinStacksTheSameWorkload)
{
    // The checker is not vacuous: the baseline queues siblings together on this workload.
    sim::Machine m(policy("round-robin"), params(), 4);
    Mixed w;
    w.add(m);
    SpreadChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(5 * kSecond);
    EXPECT_GT(check.stacked, 100u);
}

TEST(Balance, TwiceOvercommittedVcpusShareFairly)
{
    // Eight busy vCPUs in VMs of 4, 2 and 2 on four pCPUs: half a pCPU each.
    sim::Machine m(policy("balance"), params(), 4);
    sim::Busy a[4], b[2], c[2];
    add_vm(m, "a", a);
    add_vm(m, "b", b);
    add_vm(m, "c", c);
    SpreadChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(4 * kSecond);
    EXPECT_EQ(check.stacked, 0u) << check.first;
    EXPECT_EQ(check.idle_waste, 0u);
    std::vector<double> shares;
    for (sim::Busy* x : {&a[0], &a[1], &a[2], &a[3], &b[0], &b[1], &c[0], &c[1]}) {
        EXPECT_NEAR(double(x->ran), 2.0 * kSecond, 2.0 * kSlice);
        shares.push_back(double(x->ran));
    }
    EXPECT_GT(sim::jain_index(shares), 0.9999);
}

TEST(Balance, AVmWithIdleVcpusGetsNoMoreThanItsBusyVcpusShare)
{
    // VM a: one busy vCPU and three that stay halted; VMs b and c: four busy ones each. a's time
    // per vCPU stays far below the others', yet a.0 gets what every busy vCPU gets: 4/9 of a pCPU
    // (without the bound on passing the oldest, 0.8 of one, taken from those sharing it).
    sim::Machine m(policy("balance"), params(), 4);
    sim::Busy a0, b[4], c[4];
    Periodic idle[3] = {{1, 100 * kSecond}, {1, 100 * kSecond}, {1, 100 * kSecond}};
    m.add_vm("a");
    m.add_vcpu(a0);
    for (auto& x : idle) m.add_vcpu(x);
    add_vm(m, "b", b);
    add_vm(m, "c", c);
    SpreadChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(3 * kSecond);
    EXPECT_EQ(check.stacked, 0u) << check.first;
    for (sim::Busy* x : {&a0, &b[0], &b[1], &b[2], &b[3], &c[0], &c[1], &c[2], &c[3]})
        EXPECT_NEAR(double(x->ran), 4.0 * kSecond / 3, 3.0 * kSlice);
}

TEST(Balance, TwoVmsOfTwoOnTwoPcpusAlternate)
{
    sim::Machine m(policy("balance"), params(), 2);
    sim::Busy a0, a1, b0, b1;
    m.add_vm("a");
    m.add_vcpu(a0);
    m.add_vcpu(a1);
    m.add_vm("b");
    m.add_vcpu(b0);
    m.add_vcpu(b1);
    SpreadChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(2 * kSecond);
    EXPECT_EQ(check.stacked, 0u) << check.first;
    for (sim::Busy* x : {&a0, &a1, &b0, &b1}) EXPECT_EQ(x->ran, kSecond);
}

TEST(Balance, AVmWiderThanTheMachineStacksAsLittleAsPossible)
{
    // Five vCPUs on two pCPUs: at most three on one pCPU; everybody still gets an equal share.
    sim::Machine m(policy("balance"), params(), 2);
    sim::Busy w[5], other;
    add_vm(m, "wide", w);
    m.add_vm("other");
    m.add_vcpu(other);
    SpreadChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(3 * kSecond);
    EXPECT_EQ(check.over_limit, 0u) << check.first;
    EXPECT_EQ(check.stacked, 0u) << check.first;
    EXPECT_EQ(check.most_stacked, 3u);
    EXPECT_EQ(check.idle_waste, 0u);
    std::vector<double> shares;
    for (auto& x : w) shares.push_back(double(x.ran));
    shares.push_back(double(other.ran));
    EXPECT_GT(sim::jain_index(shares), 0.999);
    EXPECT_EQ(w[0].ran + w[1].ran + w[2].ran + w[3].ran + w[4].ran + other.ran, 6 * kSecond);
}

TEST(Balance, AffinityThatForcesStackingIsHonouredAndMinimised)
{
    // a.0 and a.1 may only use pCPU 0: they must share it; a.2 is kept off pCPU 0.
    sim::Machine m(policy("balance"), params(), 3);
    sim::Busy a[3], b;
    m.add_vm("a");
    m.add_vcpu(a[0], 0b001);
    m.add_vcpu(a[1], 0b001);
    m.add_vcpu(a[2]);
    m.add_vm("b");
    m.add_vcpu(b);
    int wrong = 0;
    m.on_step = [&](const sim::Machine& machine) {
        for (uint32_t p = 0; p < machine.pcpus(); ++p)
            if (const sched::Entity* e = machine.running(p))
                if (!(e->affinity >> p & 1) || (e->vm == 0 && e->index == 2 && p == 0)) ++wrong;
    };
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_EQ(wrong, 0);
    EXPECT_EQ(a[0].ran, kSecond / 2);
    EXPECT_EQ(a[1].ran, kSecond / 2);
    EXPECT_EQ(a[2].ran + b.ran, 2 * kSecond);
}

TEST(Balance, DirectedYieldSwapsTheSiblingsPlaces)
{
    // a.0 runs while a.1 waits behind c on the other pCPU; a.0 yields to a.1: a.1 takes a.0's
    // pCPU at once and a.0 takes a.1's place in the other queue, so they stay apart.
    sim::Machine m(policy("balance"), params(), 2);
    sim::Busy a0, a1, c;
    m.add_vm("a");
    sched::Entity& ea0 = m.add_vcpu(a0);
    sched::Entity& ea1 = m.add_vcpu(a1);
    m.add_vm("c");
    m.add_vcpu(c);
    SpreadChecker check;
    check.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    while (!(ea0.state == sched::State::running && ea1.state == sched::State::runnable) && m.now() < kSecond)
        m.run_until(m.now() + 1'000);
    ASSERT_LT(m.now(), kSecond);
    uint32_t p = ea0.pcpu;
    sched::Scheduler& s = m.scheduler();
    ASSERT_TRUE(s.yield_to(ea0, ea1, m.now()));
    s.kick(p);  // what the platform does after a directed yield that worked
    m.run_until(m.now() + 1);
    EXPECT_EQ(m.running(p), &ea1);
    EXPECT_EQ(ea0.state, sched::State::runnable);
    EXPECT_EQ(ea0.metrics.directed_yield_hits, 1u);
    m.run_until(kSecond);
    EXPECT_EQ(check.stacked, 0u) << check.first;
    EXPECT_FALSE(s.yield_to(ea0, s.entity(2), m.now()));  // not a sibling
}

TEST(Balance, PauseLoopYieldsOnlyToAVmThatHadNoMoreTime)
{
    expect_pause_loop_yields_only_to_a_vm_behind("balance", kSlice, 200);
}

TEST(Balance, PauseLoopYieldsBreakTheTicketLockConvoyAndStayFair)
{
    for (uint64_t seed : {2u, 3u}) {
        double alone = double(convoy_run("balance", 1, true, seed)[0]);
        // Without pause-loop exits (the policy's old behaviour: it ignored them) the convoy forms.
        std::vector<uint64_t> ignored = convoy_run("balance", 2, false, seed);
        EXPECT_LT(double(ignored[0] + ignored[1]), 0.5 * alone) << seed;
        SpreadChecker check;
        std::vector<uint64_t> got = convoy_run("balance", 2, true, seed, [&](sim::Machine& m) { check.attach(m); });
        EXPECT_EQ(check.stacked, 0u) << check.first;
        EXPECT_GT(double(got[0] + got[1]), 0.9 * alone) << seed;
        EXPECT_GT(sim::jain_index({double(got[0]), double(got[1])}), 0.99) << seed;
    }
}

TEST(Balance, ThreeTimesOvercommittedTicketLockVmsGetEqualThroughput)
{
    // Three 4-vCPU VMs on four pCPUs: every pCPU holds one vCPU of each VM and nothing can
    // migrate. With the oldest first at slice ends and pause-loop yields only to the next in line,
    // each pCPU kept its own cyclic order of the VMs, and pCPUs in opposite orders run at most one
    // VM whole while the other two convoy for good. The VM furthest behind (the same VM for every
    // pCPU), at pause-loop exits and at slice ends, brings them into one order and phase. With it
    // only at pause-loop exits, seeds 10, 14 and 15 fail (14: Jain 0.873, 0.69 of the throughput;
    // 15: 0.84); with it, every seed passes, the lowest at 0.885 of the throughput (seed 17).
    for (uint64_t seed = 1; seed <= 20; ++seed) {
        double alone = double(convoy_run("balance", 1, true, seed)[0]);
        SpreadChecker check;
        std::vector<uint64_t> got = convoy_run("balance", 3, true, seed, [&](sim::Machine& m) { check.attach(m); });
        EXPECT_EQ(check.stacked, 0u) << check.first;
        std::vector<double> rates(got.begin(), got.end());
        EXPECT_GT(sim::jain_index(rates), 0.99) << seed;
        EXPECT_GT(double(got[0] + got[1] + got[2]), 0.85 * alone) << seed;
    }
}

}  // namespace
