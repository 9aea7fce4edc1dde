// The loop each physical CPU runs: its vCPUs in turn, each for a time slice bounded by the VMX
// preemption timer, until all of them have ended.
#pragma once
#include "arch/percpu.hpp"

namespace vcpu_loop {

void run(PerCpu& cpu);

}  // namespace vcpu_loop
