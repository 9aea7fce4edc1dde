// The ticket-lock convoy of bench-sched, for the policies that break it with pause-loop yields:
// VMs of 4 vCPUs with the spinlock guest's proportions on 4 pCPUs, their vCPUs starting over
// 10 ms as APs do, so the pCPUs' slices end out of phase.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "tests/unit/sched_fixtures.hpp"
#include "tools/sim/rng.hpp"
#include "tools/sim/workload.hpp"

namespace sched_test {

// The platform: ticks per microsecond (as tools/schedsim), each slice ending up to kConvoyTimerNoise
// late, each decision running its vCPU kConvoyMinRun at least (as the hypervisor).
constexpr Ticks kConvoyUs = 1000, kConvoyTimerNoise = 10 * kConvoyUs, kConvoyMinRun = 20 * kConvoyUs;

// Each VM's lock acquisitions in 400 ms under `policy_name`; `attach` may watch every instant.
inline std::vector<uint64_t> convoy_run(const char* policy_name, uint32_t vms, bool pause_loop_exits, uint64_t seed,
                                        const std::function<void(sim::Machine&)>& attach = {})
{
    constexpr Ticks kUs = kConvoyUs;
    sim::Machine m(policy(policy_name), sched::Params::defaults(kUs), 4);
    m.set_timer_noise(kConvoyTimerNoise, true, sim::Rng::mix(seed, 0x7113e5));
    m.set_platform_delays(0, kConvoyMinRun);
    sim::ThreadParams t;
    t.cs = 4 * kUs;
    t.ncs = 40 * kUs;
    t.jitter_percent = 5;
    t.ple_window = pause_loop_exits ? 82 * kUs : 0;
    t.ple_window_max = 5243 * kUs;
    t.start_skew = 10'000 * kUs;
    std::vector<std::unique_ptr<sim::VmWorkload>> workloads;
    const char* names[] = {"a", "b", "c", "d"};
    for (uint32_t v = 0; v < vms; ++v)
        workloads.push_back(std::make_unique<sim::VmWorkload>(m, names[v % 4], 256, 4, t, seed));
    if (attach) attach(m);
    EXPECT_EQ(m.start(), nullptr);
    m.run_until(400'000 * kUs);
    std::vector<uint64_t> acquisitions;
    for (const auto& w : workloads) acquisitions.push_back(w->stats().acquisitions);
    return acquisitions;
}

// One pCPU, a spinner of VM a (a pause-loop exit every 100 ticks) and a busy VM b, under a policy
// whose pause-loop yield goes only to a VM that has had no more time per vCPU. The spinner's
// first exit hands the pCPU to b (b has had nothing); b runs its slice; then a is ahead of b and
// its exits are futile, so it keeps the rest of its slice: time only moves towards the VM that
// had less, and over a second the two end within `tolerance` ticks of each other.
inline void expect_pause_loop_yields_only_to_a_vm_behind(const char* policy_name, Ticks slice, Ticks tolerance)
{
    constexpr Ticks kSecond = 1'000'000;
    sim::Machine m(policy(policy_name), params(), 1);
    Spinner a(100);
    sim::Busy b;
    m.add_vm("a");
    sched::Entity& ea = m.add_vcpu(a);
    m.add_vm("b");
    sched::Entity& eb = m.add_vcpu(b);
    ASSERT_EQ(m.start(), nullptr);
    EXPECT_EQ(m.running(0), &ea);
    m.run_until(150);
    EXPECT_EQ(m.running(0), &eb);  // yielded at its first exit, after 100 ticks
    EXPECT_EQ(a.ran, 100u);
    m.run_until(100 + slice + 50);
    EXPECT_EQ(m.running(0), &ea);  // b's whole slice, then a again
    m.run_until(100 + slice + slice / 2);
    EXPECT_EQ(m.running(0), &ea);  // a is ahead of b now: its exits are futile
    EXPECT_GT(ea.metrics.pause_loop_exits, 40u);
    m.run_until(kSecond);
    EXPECT_NEAR(double(a.ran), double(b.ran), double(tolerance));
    EXPECT_EQ(a.ran + b.ran, kSecond);
}

}  // namespace sched_test
