#include "tools/sim/options.hpp"

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "sched/policy.hpp"

namespace sim {
namespace {

std::string bad(const std::string& name, const std::string& value, const char* what)
{
    return "--" + name + ": '" + value + "' is not " + what;
}

std::string parse_u64(const std::string& name, const std::string& value, uint64_t min, uint64_t max, uint64_t& out)
{
    if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos)
        return bad(name, value, "a whole number");
    errno = 0;
    unsigned long long v = std::strtoull(value.c_str(), nullptr, 10);
    if (errno == ERANGE || v < min || v > max)
        return "--" + name + ": " + value + " is out of range (" + std::to_string(min) + ".." + std::to_string(max) + ")";
    out = v;
    return "";
}

std::string parse_u32(const std::string& name, const std::string& value, uint32_t min, uint32_t max, uint32_t& out)
{
    uint64_t v = 0;
    std::string error = parse_u64(name, value, min, max, v);
    if (error.empty()) out = uint32_t(v);
    return error;
}

// A duration in microseconds: a non-negative decimal number ("10", "0.5", "1e3").
std::string parse_us(const std::string& name, const std::string& value, double& out)
{
    const char* text = value.c_str();
    char* end = nullptr;
    double v = std::strtod(text, &end);
    if (value.empty() || *end || !std::isfinite(v) || v < 0 || value.find_first_of("xXpP") != std::string::npos)
        return bad(name, value, "a non-negative number of microseconds");
    if (v > 1e12) return "--" + name + ": " + value + " is too large";
    out = v;
    return "";
}

// "4,4,2" or "4:4:2" (the second form inside --sweep values).
std::string parse_list(const std::string& name, const std::string& value, uint32_t min, uint32_t max,
                       std::vector<uint32_t>& out)
{
    std::vector<uint32_t> list;
    size_t start = 0;
    while (true) {
        size_t stop = value.find_first_of(",:", start);
        std::string item = value.substr(start, stop == std::string::npos ? std::string::npos : stop - start);
        uint32_t v = 0;
        std::string error = parse_u32(name, item, min, max, v);
        if (!error.empty()) return error + (value.size() != item.size() ? " (in '" + value + "')" : "");
        list.push_back(v);
        if (stop == std::string::npos) break;
        start = stop + 1;
    }
    out = list;
    return "";
}

std::string policy_names()
{
    std::string names;
    for (const sched::Policy* const* p = sched::kPolicies; *p; ++p) names += std::string(names.empty() ? "" : ", ") + (*p)->name;
    return names;
}

std::string join(const std::vector<uint32_t>& list)
{
    std::string s;
    for (uint32_t v : list) s += (s.empty() ? "" : ":") + std::to_string(v);
    return s;
}

std::string us_text(double v)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", v);
    return buffer;
}

struct Option {
    const char* name;
    const char* arg;  // null: a flag without value (not part of Config)
    const char* help;
    std::string (*set)(Config&, const std::string& name, const std::string& value);
    std::string (*get)(const Config&);
};

#define US_OPTION(NAME, FIELD, HELP)                                                                          \
    Option{NAME, "US", HELP, [](Config& c, const std::string& n, const std::string& v) { return parse_us(n, v, c.FIELD); }, \
           [](const Config& c) { return us_text(c.FIELD); }}
#define U32_OPTION(NAME, ARG, FIELD, MIN, MAX, HELP)                                                          \
    Option{NAME, ARG, HELP,                                                                                   \
           [](Config& c, const std::string& n, const std::string& v) { return parse_u32(n, v, MIN, MAX, c.FIELD); }, \
           [](const Config& c) { return std::to_string(c.FIELD); }}
#define U64_OPTION(NAME, ARG, FIELD, MIN, MAX, HELP)                                                          \
    Option{NAME, ARG, HELP,                                                                                   \
           [](Config& c, const std::string& n, const std::string& v) { return parse_u64(n, v, MIN, MAX, c.FIELD); }, \
           [](const Config& c) { return std::to_string(c.FIELD); }}

const Option kOptions[] = {
    Option{"policy", "NAME", "scheduling policy, or 'all' for every one (default round-robin)",
           [](Config& c, const std::string& n, const std::string& v) -> std::string {
               if (v != "all" && !sched::find_policy(Str(v.c_str())))
                   return "--" + n + ": no policy '" + v + "' (policies: " + policy_names() + ", or all)";
               c.policy = v;
               return "";
           },
           [](const Config& c) { return c.policy; }},
    U32_OPTION("pcpus", "N", pcpus, 1, sched::kMaxPcpus, "physical CPUs (default 4)"),
    U32_OPTION("vms", "N", vms, 1, sched::kMaxVms, "VMs (default 1, or as many as --vm-vcpus lists)"),
    U32_OPTION("vcpus", "N", vcpus, 1, sched::kMaxEntities, "vCPUs per VM (default 4)"),
    Option{"vm-vcpus", "N,N,..", "vCPUs of each VM (the last repeats; overrides --vcpus)",
           [](Config& c, const std::string& n, const std::string& v) {
               return parse_list(n, v, 1, sched::kMaxEntities, c.vm_vcpus);
           },
           [](const Config& c) { return c.vm_vcpus.empty() ? std::to_string(c.vcpus) : join(c.vm_vcpus); }},
    Option{"weights", "W,W,..", "each VM's weight (the last repeats; default 256)",
           [](Config& c, const std::string& n, const std::string& v) { return parse_list(n, v, 1, 65535, c.weights); },
           [](const Config& c) { return c.weights.empty() ? std::string("256") : join(c.weights); }},
    Option{"lock", "KIND", "ticket, queued or pv (default ticket)",
           [](Config& c, const std::string& n, const std::string& v) -> std::string {
               if (!parse_lock_kind(v.c_str(), c.lock)) return bad(n, v, "ticket, queued or pv");
               return "";
           },
           [](const Config& c) { return std::string(lock_kind_name(c.lock)); }},
    US_OPTION("cs-us", cs_us, "critical section length (default 1)"),
    US_OPTION("ncs-us", ncs_us, "mean work between acquisitions (default 10)"),
    U32_OPTION("jitter-pct", "P", jitter_percent, 0, 100, "ncs varies uniformly by +-P% (default 50)"),
    U32_OPTION("barrier-every", "N", barrier_every, 0, 1u << 30, "all threads of a VM meet every N iterations (0: never)"),
    U32_OPTION("io-every", "N", io_every, 0, 1u << 30, "a thread halts for blocking I/O every N iterations (0: never)"),
    US_OPTION("io-us", io_us, "I/O latency (default 100)"),
    US_OPTION("ple-window-us", ple_window_us, "spinning before a pause-loop exit (default 2; 0: PLE off)"),
    US_OPTION("ple-max-us", ple_max_us, "bound of the adapted PLE window (default 64 x window; = window: fixed)"),
    US_OPTION("pv-spin-us", pv_spin_us, "pv lock: spinning before halting (default 50)"),
    US_OPTION("kick-us", kick_us, "pv lock: the releaser's cost of kicking a halted waiter (default 2)"),
    Option{"pv-steal", "on|off", "pv lock: a free lock may be stolen by an arriving thread (default on)",
           [](Config& c, const std::string& n, const std::string& v) -> std::string {
               if (v != "on" && v != "off") return bad(n, v, "on or off");
               c.pv_steal = v == "on";
               return "";
           },
           [](const Config& c) { return std::string(c.pv_steal ? "on" : "off"); }},
    Option{"timer-phase", "P", "random: pCPU timers out of phase (default); aligned: every slice ends together",
           [](Config& c, const std::string& n, const std::string& v) -> std::string {
               if (v != "random" && v != "aligned") return bad(n, v, "random or aligned");
               c.random_phase = v == "random";
               return "";
           },
           [](const Config& c) { return std::string(c.random_phase ? "random" : "aligned"); }},
    US_OPTION("timer-jitter-us", timer_jitter_us, "each slice ends up to this much late (default 10)"),
    US_OPTION("kick-latency-us", kick_latency_us, "a kicked pCPU reschedules this much later (default 0)"),
    US_OPTION("min-run-us", min_run_us, "a decision runs its vCPU at least this long, as the hypervisor's 20 (default 0)"),
    US_OPTION("start-skew-us", start_skew_us, "each vCPU starts at a random instant of [0, US], as APs do (default 0: all at once)"),
    US_OPTION("slice-us", slice_us, "scheduler time slice (default 10000)"),
    US_OPTION("deferral-us", deferral_us, "Params::max_deferral (default 50)"),
    US_OPTION("max-hint-us", max_hint_us, "Params::max_hint (default 100)"),
    US_OPTION("hint-budget-us", hint_budget_us, "Params::hint_budget (default 500)"),
    US_OPTION("costop-us", costop_us, "Params::costop_threshold (default 3000)"),
    US_OPTION("credit-period-us", credit_period_us, "Params::credit_period (default 30000)"),
    U64_OPTION("duration-ms", "MS", duration_ms, 1, 1000000000, "simulated time per run (default 1000)"),
    U64_OPTION("ticks-per-us", "T", ticks_per_us, 1, 1000000, "simulated clock resolution (default 1000)"),
    U64_OPTION("seed", "S", seed, 0, UINT64_MAX, "random seed of the workload (default 1)"),
    U32_OPTION("trace-events", "N", trace_events, 0, 1u << 24, "trace ring size per pCPU with --trace (default 50000, the newest kept)"),
};

const Option* find_option(const std::string& name)
{
    for (const Option& o : kOptions)
        if (name == o.name) return &o;
    return nullptr;
}

}  // namespace

std::string set_option(Config& config, const std::string& name, const std::string& value)
{
    const Option* o = find_option(name);
    if (!o) return "unknown option '--" + name + "'";
    return o->set(config, name, value);
}

std::string option_value(const Config& config, const std::string& name)
{
    const Option* o = find_option(name);
    return o ? o->get(config) : "";
}

std::string parse_command_line(const std::vector<std::string>& args, Invocation& out)
{
    out = Invocation{};
    bool vms_given = false;
    bool trace_events_given = false;
    for (size_t i = 0; i < args.size(); ++i) {
        std::string arg = args[i];
        if (arg.size() < 3 || arg.compare(0, 2, "--") != 0) {
            if (arg == "-h") {
                out.help = true;
                continue;
            }
            return "unexpected argument '" + arg + "' (options start with --)";
        }
        std::string name = arg.substr(2), value;
        bool inline_value = false;
        if (size_t eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inline_value = true;
        }
        bool flag = name == "help" || name == "metrics" || name == "per-vm";
        bool known = flag || name == "csv" || name == "trace" || name == "sweep" || find_option(name);
        if (!known) return "unknown option '--" + name + "'";
        if (flag) {
            if (inline_value) return "--" + name + " takes no value";
            (name == "help" ? out.help : name == "metrics" ? out.metrics : out.per_vm) = true;
            continue;
        }
        if (!inline_value) {
            if (i + 1 == args.size()) return "--" + name + " needs a value";
            value = args[++i];
        }
        if (name == "csv" || name == "trace") {
            if (value.empty()) return "--" + name + " needs a file name";
            (name == "csv" ? out.csv_path : out.trace_path) = value;
            continue;
        }
        if (name == "sweep") {
            size_t eq = value.find('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == value.size())
                return "--sweep: '" + value + "' is not PARAM=v1,v2,...";
            Sweep sweep;
            sweep.name = value.substr(0, eq);
            if (sweep.name.compare(0, 2, "--") == 0) sweep.name = sweep.name.substr(2);
            if (!find_option(sweep.name)) return "--sweep: no option '--" + sweep.name + "' to sweep";
            for (const Sweep& s : out.sweeps)
                if (s.name == sweep.name) return "--sweep: " + sweep.name + " is swept twice";
            std::string list = value.substr(eq + 1);
            size_t start = 0;
            while (true) {
                size_t stop = list.find(',', start);
                std::string item = list.substr(start, stop == std::string::npos ? std::string::npos : stop - start);
                Config probe;
                if (std::string error = set_option(probe, sweep.name, item); !error.empty()) return "--sweep: " + error;
                sweep.values.push_back(item);
                if (stop == std::string::npos) break;
                start = stop + 1;
            }
            out.sweeps.push_back(sweep);
            continue;
        }
        if (std::string error = set_option(out.base, name, value); !error.empty()) return error;
        vms_given |= name == "vms";
        trace_events_given |= name == "trace-events";
    }
    if (!vms_given && !out.base.vm_vcpus.empty()) out.base.vms = uint32_t(out.base.vm_vcpus.size());
    if (!out.trace_path.empty() && !trace_events_given) out.base.trace_events = 50000;
    if (out.trace_path.empty()) out.base.trace_events = 0;
    return "";
}

std::string expand(const Invocation& inv, std::vector<Config>& runs)
{
    runs.clear();
    std::vector<Config> configs{inv.base};
    for (const Sweep& sweep : inv.sweeps) {
        std::vector<Config> next;
        for (const Config& c : configs)
            for (const std::string& v : sweep.values) {
                Config n = c;
                if (std::string error = set_option(n, sweep.name, v); !error.empty()) return error;
                next.push_back(n);
            }
        configs.swap(next);
    }
    // --policy all: every policy, outermost; policy=all in a sweep: every policy in its place.
    bool all_outermost = inv.base.policy == "all";
    if (all_outermost)
        for (const Sweep& s : inv.sweeps)
            if (s.name == "policy") all_outermost = false;
    auto each_policy = [&](const Config& c, auto add) {
        if (c.policy != "all") return add(c);
        for (const sched::Policy* const* p = sched::kPolicies; *p; ++p) {
            Config n = c;
            n.policy = (*p)->name;
            add(n);
        }
    };
    if (all_outermost) {
        for (const sched::Policy* const* p = sched::kPolicies; *p; ++p)
            for (Config c : configs) {
                c.policy = (*p)->name;
                runs.push_back(c);
            }
    } else {
        for (const Config& c : configs) each_policy(c, [&](const Config& n) { runs.push_back(n); });
    }
    for (const Config& c : runs) {
        std::string why = c.check();
        if (why.empty()) continue;
        std::string where;
        for (const Sweep& s : inv.sweeps) where += (where.empty() ? "" : " ") + s.name + "=" + option_value(c, s.name);
        return where.empty() ? why : why + " (with " + where + ")";
    }
    return "";
}

std::string usage()
{
    std::string text =
        "usage: tools/schedsim [OPTION VALUE]... [--sweep PARAM=v1,v2,...]... [--csv FILE] [--trace FILE]\n"
        "\n"
        "Simulates SMP guests whose threads take a spinlock (ticket, queued or paravirtual), meet at\n"
        "barriers and block on I/O, on a machine scheduled by a sched/ policy, and reports lock\n"
        "throughput, wasted spinning, lock-holder and lock-waiter preemptions, fairness and latency.\n"
        "Every thread loops: work (ncs), [I/O], lock, critical section (cs), unlock, [barrier].\n"
        "Same arguments, same output.\n"
        "\n"
        "Options (US: microseconds, fractions allowed; --opt=value works too):\n";
    for (const Option& o : kOptions) {
        char line[200];
        std::string left = std::string("--") + o.name + " " + o.arg;
        std::snprintf(line, sizeof line, "  %-24s %s\n", left.c_str(), o.help);
        text += line;
    }
    text +=
        "  --sweep PARAM=v1,v2,..   one run per value of the option PARAM (without --); several\n"
        "                           --sweep multiply; list values use ':' (weights=256:512,512:256);\n"
        "                           policy=all runs every policy\n"
        "  --csv FILE               one row per run (columns: README.md, \"Scheduling research\")\n"
        "  --trace FILE             the scheduler's trace of every run (sched/trace.hpp format), for\n"
        "                           tools/trace2perfetto\n"
        "  --metrics                print Scheduler::dump_metrics lines after each run\n"
        "  --per-vm                 print one line per VM after each run\n"
        "  --help                   this text\n"
        "\n"
        "Policies: " + policy_names() + ".\n"
        "Table columns: ovc = vCPUs / pCPUs; acq/s = lock acquisitions per simulated second (all VMs);\n"
        "spin% = share of the vCPUs' run time spent spinning (lock and barrier); LHP / LWP = lock-holder\n"
        "/ lock-waiter preemptions; jain = Jain's index over each VM's CPU time / weight; p50/p99 = lock\n"
        "acquisition latency; yld/hit = directed yields and those that worked; defer = deferred\n"
        "preemptions; costop = co-stop time.\n"
        "Example: tools/schedsim --policy all --sweep vms=1,2,3 --csv build/sweep.csv\n"
        "Errors in options exit with status 2.\n";
    return text;
}

}  // namespace sim
