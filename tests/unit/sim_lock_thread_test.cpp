// The lock workload driven by sim::Machine under the round-robin policy: mutual exclusion, FIFO
// hand-off, lock-holder and lock-waiter preemption, pv halting and kicks, PLE-window adaptation,
// barriers and blocking I/O (tools/sim/lock_thread.hpp, workload.hpp).
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/sched_fixtures.hpp"
#include "tools/sim/workload.hpp"

using namespace sched_test;
using sim::GuestLock;
using sim::LockKind;
using sim::LockThread;
using sim::ThreadParams;
using sim::VmWorkload;

namespace {

sched::Params slice_params(Ticks slice)
{
    sched::Params p = params();
    p.slice = slice;
    return p;
}

ThreadParams exact(LockKind kind, Ticks ncs, Ticks cs)
{
    ThreadParams t;
    t.lock = kind;
    t.ncs = ncs;
    t.cs = cs;
    t.jitter_percent = 0;
    return t;
}

// Mutual exclusion and FIFO order under every lock kind with everything switched on.
class EveryLock : public ::testing::TestWithParam<LockKind> {};

TEST_P(EveryLock, NeverTwoHoldersAndTicketsTakenInOrder)
{
    for (uint32_t pcpus : {1u, 2u, 3u}) {
        sim::Machine m(policy("round-robin"), slice_params(300), pcpus);
        m.set_timer_noise(20, true, 7);
        ThreadParams t = exact(GetParam(), 10, 3);
        t.jitter_percent = 60;
        t.ple_window = 4;
        t.ple_window_max = 64;
        t.pv_spin = 30;
        t.kick_cost = 2;
        t.io_every = 7;
        t.io = 40;
        t.pv_steal = false;
        VmWorkload vm(m, "vm", 256, 4, t, 42);
        VmWorkload other(m, "other", 256, 3, t, 43);
        std::vector<GuestLock::Event> log;
        vm.lock().log = &log;
        int violations = 0;
        m.on_step = [&](const sim::Machine&) {
            if (vm.holders() > 1 || other.holders() > 1) ++violations;
        };
        ASSERT_EQ(m.start(), nullptr);
        m.run_until(100'000);
        EXPECT_EQ(violations, 0) << pcpus;
        EXPECT_GT(vm.stats().acquisitions, 500u) << pcpus;
        // Acquisitions alternate with releases and follow ticket order.
        uint64_t next_ticket = 0;
        bool held = false;
        for (const GuestLock::Event& e : log) {
            if (e.kind == GuestLock::Event::acquire) {
                EXPECT_FALSE(held);
                EXPECT_EQ(e.ticket, next_ticket++);
                held = true;
            } else if (e.kind == GuestLock::Event::release) {
                EXPECT_TRUE(held);
                held = false;
            }
        }
        EXPECT_EQ(next_ticket, vm.stats().acquisitions);
    }
}

INSTANTIATE_TEST_SUITE_P(Kinds, EveryLock, ::testing::Values(LockKind::ticket, LockKind::queued, LockKind::pv),
                         [](const auto& info) { return std::string(sim::lock_kind_name(info.param)); });

TEST(LockThread, PvStealingStillExcludes)
{
    sim::Machine m(policy("round-robin"), slice_params(200), 2);
    m.set_timer_noise(10, true, 3);
    ThreadParams t = exact(LockKind::pv, 8, 3);
    t.jitter_percent = 50;
    t.pv_spin = 20;
    t.kick_cost = 1;
    VmWorkload vm(m, "vm", 256, 5, t, 1);
    int violations = 0;
    m.on_step = [&](const sim::Machine&) { violations += vm.holders() > 1; };
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(100'000);
    EXPECT_EQ(violations, 0);
    EXPECT_GT(vm.stats().acquisitions, 1000u);
    EXPECT_GT(vm.stats().pv_halts, 0u);
    EXPECT_GT(vm.stats().pv_kicks, 0u);
}

// One pCPU, slices of 100 ticks, two threads: 10 ticks of work, a critical section of 95.
//   t=10  A takes the free lock;   t=100 A is preempted holding it (lock-holder preemption)
//   t=110 B asks and spins until its slice ends at 200
//   t=205 A releases: the lock goes to B, which is not running (lock-waiter preemption 1)
//   t=215 A asks again and spins behind B until 300
//   t=300 B runs, takes the lock (waited 190), releases at 395 to A, preempted (waiter 2)
//   t=400 A runs and takes it (waited 185).
void scripted_one_pcpu(LockKind kind)
{
    sim::Machine m(policy("round-robin"), slice_params(100), 1);
    ThreadParams t = exact(kind, 10, 95);
    t.pv_spin = 1000;  // pv: never long enough to halt here
    VmWorkload vm(m, "vm", 256, 2, t, 1);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(250);
    EXPECT_EQ(vm.stats().acquisitions, 1u);
    EXPECT_EQ(vm.stats().holder_preemptions, 1u);
    EXPECT_EQ(vm.stats().waiter_preemptions, 1u);
    EXPECT_EQ(vm.lock().holder(), GuestLock::kNobody);
    EXPECT_TRUE(vm.lock().can_take(1));
    EXPECT_EQ(vm.thread(1).phase(), LockThread::Phase::spin);
    EXPECT_EQ(m.scheduler().entity(0).metrics.preempted_kernel_irqoff, 1u);  // A, holding at CPL 0, IF=0
    m.run_until(450);
    EXPECT_EQ(vm.stats().acquisitions, 3u);
    EXPECT_EQ(vm.stats().holder_preemptions, 1u);
    EXPECT_EQ(vm.stats().waiter_preemptions, 2u);
    EXPECT_EQ(vm.lock().holder(), 0u);
    EXPECT_EQ(vm.stats().latency.max(), 190u);
    EXPECT_EQ(vm.stats().latency.percentile(50), 185u);
    EXPECT_EQ(vm.stats().lock_spin, (200u - 110) + (300u - 215));
    EXPECT_EQ(vm.stats().pv_halts, 0u);
}

TEST(LockThread, LockHolderAndLockWaiterPreemptionOnOnePcpuTicket) { scripted_one_pcpu(LockKind::ticket); }
TEST(LockThread, LockHolderAndLockWaiterPreemptionOnOnePcpuQueued) { scripted_one_pcpu(LockKind::queued); }

// Two pCPUs: A takes the lock for 1000 ticks at t=10; B spins 100 ticks, halts at 110; A releases
// at 1010 and kicks B (paying 5 ticks); B runs at once on its idle pCPU and takes the lock.
void pv_halt_and_kick(bool steal)
{
    sim::Machine m(policy("round-robin"), slice_params(100'000), 2);
    ThreadParams t = exact(LockKind::pv, 10, 1000);
    t.pv_spin = 100;
    t.kick_cost = 5;
    t.pv_steal = steal;
    VmWorkload vm(m, "vm", 256, 2, t, 1);
    std::vector<GuestLock::Event> log;
    vm.lock().log = &log;
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(500);
    EXPECT_EQ(vm.thread(1).phase(), LockThread::Phase::halted);
    EXPECT_EQ(m.scheduler().entity(1).state, sched::State::blocked);
    EXPECT_EQ(m.running(1), nullptr);
    EXPECT_EQ(vm.stats().pv_halts, 1u);
    EXPECT_EQ(vm.stats().lock_spin, 100u);
    m.run_until(1011);  // (what happens at 1010 after the release is handled in the next step)
    EXPECT_EQ(vm.stats().pv_kicks, 1u);
    EXPECT_EQ(vm.lock().holder(), 1u);
    EXPECT_EQ(m.running(1), &m.scheduler().entity(1));
    m.run_until(1500);
    EXPECT_EQ(vm.stats().kick_time, 5u);
    EXPECT_EQ(vm.stats().latency.max(), 1000u);
    EXPECT_EQ(vm.stats().pv_halts, 2u);  // now A: asked at 1025, halted at 1125
    EXPECT_EQ(m.scheduler().entity(1).metrics.blocked, 900u);
    ASSERT_GE(log.size(), 5u);
    EXPECT_EQ(log[4].kind, GuestLock::Event::acquire);
    EXPECT_EQ(log[4].thread, 1u);
    EXPECT_EQ(log[4].when, 1010u);
    EXPECT_EQ(vm.stats().waiter_preemptions, 0u);  // halted, not preempted
}

TEST(LockThread, PvWaiterHaltsAfterTheThresholdAndTheReleaserKicksIt) { pv_halt_and_kick(false); }
TEST(LockThread, PvWaiterHaltsAndIsKickedWithStealingToo) { pv_halt_and_kick(true); }

// The one-pCPU script with PLE: B spins from 110 to 200; round-robin ignores pause loops, so
// every exit is futile and the window doubles 4 -> 8 -> 16 (the bound): exits at 114, 122, 138,
// 154, 170, 186.
TEST(LockThread, FutilePauseLoopExitsGrowTheWindowUpToItsBound)
{
    sim::Machine m(policy("round-robin"), slice_params(100), 1);
    ThreadParams t = exact(LockKind::ticket, 10, 95);
    t.ple_window = 4;
    t.ple_window_max = 16;
    VmWorkload vm(m, "vm", 256, 2, t, 1);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(199);
    EXPECT_EQ(vm.stats().ple_exits, 6u);
    EXPECT_EQ(vm.stats().ple_futile, 6u);
    EXPECT_EQ(vm.stats().ple_useful, 0u);
    EXPECT_EQ(vm.thread(1).ple_window(), 16u);
    EXPECT_EQ(m.scheduler().entity(1).metrics.pause_loop_exits, 6u);
}

// A policy that deschedules every pause-looping vCPU (round-robin otherwise): every exit is
// useful and the window stays at its base.
TEST(LockThread, UsefulPauseLoopExitsShrinkTheWindow)
{
    static sched::Policy yielding = policy("round-robin");
    yielding.name = "test-yield-on-pause";
    yielding.on_pause_loop = [](sched::Scheduler&, sched::Entity&, Ticks) { return true; };
    sim::Machine m(yielding, slice_params(100), 1);
    ThreadParams t = exact(LockKind::ticket, 10, 95);
    t.ple_window = 4;
    t.ple_window_max = 16;
    VmWorkload vm(m, "vm", 256, 2, t, 1);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(2000);
    EXPECT_GT(vm.stats().ple_useful, 0u);
    EXPECT_EQ(vm.stats().ple_futile, 0u);
    EXPECT_EQ(vm.thread(0).ple_window(), 4u);
    EXPECT_EQ(vm.thread(1).ple_window(), 4u);
    // Yielding hands the pCPU back to the holder: far less spinning than round-robin's 175 ticks.
    EXPECT_LT(vm.stats().lock_spin, 100u);
}

// B's first two exits (114, 122) are futile: 4 -> 8 -> 16; the policy deschedules it at its
// third (138): useful, 16 -> 8.
TEST(LockThread, AUsefulExitAfterFutileOnesHalvesTheWindow)
{
    static sched::Policy third = policy("round-robin");
    third.name = "test-yield-on-third-pause";
    third.on_pause_loop = [](sched::Scheduler&, sched::Entity& e, Ticks) {
        return e.index == 1 && e.metrics.pause_loop_exits == 3;
    };
    sim::Machine m(third, slice_params(100), 1);
    ThreadParams t = exact(LockKind::ticket, 10, 95);
    t.ple_window = 4;
    t.ple_window_max = 16;
    VmWorkload vm(m, "vm", 256, 2, t, 1);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(139);
    EXPECT_EQ(vm.stats().ple_futile, 2u);
    EXPECT_EQ(vm.stats().ple_useful, 1u);
    EXPECT_EQ(vm.thread(1).ple_window(), 8u);
    EXPECT_EQ(m.running(0), &m.scheduler().entity(0));  // the holder got the pCPU back
}

TEST(LockThread, BarrierKeepsThreadsWithinOneGeneration)
{
    sim::Machine m(policy("round-robin"), slice_params(50), 2);
    ThreadParams t = exact(LockKind::ticket, 10, 2);
    t.jitter_percent = 80;
    t.barrier_every = 1;
    t.ple_window = 3;
    t.ple_window_max = 12;
    VmWorkload vm(m, "vm", 256, 3, t, 9);
    uint64_t worst = 0;
    m.on_step = [&](const sim::Machine&) {
        for (uint32_t i = 0; i < 3; ++i)
            for (uint32_t j = 0; j < 3; ++j) {
                uint64_t a = vm.thread(i).iterations(), b = vm.thread(j).iterations();
                worst = std::max(worst, a > b ? a - b : b - a);
            }
    };
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(20'000);
    EXPECT_LE(worst, 1u);
    EXPECT_GT(vm.stats().barriers, 100u);
    EXPECT_GT(vm.stats().barrier_spin, 0u);
    EXPECT_NEAR(double(vm.stats().barriers), double(vm.thread(0).iterations()), 1.0);
}

TEST(LockThread, BlockingIoHaltsAndTheThreadsOwnTimerWakesIt)
{
    sim::Machine m(policy("round-robin"), slice_params(10'000), 1);
    ThreadParams t = exact(LockKind::ticket, 10, 5);
    t.io_every = 2;
    t.io = 100;
    VmWorkload vm(m, "vm", 256, 1, t, 1);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(10'000);
    // Per two iterations: 2 x (10 + 5) ticks running and 100 halted: 130 ticks.
    EXPECT_NEAR(double(vm.stats().io_waits), 10'000.0 / 130, 1.0);
    const sched::Metrics& metrics = m.scheduler().entity(0).metrics;
    EXPECT_NEAR(double(metrics.blocked), double(vm.stats().io_waits) * 100, 100.0);
    EXPECT_EQ(metrics.runnable, 0u);
    EXPECT_EQ(vm.stats().lock_spin, 0u);
}

TEST(LockThread, HintsSayCpl0WithInterruptsOffWhileHoldingOrSpinning)
{
    sim::Machine m(policy("round-robin"), slice_params(100), 1);
    VmWorkload vm(m, "vm", 256, 2, exact(LockKind::ticket, 10, 95), 1);
    ASSERT_EQ(m.start(), nullptr);
    EXPECT_FALSE(vm.thread(0).hints().kernel_mode);  // working
    m.run_until(50);
    EXPECT_TRUE(vm.thread(0).hints().kernel_mode);  // holding
    EXPECT_TRUE(vm.thread(0).hints().interrupts_off);
    m.run_until(150);
    EXPECT_TRUE(vm.thread(1).hints().kernel_mode);  // spinning
    EXPECT_TRUE(vm.thread(1).hints().interrupts_off);
}

TEST(LockThread, SameSeedSameRunOtherSeedOtherRun)
{
    auto run = [](uint64_t seed) {
        sim::Machine m(policy("round-robin"), slice_params(500), 2);
        m.set_timer_noise(30, true, seed);
        ThreadParams t = exact(LockKind::ticket, 20, 4);
        t.jitter_percent = 50;
        t.ple_window = 5;
        t.ple_window_max = 80;
        VmWorkload a(m, "a", 256, 3, t, seed), b(m, "b", 256, 3, t, seed);
        EXPECT_EQ(m.start(), nullptr);
        m.run_until(200'000);
        return std::vector<uint64_t>{a.stats().acquisitions, b.stats().acquisitions, a.stats().lock_spin,
                                     b.stats().holder_preemptions, a.stats().ple_exits, m.decisions()};
    };
    EXPECT_EQ(run(1), run(1));
    EXPECT_NE(run(1), run(2));
}

// ThreadParams::start_skew: each vCPU stays halted until its own start instant, drawn in
// [0, start_skew], and is never on a pCPU before it; the instants differ (the APs of a guest
// come up one after the other).
TEST(LockThread, StaggeredStartsKeepEachVcpuHaltedUntilItsStart)
{
    constexpr Ticks kSkew = 5'000;
    sim::Machine m(policy("round-robin"), slice_params(500), 4);
    ThreadParams t = exact(LockKind::ticket, 20, 4);
    t.start_skew = kSkew;
    VmWorkload vm(m, "vm", 256, 4, t, 3);
    std::vector<Ticks> first_run(4, sim::kNever);
    m.on_step = [&](const sim::Machine& machine) {
        for (uint32_t p = 0; p < machine.pcpus(); ++p)
            if (const sched::Entity* e = machine.running(p)) first_run[e->index] = std::min(first_run[e->index], machine.now());
    };
    ASSERT_EQ(m.start(), nullptr);
    std::vector<Ticks> starts;
    for (uint32_t i = 0; i < 4; ++i) {
        starts.push_back(vm.thread(i).start_time());
        EXPECT_LE(starts.back(), kSkew);
        EXPECT_EQ(vm.thread(i).entity()->state == sched::State::blocked, starts.back() > 0) << i;
    }
    std::vector<Ticks> sorted = starts;
    std::sort(sorted.begin(), sorted.end());
    EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());
    EXPECT_GT(sorted.back() - sorted.front(), kSkew / 4);
    m.run_until(2 * kSkew);
    // 4 vCPUs on 4 pCPUs: each runs from the instant it starts.
    for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(first_run[i], starts[i]) << i;
    EXPECT_GT(vm.stats().acquisitions, 100u);
}

}  // namespace
