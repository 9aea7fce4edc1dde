// tools/schedsim: runs lock-workload simulations over sched/ policies (tools/sim/*) and prints a
// table, optionally a CSV, scheduler metrics and traces. `tools/schedsim --help` explains it all.
#include <cstdio>
#include <string>
#include <vector>

#include "tools/sim/experiment.hpp"
#include "tools/sim/options.hpp"
#include "tools/sim/report.hpp"

namespace {

int usage_error(const std::string& message)
{
    std::fprintf(stderr, "schedsim: %s\nTry 'tools/schedsim --help'.\n", message.c_str());
    return 2;
}

}  // namespace

int main(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    sim::Invocation inv;
    if (std::string error = sim::parse_command_line(args, inv); !error.empty()) return usage_error(error);
    if (inv.help) {
        std::fputs(sim::usage().c_str(), stdout);
        return 0;
    }
    std::vector<sim::Config> runs;
    if (std::string error = sim::expand(inv, runs); !error.empty()) return usage_error(error);

    FILE* csv = nullptr;
    FILE* trace = nullptr;
    if (!inv.csv_path.empty() && !(csv = std::fopen(inv.csv_path.c_str(), "w")))
        return usage_error("--csv: cannot write " + inv.csv_path);
    if (!inv.trace_path.empty() && !(trace = std::fopen(inv.trace_path.c_str(), "w")))
        return usage_error("--trace: cannot write " + inv.trace_path);
    if (csv) std::fputs(sim::csv_header().c_str(), csv);

    std::vector<std::string> swept;
    for (const sim::Sweep& s : inv.sweeps) swept.push_back(s.name);
    std::vector<std::string> extra = sim::extra_columns(swept);
    std::fputs(sim::table_header(extra).c_str(), stdout);
    std::fflush(stdout);

    size_t refused = 0;
    for (const sim::Config& config : runs) {
        sim::RunOutput output;
        std::vector<std::string> metrics;
        if (inv.metrics) output.metrics = [&](const char* line) { metrics.push_back(line); };
        if (trace) output.trace = [&](const char* line) { std::fprintf(trace, "%s\n", line); };
        sim::Result r = sim::run_experiment(config, output);
        std::fputs(sim::table_row(r, extra).c_str(), stdout);
        if (!r.refused.empty()) {
            ++refused;
            std::fprintf(stderr, "schedsim: %s refused the configuration: %s\n", config.policy.c_str(), r.refused.c_str());
        } else {
            if (csv) std::fputs(sim::csv_row(r).c_str(), csv);
            if (inv.per_vm) std::fputs(sim::per_vm_lines(r).c_str(), stdout);
            for (const std::string& line : metrics) std::printf("%s\n", line.c_str());
        }
        std::fflush(stdout);
    }
    bool ok = true;
    if (csv && std::fclose(csv) != 0) ok = false;
    if (trace && std::fclose(trace) != 0) ok = false;
    if (!ok) {
        std::fprintf(stderr, "schedsim: writing the output files failed\n");
        return 1;
    }
    return refused == runs.size() ? 1 : 0;
}
