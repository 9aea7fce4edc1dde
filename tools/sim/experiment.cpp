#include "tools/sim/experiment.hpp"

#include <cmath>
#include <cstdio>
#include <memory>

#include "sched/params.hpp"
#include "sched/policy.hpp"
#include "sched/scheduler.hpp"
#include "tools/sim/machine.hpp"
#include "tools/sim/rng.hpp"
#include "tools/sim/workload.hpp"

namespace sim {

Config::Config()
{
    sched::Params d = sched::Params::defaults(1);  // one tick per microsecond: values are in us
    slice_us = double(d.slice);
    deferral_us = double(d.max_deferral);
    max_hint_us = double(d.max_hint);
    hint_budget_us = double(d.hint_budget);
    costop_us = double(d.costop_threshold);
    credit_period_us = double(d.credit_period);
}

uint32_t Config::vcpus_of(uint32_t vm) const
{
    if (vm_vcpus.empty()) return vcpus;
    return vm < vm_vcpus.size() ? vm_vcpus[vm] : vm_vcpus.back();
}

uint32_t Config::weight_of(uint32_t vm) const
{
    if (weights.empty()) return 256;
    return vm < weights.size() ? weights[vm] : weights.back();
}

uint32_t Config::total_vcpus() const
{
    uint32_t n = 0;
    for (uint32_t v = 0; v < vms; ++v) n += vcpus_of(v);
    return n;
}

sched::Ticks Config::ticks(double us) const { return sched::Ticks(std::llround(us * double(ticks_per_us))); }

std::string Config::check() const
{
    char why[160];
    if (!pcpus || pcpus > sched::kMaxPcpus)
        return std::snprintf(why, sizeof why, "pcpus must be 1..%u", sched::kMaxPcpus), why;
    if (!vms || vms > sched::kMaxVms) return std::snprintf(why, sizeof why, "vms must be 1..%u", sched::kMaxVms), why;
    for (uint32_t v = 0; v < vms; ++v)
        if (!vcpus_of(v)) return "every VM needs at least one vCPU";
    if (total_vcpus() > sched::kMaxEntities)
        return std::snprintf(why, sizeof why, "%u vCPUs in all, at most %u", total_vcpus(), sched::kMaxEntities), why;
    if (!ticks_per_us) return "ticks-per-us must be at least 1";
    if (ticks(cs_us) == 0) return "the critical section (cs-us) must last at least one tick";
    if (ticks(slice_us) == 0) return "the slice (slice-us) must last at least one tick";
    if (ple_window_us > 0 && ticks(ple_window_us) == 0) return "ple-window-us is below one tick (0 turns PLE off)";
    if (io_every && ticks(io_us) == 0) return "io-us must last at least one tick when io-every is set";
    if (!duration_ms) return "duration-ms must be at least 1";
    if (double(duration_ms) * 1000.0 * double(ticks_per_us) > 1e18) return "duration-ms x ticks-per-us is too large";
    return "";
}

double jain_index(const std::vector<double>& x)
{
    double sum = 0, squares = 0;
    for (double v : x) {
        sum += v;
        squares += v * v;
    }
    if (x.empty() || squares == 0) return 1.0;
    return sum * sum / (double(x.size()) * squares);
}

namespace {

void emit(void* context, const char* line) { (*static_cast<std::function<void(const char*)>*>(context))(line); }

}  // namespace

Result run_experiment(const Config& c, const RunOutput& output)
{
    Result r;
    r.config = c;
    const sched::Policy* policy = sched::find_policy(Str(c.policy.c_str()));
    if (!policy) {
        r.refused = "no policy named " + c.policy;
        return r;
    }
    sched::Params params = sched::Params::defaults(c.ticks_per_us);
    params.slice = c.ticks(c.slice_us);
    params.max_deferral = c.ticks(c.deferral_us);
    params.max_hint = c.ticks(c.max_hint_us);
    params.hint_budget = c.ticks(c.hint_budget_us);
    params.costop_threshold = c.ticks(c.costop_us);
    params.credit_period = c.ticks(c.credit_period_us);

    ThreadParams tp;
    tp.lock = c.lock;
    tp.cs = c.ticks(c.cs_us);
    tp.ncs = c.ticks(c.ncs_us);
    tp.jitter_percent = c.jitter_percent;
    tp.barrier_every = c.barrier_every;
    tp.io_every = c.io_every;
    tp.io = c.ticks(c.io_us);
    tp.ple_window = c.ticks(c.ple_window_us);
    tp.ple_window_max = c.ple_max_us > 0 ? c.ticks(c.ple_max_us) : 64 * tp.ple_window;
    tp.pv_spin = c.ticks(c.pv_spin_us);
    tp.kick_cost = c.ticks(c.kick_us);
    tp.pv_steal = c.pv_steal;
    tp.start_skew = c.ticks(c.start_skew_us);

    Machine machine(*policy, params, c.pcpus, c.trace_events);
    machine.set_timer_noise(c.ticks(c.timer_jitter_us), c.random_phase, Rng::mix(c.seed, 0x7113e5));
    machine.set_platform_delays(c.ticks(c.kick_latency_us), c.ticks(c.min_run_us));
    std::vector<std::unique_ptr<VmWorkload>> workloads;
    for (uint32_t v = 0; v < c.vms; ++v) {
        char name[16];
        std::snprintf(name, sizeof name, "vm%u", v);
        workloads.push_back(std::make_unique<VmWorkload>(machine, name, c.weight_of(v), c.vcpus_of(v), tp, c.seed));
    }
    if (const char* why = machine.start()) {
        r.refused = why;
        return r;
    }
    sched::Ticks end = c.duration_ms * 1000 * c.ticks_per_us;
    machine.run_until(end);

    // dump_metrics also brings every entity's accounting up to `end`: call it even without output.
    std::function<void(const char*)> metrics = output.metrics ? output.metrics : [](const char*) {};
    machine.scheduler().dump_metrics(end, sched::LineSink{emit, &metrics});
    if (output.trace) {
        std::function<void(const char*)> trace = output.trace;
        machine.scheduler().dump_trace(sched::LineSink{emit, &trace});
    }

    double seconds = double(c.duration_ms) / 1000.0;
    LatencyHistogram all;
    sched::Ticks run = 0, spin = 0;
    std::vector<double> shares;
    for (uint32_t v = 0; v < c.vms; ++v) {
        const VmWorkload& w = *workloads[v];
        const sched::VmInfo& info = machine.scheduler().vm(w.vm());
        VmResult vr;
        vr.name = info.name;
        vr.vcpus = info.count;
        vr.weight = info.weight;
        vr.stats = w.stats();
        for (uint32_t i = 0; i < info.count; ++i) {
            const sched::Metrics& m = machine.scheduler().entity(info.first + i).metrics;
            vr.run += m.run;
            vr.steal += m.runnable;
            vr.costop += m.costop;
            vr.directed_yields += m.directed_yields;
            vr.directed_yield_hits += m.directed_yield_hits;
            vr.deferrals += m.deferrals;
            vr.preemptions += m.preemptions;
        }
        vr.acq_per_s = double(vr.stats.acquisitions) / seconds;
        sched::Ticks wasted = vr.stats.lock_spin + vr.stats.barrier_spin;
        vr.spin_pct = vr.run ? 100.0 * double(wasted) / double(vr.run) : 0.0;
        run += vr.run;
        spin += wasted;
        all.merge(vr.stats.latency);
        shares.push_back(double(vr.run) / double(vr.weight));
        r.acq_per_s += vr.acq_per_s;
        r.holder_preemptions += vr.stats.holder_preemptions;
        r.waiter_preemptions += vr.stats.waiter_preemptions;
        r.ple_exits += vr.stats.ple_exits;
        r.pv_halts += vr.stats.pv_halts;
        r.pv_kicks += vr.stats.pv_kicks;
        r.barriers += vr.stats.barriers;
        r.directed_yields += vr.directed_yields;
        r.directed_yield_hits += vr.directed_yield_hits;
        r.deferrals += vr.deferrals;
        r.costop_us += double(vr.costop) / double(c.ticks_per_us);
        r.vms.push_back(std::move(vr));
    }
    r.spin_pct = run ? 100.0 * double(spin) / double(run) : 0.0;
    r.jain = jain_index(shares);
    r.p50_us = double(all.percentile(50)) / double(c.ticks_per_us);
    r.p99_us = double(all.percentile(99)) / double(c.ticks_per_us);
    r.decisions = machine.decisions();
    return r;
}

}  // namespace sim
