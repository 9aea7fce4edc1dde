#include "tools/sim/report.hpp"

#include <cstdarg>
#include <cstdio>

#include "tools/sim/options.hpp"

namespace sim {
namespace {

std::string printf_string(const char* pattern, ...)
{
    char buffer[512];
    va_list args;
    va_start(args, pattern);
    std::vsnprintf(buffer, sizeof buffer, pattern, args);
    va_end(args);
    return buffer;
}

std::string extra_cells(const Config& config, const std::vector<std::string>& extra, bool header)
{
    std::string s;
    for (const std::string& name : extra) {
        std::string cell = header ? name : option_value(config, name);
        size_t width = name.size() > 8 ? name.size() : 8;
        s += printf_string("%*s ", int(width), cell.c_str());
    }
    return s;
}

std::string join_vms(const Result& r, double VmResult::*field, const char* pattern)
{
    std::string s;
    for (const VmResult& vm : r.vms) s += (s.empty() ? "" : ";") + printf_string(pattern, vm.*field);
    return s;
}

}  // namespace

std::vector<std::string> extra_columns(const std::vector<std::string>& swept)
{
    std::vector<std::string> extra;
    for (const std::string& name : swept)
        if (name != "policy" && name != "pcpus" && name != "vms" && name != "vcpus" && name != "lock") extra.push_back(name);
    return extra;
}

std::string table_header(const std::vector<std::string>& extra)
{
    return printf_string("%-18s %s%5s %3s %5s %5s %-6s %10s %6s %7s %7s %6s %8s %9s %15s %7s %9s\n", "policy",
                         extra_cells(Config(), extra, true).c_str(), "pcpus", "vms", "vcpus", "ovc", "lock", "acq/s",
                         "spin%", "LHP", "LWP", "jain", "p50us", "p99us", "yld/hit", "defer", "costop_ms");
}

std::string table_row(const Result& r, const std::vector<std::string>& extra)
{
    const Config& c = r.config;
    std::string head = printf_string("%-18s %s%5u %3u %5u %5.2f %-6s ", c.policy.c_str(),
                                     extra_cells(c, extra, false).c_str(), c.pcpus, c.vms, c.total_vcpus(),
                                     c.overcommit(), lock_kind_name(c.lock));
    if (!r.refused.empty()) return head + "refused: " + r.refused + "\n";
    std::string yields = printf_string("%llu/%llu", (unsigned long long)r.directed_yields,
                                       (unsigned long long)r.directed_yield_hits);
    return head + printf_string("%10.0f %6.2f %7llu %7llu %6.3f %8.2f %9.2f %15s %7llu %9.2f\n", r.acq_per_s,
                                r.spin_pct, (unsigned long long)r.holder_preemptions,
                                (unsigned long long)r.waiter_preemptions, r.jain, r.p50_us, r.p99_us, yields.c_str(),
                                (unsigned long long)r.deferrals, r.costop_us / 1000.0);
}

std::string csv_header()
{
    return "policy,pcpus,vms,vcpus,vm_vcpus,weights,overcommit,lock,cs_us,ncs_us,jitter_pct,barrier_every,"
           "io_every,io_us,ple_window_us,ple_max_us,pv_spin_us,kick_us,pv_steal,timer_phase,timer_jitter_us,slice_us,deferral_us,costop_threshold_us,"
           "duration_ms,ticks_per_us,seed,"
           "acq_per_s,acq_per_s_vm,spin_pct,spin_pct_vm,lock_holder_preemptions,lock_waiter_preemptions,jain,"
           "p50_us,p99_us,directed_yields,directed_yield_hits,deferrals,costop_us,ple_exits,pv_halts,pv_kicks,"
           "barriers\n";
}

std::string csv_row(const Result& r)
{
    const Config& c = r.config;
    std::string s = printf_string("%s,%u,%u,%u,%s,%s,%.4f,%s,", c.policy.c_str(), c.pcpus, c.vms, c.total_vcpus(),
                                  option_value(c, "vm-vcpus").c_str(), option_value(c, "weights").c_str(),
                                  c.overcommit(), lock_kind_name(c.lock));
    s += printf_string("%g,%g,%u,%u,%u,%g,%g,%g,%g,%g,%s,%s,%g,%g,%g,%g,%llu,%llu,%llu,", c.cs_us, c.ncs_us,
                       c.jitter_percent, c.barrier_every, c.io_every, c.io_us, c.ple_window_us, c.ple_max_us,
                       c.pv_spin_us, c.kick_us, c.pv_steal ? "on" : "off", c.random_phase ? "random" : "aligned", c.timer_jitter_us, c.slice_us, c.deferral_us, c.costop_us, (unsigned long long)c.duration_ms,
                       (unsigned long long)c.ticks_per_us, (unsigned long long)c.seed);
    s += printf_string("%.1f,%s,%.3f,%s,%llu,%llu,%.4f,%.3f,%.3f,%llu,%llu,%llu,%.1f,%llu,%llu,%llu,%llu\n", r.acq_per_s,
                       join_vms(r, &VmResult::acq_per_s, "%.1f").c_str(), r.spin_pct,
                       join_vms(r, &VmResult::spin_pct, "%.3f").c_str(), (unsigned long long)r.holder_preemptions,
                       (unsigned long long)r.waiter_preemptions, r.jain, r.p50_us, r.p99_us,
                       (unsigned long long)r.directed_yields, (unsigned long long)r.directed_yield_hits,
                       (unsigned long long)r.deferrals, r.costop_us, (unsigned long long)r.ple_exits,
                       (unsigned long long)r.pv_halts, (unsigned long long)r.pv_kicks, (unsigned long long)r.barriers);
    return s;
}

std::string per_vm_lines(const Result& r)
{
    std::string s;
    double per_us = double(r.config.ticks_per_us);
    for (const VmResult& vm : r.vms) {
        const LockStats& st = vm.stats;
        s += printf_string(
            "  %s: vcpus=%u weight=%u acq/s=%.0f spin%%=%.2f run_ms=%.1f steal_ms=%.1f LHP=%llu LWP=%llu "
            "p50_us=%.2f p99_us=%.2f ple_exits=%llu (useful %llu, futile %llu) pv_halts=%llu pv_kicks=%llu "
            "barriers=%llu io=%llu\n",
            vm.name.c_str(), vm.vcpus, vm.weight, vm.acq_per_s, vm.spin_pct, double(vm.run) / per_us / 1000.0,
            double(vm.steal) / per_us / 1000.0, (unsigned long long)st.holder_preemptions,
            (unsigned long long)st.waiter_preemptions, double(st.latency.percentile(50)) / per_us,
            double(st.latency.percentile(99)) / per_us, (unsigned long long)st.ple_exits,
            (unsigned long long)st.ple_useful, (unsigned long long)st.ple_futile, (unsigned long long)st.pv_halts,
            (unsigned long long)st.pv_kicks, (unsigned long long)st.barriers, (unsigned long long)st.io_waits);
    }
    return s;
}

}  // namespace sim
