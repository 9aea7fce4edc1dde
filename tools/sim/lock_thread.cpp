#include "tools/sim/lock_thread.hpp"

#include <algorithm>

namespace sim {

LockThread::LockThread(VmShared& shared, uint32_t index, uint64_t seed)
    : shared_(shared), index_(index), rng_(seed), ple_window_(shared.params.ple_window)
{
    start_work(0);
    start_at_ = shared.params.start_skew ? rng_.below(shared.params.start_skew + 1) : 0;
    if (start_at_) {
        phase_ = Phase::starting;
        wake_at_ = start_at_;
    }
}

void LockThread::start_work(Ticks)
{
    phase_ = Phase::work;
    Ticks ncs = params().ncs;
    Ticks span = ncs * std::min<uint32_t>(params().jitter_percent, 100) / 100;
    left_ = ncs - span + rng_.below(2 * span + 1);
    io_due_ = params().io_every && (iterations_ + 1) % params().io_every == 0;
}

void LockThread::start_spinning()
{
    phase_ = Phase::spin;
    ple_left_ = ple_window_;
    pv_left_ = params().pv_spin;
}

void LockThread::request(Ticks now)
{
    requested_at_ = now;
    waiter_preemption_counted_ = false;
    ++shared_.stats.requests;
    if (shared_.lock.request(index_, now)) acquire(now);
    else start_spinning();
}

void LockThread::acquire(Ticks now)
{
    shared_.stats.latency.add(now - requested_at_);
    ++shared_.stats.acquisitions;
    ++acquisitions_;
    phase_ = Phase::critical;
    left_ = params().cs;
}

bool LockThread::granted(Ticks)
{
    if (phase_ == Phase::halted) return true;  // a pv waiter asleep: the releaser kicks it
    // Once per descheduled stretch: with pv stealing the same head may see several releases.
    if (!running_ && !waiter_preemption_counted_) {
        ++shared_.stats.waiter_preemptions;
        waiter_preemption_counted_ = true;
    }
    return false;
}

void LockThread::release(Ticks now)
{
    uint32_t next = shared_.lock.release(index_, now);
    if (next != GuestLock::kNobody && shared_.threads[next]->granted(now)) {
        ++shared_.stats.pv_kicks;
        shared_.machine->wake(*shared_.threads[next]->entity_);
        if (params().kick_cost) {
            phase_ = Phase::kick;
            left_ = params().kick_cost;
            return;
        }
    }
    after_release(now);
}

void LockThread::after_release(Ticks now)
{
    ++iterations_;
    if (params().barrier_every && iterations_ % params().barrier_every == 0) {
        barrier_generation_ = shared_.barrier.generation();
        if (shared_.barrier.arrive()) {
            ++shared_.stats.barriers;
        } else {
            phase_ = Phase::barrier;
            ple_left_ = ple_window_;
            return;
        }
    }
    start_work(now);
}

Action LockThread::pause_loop_exit()
{
    ++shared_.stats.ple_exits;
    ple_hits_before_ = entity_ ? entity_->metrics.directed_yield_hits : 0;
    ple_left_ = ple_window_;
    return Action{Action::pause_loop, 0};
}

Ticks LockThread::until_action(Ticks)
{
    switch (phase_) {
    case Phase::work:
    case Phase::critical:
    case Phase::kick: return left_;
    case Phase::spin: {
        if (shared_.lock.can_take(index_)) return 0;
        Ticks until = ple_on() ? ple_left_ : kNever;
        if (params().lock == LockKind::pv) until = std::min(until, pv_left_);
        return until;
    }
    case Phase::barrier:
        if (shared_.barrier.generation() != barrier_generation_) return 0;
        return ple_on() ? ple_left_ : kNever;
    case Phase::starting:
    case Phase::io:
    case Phase::halted: return kNever;
    }
    return kNever;
}

void LockThread::run(Ticks from, Ticks to)
{
    Ticks d = to - from;
    switch (phase_) {
    case Phase::work:
    case Phase::critical: left_ -= std::min(d, left_); break;
    case Phase::kick:
        left_ -= std::min(d, left_);
        shared_.stats.kick_time += d;
        break;
    case Phase::spin:
        shared_.stats.lock_spin += d;
        ple_left_ -= std::min(d, ple_left_);
        pv_left_ -= std::min(d, pv_left_);
        break;
    case Phase::barrier:
        shared_.stats.barrier_spin += d;
        ple_left_ -= std::min(d, ple_left_);
        break;
    case Phase::starting:
    case Phase::io:
    case Phase::halted: break;
    }
}

Action LockThread::act(Ticks now)
{
    switch (phase_) {
    case Phase::work:
        if (left_) break;
        if (io_due_) {
            io_due_ = false;
            phase_ = Phase::io;
            wake_at_ = now + params().io;
            ++shared_.stats.io_waits;
            return Action{Action::halt, 0};
        }
        request(now);
        break;
    case Phase::critical:
        if (!left_) release(now);
        break;
    case Phase::kick:
        if (!left_) after_release(now);
        break;
    case Phase::spin:
        if (shared_.lock.can_take(index_)) {
            shared_.lock.take(index_, now);
            acquire(now);
            break;
        }
        if (ple_on() && !ple_left_) return pause_loop_exit();
        if (params().lock == LockKind::pv && !pv_left_) {
            phase_ = Phase::halted;
            ++shared_.stats.pv_halts;
            return Action{Action::halt, 0};
        }
        break;
    case Phase::barrier:
        if (shared_.barrier.generation() != barrier_generation_) {
            start_work(now);
            break;
        }
        if (ple_on() && !ple_left_) return pause_loop_exit();
        break;
    case Phase::starting:
    case Phase::io:
    case Phase::halted: break;
    }
    return Action{};
}

void LockThread::woken(Ticks)
{
    if (phase_ == Phase::starting) {
        phase_ = Phase::work;  // start_work(0) already drew its first stretch of work
    } else if (phase_ == Phase::io) {
        phase_ = Phase::work;
        left_ = 0;  // the I/O is done: ask for the lock as soon as it runs
    } else if (phase_ == Phase::halted) {
        start_spinning();
    }
}

sched::GuestHints LockThread::hints() const
{
    switch (phase_) {
    case Phase::spin:
    case Phase::halted:
    case Phase::critical:
    case Phase::kick: return {true, true};
    case Phase::barrier: return {true, false};
    case Phase::starting:
    case Phase::work:
    case Phase::io: break;
    }
    return {false, false};
}

void LockThread::switched_in(Ticks, uint32_t)
{
    running_ = true;
    waiter_preemption_counted_ = false;
    ple_left_ = ple_window_;  // the CPU's PAUSE-loop detection starts afresh after VM entry
}

void LockThread::switched_out(Ticks)
{
    running_ = false;
    if (phase_ == Phase::critical) ++shared_.stats.holder_preemptions;
    if (phase_ == Phase::spin && shared_.lock.can_take(index_) && !waiter_preemption_counted_) {
        ++shared_.stats.waiter_preemptions;
        waiter_preemption_counted_ = true;
    }
}

void LockThread::pause_loop_handled(Ticks, bool descheduled)
{
    bool hit = entity_ && entity_->metrics.directed_yield_hits != ple_hits_before_;
    Ticks base = params().ple_window;
    Ticks top = std::max(params().ple_window_max, base);
    if (descheduled || hit) {
        ++shared_.stats.ple_useful;
        ple_window_ = std::max(base, ple_window_ / 2);
    } else {
        ++shared_.stats.ple_futile;
        ple_window_ = std::min(top, ple_window_ * 2);
    }
    ple_left_ = ple_window_;
}

}  // namespace sim
