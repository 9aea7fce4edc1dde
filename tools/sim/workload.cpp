#include "tools/sim/workload.hpp"

#include "tools/sim/rng.hpp"

namespace sim {

VmWorkload::VmWorkload(Machine& machine, const char* name, uint32_t weight, uint32_t vcpus,
                       const ThreadParams& params, uint64_t seed, uint32_t cap_percent)
    : vm_(machine.add_vm(name, weight, cap_percent)), shared_(std::make_unique<VmShared>(params, vcpus))
{
    shared_->machine = &machine;
    for (uint32_t i = 0; i < vcpus; ++i) {
        threads_.push_back(std::make_unique<LockThread>(*shared_, i, Rng::mix(seed, vm_ + 1, i + 1)));
        shared_->threads.push_back(threads_.back().get());
        threads_.back()->attach(machine.add_vcpu(*threads_.back(), 0, threads_.back()->start_time() > 0));
    }
}

uint32_t VmWorkload::holders() const
{
    uint32_t n = 0;
    for (const auto& t : threads_)
        if (t->phase() == LockThread::Phase::critical) ++n;
    return n;
}

}  // namespace sim
