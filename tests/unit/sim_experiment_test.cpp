// tools/schedsim's layers above the workload: a whole run (experiment.hpp), the command line
// (options.hpp) and the CSV/table output (report.hpp).
#include <gtest/gtest.h>

#include "sched/policy.hpp"
#include "tools/sim/experiment.hpp"
#include "tools/sim/options.hpp"
#include "tools/sim/report.hpp"

namespace {

sim::Config small()
{
    sim::Config c;
    c.duration_ms = 20;
    c.ticks_per_us = 10;
    return c;
}

size_t policy_count()
{
    size_t n = 0;
    for (const sched::Policy* const* p = sched::kPolicies; *p; ++p) ++n;
    return n;
}

TEST(Experiment, SameConfigurationSameResult)
{
    sim::Config c = small();
    c.vms = 2;
    c.io_every = 5;
    c.barrier_every = 4;
    std::string a = sim::csv_row(sim::run_experiment(c)), b = sim::csv_row(sim::run_experiment(c));
    EXPECT_EQ(a, b);
    c.seed = 2;
    EXPECT_NE(sim::csv_row(sim::run_experiment(c)), a);
}

TEST(Experiment, OneVmAtOneToOneRunsFlatOut)
{
    sim::Result r = sim::run_experiment(small());
    ASSERT_TRUE(r.refused.empty());
    ASSERT_EQ(r.vms.size(), 1u);
    // 4 threads, 10 us of work and 1 us of lock each: about 4 / 11 us minus a little contention.
    EXPECT_GT(r.acq_per_s, 300'000.0);
    EXPECT_LT(r.acq_per_s, 4.0 / 11e-6);
    EXPECT_EQ(r.vms[0].run, 4u * 20 * 1000 * 10);  // every vCPU ran the whole time
    EXPECT_EQ(r.holder_preemptions, 0u);
    EXPECT_DOUBLE_EQ(r.jain, 1.0);
    EXPECT_LT(r.spin_pct, 10.0);
    EXPECT_GE(r.p99_us, r.p50_us);
}

TEST(Experiment, OvercommitHurtsRoundRobinWithTicketLocks)
{
    sim::Config c = small();
    c.duration_ms = 200;
    c.ncs_us = 5;
    sim::Result one = sim::run_experiment(c);
    c.vms = 2;
    sim::Result two = sim::run_experiment(c);
    EXPECT_LT(two.acq_per_s, 0.8 * one.acq_per_s);
    EXPECT_GT(two.holder_preemptions, 0u);
    EXPECT_GT(two.waiter_preemptions, 0u);
    EXPECT_GT(two.spin_pct, 4 * one.spin_pct);
    EXPECT_GT(two.jain, 0.95);  // round-robin still splits the CPU evenly
}

TEST(Experiment, MetricsAndTraceLinesComeOut)
{
    sim::Config c = small();
    c.trace_events = 1000;
    std::vector<std::string> metrics, trace;
    sim::RunOutput out;
    out.metrics = [&](const char* line) { metrics.emplace_back(line); };
    out.trace = [&](const char* line) { trace.emplace_back(line); };
    sim::run_experiment(c, out);
    ASSERT_GE(metrics.size(), 4u);
    EXPECT_EQ(metrics[0].rfind("sched-metrics vm=vm0 vcpu=0 run_us=20000 ", 0), 0u) << metrics[0];
    ASSERT_GE(trace.size(), 3u);
    EXPECT_EQ(trace.front(), "sched-trace-begin policy=round-robin pcpus=4 ticks_per_us=10");
    EXPECT_EQ(trace[1], "sched-trace-vm 0 vm0 4");
    EXPECT_EQ(trace.back().rfind("sched-trace-end events=", 0), 0u);
}

TEST(Experiment, JainIndex)
{
    EXPECT_DOUBLE_EQ(sim::jain_index({3, 3, 3}), 1.0);
    EXPECT_DOUBLE_EQ(sim::jain_index({1, 0}), 0.5);
    EXPECT_DOUBLE_EQ(sim::jain_index({}), 1.0);
}

TEST(Experiment, WeightedSharesAreComparedPerWeight)
{
    sim::Config c = small();
    c.vms = 2;
    c.weights = {256, 512};
    sim::Result r = sim::run_experiment(c);
    // Round-robin ignores weights: equal CPU time is unfair against weights 1:2.
    EXPECT_NEAR(r.jain, 0.9, 0.02);
}

TEST(Options, ParsesValuesAndFlags)
{
    sim::Invocation inv;
    ASSERT_EQ(sim::parse_command_line({"--pcpus", "8", "--vm-vcpus=4,2", "--lock", "pv", "--cs-us", "0.5",
                                       "--weights", "256:512", "--metrics", "--csv", "out.csv", "--seed", "7"},
                                      inv),
              "");
    EXPECT_EQ(inv.base.pcpus, 8u);
    EXPECT_EQ(inv.base.vms, 2u);  // from --vm-vcpus
    EXPECT_EQ(inv.base.total_vcpus(), 6u);
    EXPECT_EQ(inv.base.lock, sim::LockKind::pv);
    EXPECT_DOUBLE_EQ(inv.base.cs_us, 0.5);
    EXPECT_EQ(inv.base.weight_of(1), 512u);
    EXPECT_EQ(inv.base.weight_of(5), 512u);
    EXPECT_TRUE(inv.metrics);
    EXPECT_EQ(inv.csv_path, "out.csv");
    EXPECT_EQ(inv.base.seed, 7u);
    EXPECT_EQ(inv.base.trace_events, 0u);
    ASSERT_EQ(sim::parse_command_line({"--trace", "t.txt"}, inv), "");
    EXPECT_GT(inv.base.trace_events, 0u);
}

TEST(Options, ErrorsNameTheOptionAndTheValue)
{
    sim::Invocation inv;
    EXPECT_EQ(sim::parse_command_line({"--bogus"}, inv), "unknown option '--bogus'");
    EXPECT_EQ(sim::parse_command_line({"--pcpus", "x"}, inv), "--pcpus: 'x' is not a whole number");
    EXPECT_EQ(sim::parse_command_line({"--pcpus", "65"}, inv), "--pcpus: 65 is out of range (1..64)");
    EXPECT_EQ(sim::parse_command_line({"--pcpus"}, inv), "--pcpus needs a value");
    EXPECT_EQ(sim::parse_command_line({"--lock", "mutex"}, inv), "--lock: 'mutex' is not ticket, queued or pv");
    EXPECT_EQ(sim::parse_command_line({"--cs-us", "-1"}, inv), "--cs-us: '-1' is not a non-negative number of microseconds");
    EXPECT_NE(sim::parse_command_line({"--policy", "nope"}, inv).find("no policy 'nope' (policies: round-robin"), std::string::npos);
    EXPECT_EQ(sim::parse_command_line({"--sweep", "vms"}, inv), "--sweep: 'vms' is not PARAM=v1,v2,...");
    EXPECT_EQ(sim::parse_command_line({"--sweep", "frob=1,2"}, inv), "--sweep: no option '--frob' to sweep");
    EXPECT_EQ(sim::parse_command_line({"--sweep", "vms=1,x"}, inv), "--sweep: --vms: 'x' is not a whole number");
    EXPECT_EQ(sim::parse_command_line({"stray"}, inv), "unexpected argument 'stray' (options start with --)");
    EXPECT_EQ(sim::parse_command_line({"--metrics=1"}, inv), "--metrics takes no value");
}

TEST(Options, SweepsMultiplyAndAllExpandsToEveryPolicy)
{
    sim::Invocation inv;
    ASSERT_EQ(sim::parse_command_line({"--sweep", "vms=1,2,3", "--sweep", "lock=ticket,pv"}, inv), "");
    std::vector<sim::Config> runs;
    ASSERT_EQ(sim::expand(inv, runs), "");
    ASSERT_EQ(runs.size(), 6u);
    EXPECT_EQ(runs[0].vms, 1u);
    EXPECT_EQ(runs[1].lock, sim::LockKind::pv);
    EXPECT_EQ(runs[5].vms, 3u);

    ASSERT_EQ(sim::parse_command_line({"--policy", "all", "--sweep", "vms=1,2"}, inv), "");
    ASSERT_EQ(sim::expand(inv, runs), "");
    ASSERT_EQ(runs.size(), 2 * policy_count());
    EXPECT_EQ(runs[0].policy, sched::kPolicies[0]->name);
    EXPECT_EQ(runs[1].vms, 2u);

    ASSERT_EQ(sim::parse_command_line({"--sweep", "vms=1,2", "--sweep", "policy=all"}, inv), "");
    ASSERT_EQ(sim::expand(inv, runs), "");
    ASSERT_EQ(runs.size(), 2 * policy_count());
    EXPECT_EQ(runs[0].vms, 1u);
    EXPECT_EQ(runs.back().vms, 2u);
}

TEST(Options, ImpossibleSweptConfigurationsAreErrors)
{
    sim::Invocation inv;
    ASSERT_EQ(sim::parse_command_line({"--vcpus", "64", "--sweep", "vms=4,5"}, inv), "");
    std::vector<sim::Config> runs;
    EXPECT_EQ(sim::expand(inv, runs), "320 vCPUs in all, at most 256 (with vms=5)");
    ASSERT_EQ(sim::parse_command_line({"--cs-us", "0"}, inv), "");
    EXPECT_EQ(sim::expand(inv, runs), "the critical section (cs-us) must last at least one tick");
}

TEST(Options, UsageListsEveryOptionAndPolicy)
{
    std::string text = sim::usage();
    for (const char* option : {"--policy", "--pcpus", "--vms", "--vcpus", "--vm-vcpus", "--weights", "--slice-us",
                               "--ple-window-us", "--lock", "--cs-us", "--ncs-us", "--barrier-every", "--io-every",
                               "--io-us", "--duration-ms", "--ticks-per-us", "--seed", "--sweep", "--csv", "--trace",
                               "--metrics"})
        EXPECT_NE(text.find(option), std::string::npos) << option;
    for (const sched::Policy* const* p = sched::kPolicies; *p; ++p) EXPECT_NE(text.find((*p)->name), std::string::npos);
}

TEST(Report, CsvRowsMatchTheHeader)
{
    auto fields = [](const std::string& line) {
        size_t n = 1;
        for (char c : line) n += c == ',';
        return n;
    };
    sim::Config c = small();
    c.vms = 2;
    sim::Result r = sim::run_experiment(c);
    std::string row = sim::csv_row(r);
    EXPECT_EQ(fields(row), fields(sim::csv_header()));
    EXPECT_EQ(row.rfind("round-robin,4,2,8,4,256,2.0000,ticket,", 0), 0u) << row;
    EXPECT_NE(sim::table_row(r, {}).find("round-robin"), std::string::npos);
    EXPECT_EQ(sim::extra_columns({"policy", "vms", "cs-us"}), std::vector<std::string>{"cs-us"});
}

}  // namespace
