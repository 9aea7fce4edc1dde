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

}  // namespace sched_test
