// A guest barrier: every thread of a VM arrives, the last one to arrive releases them all (a new
// generation). Waiters spin in the kernel with interrupts on, as stop_machine() or a TLB-shootdown
// wait does, so a preempted straggler holds up every sibling: what co-scheduling is for.
#pragma once
#include <cstdint>

namespace sim {

class GuestBarrier {
public:
    explicit GuestBarrier(uint32_t parties = 1) : parties_(parties ? parties : 1) {}
    // True when this arrival was the last one (everyone goes on); otherwise wait until
    // generation() differs from the value it had before arriving.
    bool arrive()
    {
        if (++arrived_ < parties_) return false;
        arrived_ = 0;
        ++generation_;
        return true;
    }
    uint64_t generation() const { return generation_; }
    uint32_t arrived() const { return arrived_; }
    uint32_t parties() const { return parties_; }

private:
    uint32_t parties_;
    uint32_t arrived_ = 0;
    uint64_t generation_ = 0;
};

}  // namespace sim
