// tools/schedsim's command line: options into a Config, --sweep into the list of runs.
#pragma once
#include <string>
#include <vector>

#include "tools/sim/experiment.hpp"

namespace sim {

struct Sweep {
    std::string name;                 // an option name without "--", e.g. "vms"
    std::vector<std::string> values;  // each as it would follow --name
};

struct Invocation {
    Config base;
    std::vector<Sweep> sweeps;  // a cartesian product, the first varying slowest
    std::string csv_path;
    std::string trace_path;
    bool metrics = false;
    bool per_vm = false;
    bool help = false;
};

// Parses argv[1..]. Empty when fine, else the error to print (the caller exits with status 2).
std::string parse_command_line(const std::vector<std::string>& args, Invocation& out);
// Sets option `name` (without "--") of `config` from `value`. Empty when fine, else the error.
std::string set_option(Config& config, const std::string& name, const std::string& value);
// The value of option `name` in `config` as --name would take it ("" for an unknown name).
std::string option_value(const Config& config, const std::string& name);
// Every run of the invocation in order ("all" policies expanded). Empty when fine, else the
// error (a sweep that makes an impossible configuration).
std::string expand(const Invocation& invocation, std::vector<Config>& runs);
// The --help text.
std::string usage();

}  // namespace sim
