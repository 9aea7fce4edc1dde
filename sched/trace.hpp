// Scheduling traces: a ring buffer of events per pCPU with timestamps, dumped as text lines that
// tools/trace2perfetto turns into a Perfetto/Chrome trace. The hypervisor and tools/schedsim write
// the same format:
//   sched-trace-begin policy=NAME pcpus=N ticks_per_us=T
//   sched-trace-vm VM NAME VCPUS
//   sched-trace PCPU TICKS KIND VM VCPU ARG      (oldest first per pCPU; KIND from kind_name())
//   sched-trace-end events=N lost=L
#pragma once
#include <cstdint>

#include "lib/format.hpp"
#include "sched/entity.hpp"

namespace sched {

enum class TraceKind : uint8_t {
    run,         // the entity starts on the pCPU; arg = its slice in ticks
    deschedule,  // it leaves the pCPU; arg = DescheduleReason
    wake,        // blocked -> runnable; arg = the pCPU it was queued on
    block,       // it halted
    pause_loop,  // a pause-loop exit
    yield_to,    // directed yield; arg = target's VM << 16 | target's vCPU, bit 31 when it worked
    defer,       // preemption deferred; arg = extension in ticks
    migrate,     // it moved; arg = the pCPU it came from
    idle,        // nothing to run on the pCPU
    count
};

enum class DescheduleReason : uint8_t { preempted, blocked, yielded, ended };

struct TraceEvent {
    Ticks when;
    TraceKind kind;
    uint8_t reserved;
    uint16_t vm;
    uint16_t vcpu;
    uint16_t pcpu;
    uint32_t arg;
};

const char* kind_name(TraceKind kind);

// One pCPU's ring: the newest `capacity` events survive.
class TraceRing {
public:
    void attach(TraceEvent* buffer, uint32_t capacity)
    {
        events_ = buffer;
        capacity_ = capacity;
        written_ = 0;
    }
    void record(const TraceEvent& event)
    {
        if (!capacity_) return;
        events_[written_ % capacity_] = event;
        ++written_;
    }
    uint64_t written() const { return written_; }
    uint64_t lost() const { return written_ > capacity_ ? written_ - capacity_ : 0; }
    // Oldest first.
    template <class Visit>
    void for_each(Visit visit) const
    {
        for (uint64_t i = lost(); i < written_; ++i) visit(events_[i % capacity_]);
    }

private:
    TraceEvent* events_ = nullptr;
    uint32_t capacity_ = 0;
    uint64_t written_ = 0;
};

// A complete line for the dump format above (no newline), truncated to `size`.
void format_event(char* out, uint32_t size, const TraceEvent& event);

}  // namespace sched
