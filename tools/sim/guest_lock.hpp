// The state of one guest spinlock shared by the threads of an SMP guest, as the lock word and
// queue would hold it. All three kinds hand the lock over in FIFO order:
//   ticket  Linux's old ticket spinlock: every waiter spins on the shared "now serving" counter;
//   queued  MCS/qspinlock: each waiter spins on a flag of its own queue node, the head on the
//           lock word (different cache traffic, the same scheduling behaviour);
//   pv      Linux's paravirtual qspinlock idea: a waiter spins up to a threshold, then halts;
//           the releaser kicks the halted next waiter (LockThread does the spinning/halting).
// Ticket and queued locks (and pv without stealing, the old pv ticketlock) pass the lock to the
// next ticket at release ("granted"): nobody else may take it, and it progresses only when that
// waiter's vCPU runs and sees its turn. A preempted or halted next waiter therefore blocks
// everyone behind it: lock-waiter preemption.
// pv with stealing (the default, as Linux's pv_hybrid_queued_unfair_trylock) only frees the lock:
// the queue head takes it when it runs, but a newly arriving thread may take a free lock first
// (queued waiters behind the head may not), so a preempted or halted head no longer stalls it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "sched/entity.hpp"

namespace sim {

enum class LockKind : uint8_t { ticket, queued, pv };
const char* lock_kind_name(LockKind kind);
// False when `name` is not ticket, queued or pv.
bool parse_lock_kind(const char* name, LockKind& kind);

class GuestLock {
public:
    static constexpr uint32_t kNobody = ~0u;

    struct Event {
        enum Kind : uint8_t { request, acquire, release } kind;
        uint32_t thread;
        uint64_t ticket;
        sched::Ticks when;
    };

    explicit GuestLock(LockKind kind = LockKind::ticket, bool steal = false)
        : kind_(kind), steal_(kind == LockKind::pv && steal) {}
    LockKind kind() const { return kind_; }
    bool steals() const { return steal_; }

    // `thread` asks for the lock: true when it got it at once (free and nobody waiting, or free
    // and stealing allowed), else it is queued behind the others with the next ticket.
    bool request(uint32_t thread, sched::Ticks now);
    // The holder lets go. Returns the next in line (hand-off: the lock is now handed to it,
    // granted(); stealing: the queue head, which may take the free lock), or kNobody when nobody
    // waits.
    uint32_t release(uint32_t thread, sched::Ticks now);
    // True when the waiting `thread`, running, would see the lock as its own to take now.
    bool can_take(uint32_t thread) const
    {
        if (!steal_) return granted_ == thread;
        return holder_ == kNobody && !queue_.empty() && queue_.front().thread == thread;
    }
    // A waiter for which can_take() holds takes the lock.
    void take(uint32_t thread, sched::Ticks now);

    uint32_t holder() const { return holder_; }
    uint32_t granted() const { return granted_; }  // hand-off only
    bool free() const { return holder_ == kNobody && granted_ == kNobody; }
    size_t waiting() const { return queue_.size(); }
    uint64_t tickets() const { return next_ticket_; }

    // When set (tests), every request, acquire and release is appended.
    std::vector<Event>* log = nullptr;

private:
    struct Waiter {
        uint32_t thread;
        uint64_t ticket;
    };
    void note(Event::Kind kind, uint32_t thread, uint64_t ticket, sched::Ticks now)
    {
        if (log) log->push_back(Event{kind, thread, ticket, now});
    }

    LockKind kind_;
    bool steal_;
    uint32_t holder_ = kNobody;
    uint32_t granted_ = kNobody;
    uint64_t next_ticket_ = 0;
    uint64_t holder_ticket_ = 0;
    std::deque<Waiter> queue_;
};

}  // namespace sim
