#include "tools/sim/guest_lock.hpp"

#include <cstdlib>
#include <cstring>

namespace sim {

const char* lock_kind_name(LockKind kind)
{
    switch (kind) {
    case LockKind::ticket: return "ticket";
    case LockKind::queued: return "queued";
    case LockKind::pv: return "pv";
    }
    return "?";
}

bool parse_lock_kind(const char* name, LockKind& kind)
{
    for (LockKind k : {LockKind::ticket, LockKind::queued, LockKind::pv})
        if (!std::strcmp(name, lock_kind_name(k))) {
            kind = k;
            return true;
        }
    return false;
}

bool GuestLock::request(uint32_t thread, sched::Ticks now)
{
    uint64_t ticket = next_ticket_++;
    note(Event::request, thread, ticket, now);
    if (free() && (queue_.empty() || steal_)) {
        holder_ = thread;
        holder_ticket_ = ticket;
        note(Event::acquire, thread, ticket, now);
        return true;
    }
    queue_.push_back(Waiter{thread, ticket});
    return false;
}

uint32_t GuestLock::release(uint32_t thread, sched::Ticks now)
{
    if (holder_ != thread) abort();  // a model bug: only the holder releases
    note(Event::release, thread, holder_ticket_, now);
    holder_ = kNobody;
    if (queue_.empty()) return kNobody;
    if (steal_) return queue_.front().thread;
    granted_ = queue_.front().thread;
    holder_ticket_ = queue_.front().ticket;
    queue_.pop_front();
    return granted_;
}

void GuestLock::take(uint32_t thread, sched::Ticks now)
{
    if (!can_take(thread)) abort();
    if (steal_) {
        holder_ticket_ = queue_.front().ticket;
        queue_.pop_front();
    } else {
        granted_ = kNobody;
    }
    holder_ = thread;
    note(Event::acquire, thread, holder_ticket_, now);
}

}  // namespace sim
