// One VM of the lock workload: its vCPUs added to a Machine, one LockThread on each, sharing one
// lock, one barrier and one set of statistics.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "tools/sim/lock_thread.hpp"
#include "tools/sim/machine.hpp"

namespace sim {

class VmWorkload {
public:
    // Adds a VM named `name` with `vcpus` vCPUs to `machine` (before Machine::start); each
    // thread's random stream derives from `seed`, the VM's index and the thread's index.
    VmWorkload(Machine& machine, const char* name, uint32_t weight, uint32_t vcpus, const ThreadParams& params,
               uint64_t seed, uint32_t cap_percent = 0);
    VmWorkload(const VmWorkload&) = delete;
    VmWorkload& operator=(const VmWorkload&) = delete;

    uint32_t vm() const { return vm_; }
    uint32_t size() const { return uint32_t(threads_.size()); }
    LockThread& thread(uint32_t i) { return *threads_[i]; }
    const LockThread& thread(uint32_t i) const { return *threads_[i]; }
    GuestLock& lock() { return shared_->lock; }
    const GuestLock& lock() const { return shared_->lock; }
    const LockStats& stats() const { return shared_->stats; }
    // Holders right now: 0 or 1 unless the model is broken (tests check it after every step).
    uint32_t holders() const;

private:
    uint32_t vm_;
    std::unique_ptr<VmShared> shared_;
    std::vector<std::unique_ptr<LockThread>> threads_;
};

}  // namespace sim
