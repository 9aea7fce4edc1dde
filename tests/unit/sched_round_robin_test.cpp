#include <gtest/gtest.h>

#include "tests/unit/sched_fixtures.hpp"

using namespace sched_test;

namespace {

constexpr Ticks kSecond = 1'000'000;

TEST(RoundRobin, TwoBusyVcpusShareOnePcpuInSliceSizedTurns)
{
    sim::Machine m(policy("round-robin"), params(), 1);
    TwoBusyVms vms;
    vms.add(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_EQ(vms.first.ran + vms.second.ran, kSecond);
    EXPECT_EQ(vms.first.ran, kSecond / 2);  // 100 slices of 10 ms, alternating
    EXPECT_EQ(m.scheduler().entity(0).metrics.preemptions, 50u);
}

TEST(RoundRobin, ThreeBusyVcpusOnTwoPcpusEachGetTwoThirds)
{
    sim::Machine m(policy("round-robin"), params(), 2);
    sim::Busy v[3];
    m.add_vm("vm");
    for (auto& b : v) m.add_vcpu(b);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(3 * kSecond);
    for (auto& b : v) EXPECT_NEAR(double(b.ran), 2.0 * kSecond, 2.0 * params().slice) << &b - v;
    uint64_t migrations = 0;
    for (uint32_t i = 0; i < 3; ++i) migrations += m.scheduler().entity(i).metrics.migrations;
    EXPECT_GT(migrations, 0u);  // fairness over two pCPUs needs vCPUs to move
}

TEST(RoundRobin, NoEntityEverRunsOnTwoPcpusOrOutsideItsAffinity)
{
    sim::Machine m(policy("round-robin"), params(), 3);
    sim::Busy busy[4];
    Periodic io(700, 1300);
    m.add_vm("vm");
    for (auto& b : busy) m.add_vcpu(b);
    m.add_vcpu(io, 0b100);
    PlacementChecker placement;
    placement.attach(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_EQ(placement.violations, 0);
    EXPECT_GT(io.halts, 20u);
}

TEST(RoundRobin, HaltedVcpuCostsNothingAndWakesOnItsTimer)
{
    sim::Machine m(policy("round-robin"), params(), 1);
    Periodic io(100, 900);  // 10% busy
    m.add_vm("io");
    m.add_vcpu(io);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_EQ(io.ran, kSecond / 10);
    const sched::Metrics& metrics = m.scheduler().entity(0).metrics;
    EXPECT_EQ(metrics.run, kSecond / 10);
    EXPECT_EQ(metrics.blocked, kSecond - kSecond / 10);
    EXPECT_EQ(metrics.runnable, 0u);
}

TEST(RoundRobin, StealTimeIsTheWaitOfARunnableVcpu)
{
    sim::Machine m(policy("round-robin"), params(), 1);
    sim::Busy a, b;
    m.add_vm("a");
    m.add_vcpu(a);
    m.add_vcpu(b);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    const sched::Metrics& ma = m.scheduler().entity(0).metrics;
    const sched::Metrics& mb = m.scheduler().entity(1).metrics;
    EXPECT_EQ(ma.run + ma.runnable, kSecond);
    EXPECT_EQ(ma.runnable, mb.run);
}

TEST(RoundRobin, IgnoresPauseLoops)
{
    sim::Machine m(policy("round-robin"), params(), 1);
    Spinner spin(50);
    sim::Busy other;
    m.add_vm("vm");
    m.add_vcpu(spin);
    m.add_vcpu(other);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(kSecond);
    EXPECT_EQ(spin.ran, kSecond / 2);
    EXPECT_EQ(m.scheduler().entity(0).metrics.pause_loop_exits, kSecond / 2 / 50);
}

}  // namespace
