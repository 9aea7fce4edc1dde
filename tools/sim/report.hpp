// tools/schedsim's output: the human-readable table, the CSV rows and the per-VM lines.
#pragma once
#include <string>
#include <vector>

#include "tools/sim/experiment.hpp"

namespace sim {

// `extra`: option names shown as leading columns (the swept ones the table lacks otherwise).
std::string table_header(const std::vector<std::string>& extra);
std::string table_row(const Result& result, const std::vector<std::string>& extra);
std::string csv_header();
std::string csv_row(const Result& result);
// "  vm0: vcpus=4 weight=256 acq/s=... spin%=... ..." one line per VM, each ending in '\n'.
std::string per_vm_lines(const Result& result);
// Options that become table columns when swept (those not among the fixed columns).
std::vector<std::string> extra_columns(const std::vector<std::string>& swept);

}  // namespace sim
