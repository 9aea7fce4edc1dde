// One simulation run of tools/schedsim: a machine of `pcpus` pCPUs under one policy, `vms` VMs
// running the lock workload (workload.hpp), and what came out of it, per VM and in total.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sched/entity.hpp"
#include "tools/sim/guest_lock.hpp"
#include "tools/sim/lock_stats.hpp"

namespace sim {

// Times are in microseconds (fractions allowed) and converted with ticks_per_us.
struct Config {
    Config();

    std::string policy = "round-robin";  // or "all" before Invocation::expand
    uint32_t pcpus = 4;
    uint32_t vms = 1;
    uint32_t vcpus = 4;               // per VM, unless vm_vcpus is set
    std::vector<uint32_t> vm_vcpus;   // per VM; the last entry repeats
    std::vector<uint32_t> weights;    // per VM; the last entry repeats; empty: 256
    LockKind lock = LockKind::ticket;
    double cs_us = 1;
    double ncs_us = 10;
    uint32_t jitter_percent = 50;
    uint32_t barrier_every = 0;
    uint32_t io_every = 0;
    double io_us = 100;
    double ple_window_us = 2;  // 0: no pause-loop exiting
    double ple_max_us = 0;     // 0: 64 x ple_window_us; equal to it: no adaptation
    double pv_spin_us = 50;    // about 2^15 PAUSEs
    double kick_us = 2;
    bool pv_steal = true;  // pv: lock stealing as Linux's qspinlock (false: strict hand-off)
    // Machine::set_timer_noise: pCPU timers in random phase, slice ends up to this much late.
    bool random_phase = true;
    double timer_jitter_us = 10;
    // Machine::set_platform_delays: a kick takes effect this much later; a decision that runs a
    // vCPU runs it at least this long (the hypervisor: an IPI and a VM exit; 20 us).
    double kick_latency_us = 0;
    double min_run_us = 0;
    // ThreadParams::start_skew: each vCPU starts at a random instant of [0, start_skew_us], as
    // the APs a guest starts one after the other (0: all at once).
    double start_skew_us = 0;
    // Scheduler parameters (sched::Params), defaults from Params::defaults.
    double slice_us, deferral_us, max_hint_us, hint_budget_us, costop_us, credit_period_us;
    uint64_t duration_ms = 1000;
    uint64_t ticks_per_us = 1000;
    uint64_t seed = 1;
    uint32_t trace_events = 0;  // per pCPU; 0: no trace

    uint32_t vcpus_of(uint32_t vm) const;
    uint32_t weight_of(uint32_t vm) const;
    uint32_t total_vcpus() const;
    double overcommit() const { return double(total_vcpus()) / pcpus; }
    sched::Ticks ticks(double us) const;
    // Empty when the configuration can run, else why not (sizes, zero critical section...).
    std::string check() const;
};

struct VmResult {
    std::string name;
    uint32_t vcpus = 0, weight = 0;
    LockStats stats;
    sched::Ticks run = 0, steal = 0, costop = 0;  // summed over its vCPUs
    uint64_t directed_yields = 0, directed_yield_hits = 0, deferrals = 0, preemptions = 0;
    double acq_per_s = 0;
    double spin_pct = 0;  // of its run time
};

struct Result {
    Config config;
    std::string refused;  // non-empty: the policy refused the configuration (nothing ran)
    std::vector<VmResult> vms;
    double acq_per_s = 0;
    double spin_pct = 0;  // lock and barrier spinning as a share of all vCPU run time
    double jain = 1;      // Jain's index over each VM's run time divided by its weight
    double p50_us = 0, p99_us = 0;
    uint64_t holder_preemptions = 0, waiter_preemptions = 0;
    uint64_t directed_yields = 0, directed_yield_hits = 0, deferrals = 0;
    uint64_t ple_exits = 0, pv_halts = 0, pv_kicks = 0, barriers = 0;
    double costop_us = 0;
    uint64_t decisions = 0;
};

struct RunOutput {
    std::function<void(const char*)> metrics;  // Scheduler::dump_metrics lines, when set
    std::function<void(const char*)> trace;    // Scheduler::dump_trace lines, when set
};

// Jain's fairness index of `x`: (sum x)^2 / (n sum x^2), 1 for perfectly equal shares.
double jain_index(const std::vector<double>& x);

// Runs `config` (which must pass check() and name an existing policy) to its end.
Result run_experiment(const Config& config, const RunOutput& output = {});

}  // namespace sim
