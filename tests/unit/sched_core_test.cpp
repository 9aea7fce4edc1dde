#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/sched_fixtures.hpp"

using namespace sched_test;

namespace {

std::vector<std::string> lines_of(auto&& dump)
{
    std::vector<std::string> lines;
    dump(sched::LineSink{[](void* c, const char* line) { static_cast<std::vector<std::string>*>(c)->push_back(line); },
                         &lines});
    return lines;
}

TEST(SchedCore, FindsPoliciesByName)
{
    EXPECT_NE(sched::find_policy("round-robin"), nullptr);
    EXPECT_EQ(sched::find_policy("fifo"), nullptr);
    for (const sched::Policy* const* p = sched::kPolicies; *p; ++p) EXPECT_EQ(sched::find_policy((*p)->name), *p);
}

TEST(SchedCore, HintsAreBoundedPerRequestAndPerWindow)
{
    sched::Params p = params();  // max_hint 100, budget 500 per 10,000-tick window
    sim::Machine m(policy("round-robin"), p, 1);
    sim::Busy b;
    m.add_vm("vm");
    sched::Entity& e = m.add_vcpu(b);
    ASSERT_EQ(m.start(), nullptr);
    EXPECT_EQ(m.scheduler().hint(e, 0, 1'000'000), p.max_hint);
    EXPECT_EQ(e.hint_until, p.max_hint);
    Ticks total = p.max_hint;
    for (int i = 0; i < 10; ++i) total += m.scheduler().hint(e, 1, p.max_hint);
    EXPECT_EQ(total, p.hint_budget);
    EXPECT_EQ(m.scheduler().hint(e, p.slice + 1, 10), 10u);  // a new window
    EXPECT_EQ(e.metrics.hints_granted, 6u);
}

TEST(SchedCore, TraceRecordsSwitchesInTheDumpFormat)
{
    sim::Machine m(policy("round-robin"), params(), 1, 64);
    TwoBusyVms vms;
    vms.add(m);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(30'000);
    auto lines = lines_of([&](sched::LineSink sink) { m.scheduler().dump_trace(sink); });
    ASSERT_GE(lines.size(), 6u);
    EXPECT_EQ(lines[0], "sched-trace-begin policy=round-robin pcpus=1 ticks_per_us=1");
    EXPECT_EQ(lines[1], "sched-trace-vm 0 first 1");
    EXPECT_EQ(lines[2], "sched-trace-vm 1 second 1");
    EXPECT_EQ(lines[3], "sched-trace 0 0 run 0 0 10000");
    EXPECT_EQ(lines[4], "sched-trace 0 10000 deschedule 0 0 0");
    EXPECT_EQ(lines[5], "sched-trace 0 10000 run 1 0 10000");
    EXPECT_EQ(lines.back(), "sched-trace-end events=7 lost=0");
}

TEST(SchedCore, TraceRingKeepsTheNewestEvents)
{
    sched::TraceEvent buffer[4];
    sched::TraceRing ring;
    ring.attach(buffer, 4);
    for (uint32_t i = 0; i < 10; ++i) ring.record(sched::TraceEvent{i, sched::TraceKind::wake, 0, 0, 0, 0, 0});
    std::vector<Ticks> seen;
    ring.for_each([&](const sched::TraceEvent& e) { seen.push_back(e.when); });
    EXPECT_EQ(seen, (std::vector<Ticks>{6, 7, 8, 9}));
    EXPECT_EQ(ring.lost(), 6u);
}

TEST(SchedCore, MetricsLinesNameVmAndVcpu)
{
    sim::Machine m(policy("round-robin"), params(), 1);
    sim::Busy a;
    m.add_vm("solo");
    m.add_vcpu(a);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(5'000);
    auto lines = lines_of([&](sched::LineSink sink) { m.scheduler().dump_metrics(m.now(), sink); });
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines[0].rfind("sched-metrics vm=solo vcpu=0 run_us=5000 steal_us=0 blocked_us=0 costop_us=0 ", 0), 0u)
        << lines[0];
}

TEST(SchedCore, EndedEntityNeverRunsAgain)
{
    sim::Machine m(policy("round-robin"), params(), 1);
    sim::Busy a, b;
    m.add_vm("vm");
    sched::Entity& ea = m.add_vcpu(a);
    m.add_vcpu(b);
    ASSERT_EQ(m.start(), nullptr);
    m.run_until(1000);
    m.scheduler().end(ea, m.now());
    Ticks before = a.ran;
    m.run_until(100'000);
    EXPECT_EQ(a.ran, before);
    EXPECT_EQ(b.ran, 100'000 - before);
}

// vcpu_loop blocks a halting vCPU and then wakes it at once when an interrupt raced with the halt,
// before its pCPU reschedules: under every policy both entities then go on taking turns. (The
// double queuing this once caused in round-robin's intrusive list repaired itself on the next
// push, so it is not visible from outside the policy; the core now keeps the entity current.)
TEST(SchedCore, AWakeBeforeTheBlockedEntityLeftItsPcpuKeepsBothRunning)
{
    for (const sched::Policy* const* p = sched::kPolicies; *p; ++p) {
        SCOPED_TRACE((*p)->name);
        sim::Machine m(**p, params(), 1);
        TwoBusyVms vms;
        vms.add(m);
        ASSERT_EQ(m.start(), nullptr);
        sched::Scheduler& s = m.scheduler();
        sched::Entity* running = s.schedule(0, 1).next;
        ASSERT_NE(running, nullptr);
        s.block(*running, 2);
        EXPECT_TRUE(s.wake(*running, 3));
        int runs[2] = {0, 0};
        Ticks now = 4;
        for (int i = 0; i < 8; ++i, now += params().slice) {
            sched::Entity* next = s.schedule(0, now).next;
            ASSERT_NE(next, nullptr);
            ++runs[next->vm];
        }
        EXPECT_GE(runs[0], 2);
        EXPECT_GE(runs[1], 2);
    }
}

TEST(SchedCore, AnEntityWithNoUsableAffinityIsRefused)
{
    sim::Machine m(policy("round-robin"), params(), 2);
    sim::Busy a;
    m.add_vm("pinned");
    m.add_vcpu(a, 0b100);
    EXPECT_STREQ(m.start(), "vm pinned: its pinning names no CPU that exists");
}

}  // namespace
