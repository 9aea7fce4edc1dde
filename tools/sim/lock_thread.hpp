// One thread of an SMP guest pinned to its vCPU, as a sim::Behaviour. It loops:
//   non-critical work (ncs ticks, user mode) -> [every io_every-th iteration: halt for a blocking
//   I/O, its own timer wakes it] -> acquire the VM's lock -> critical section (cs ticks, CPL 0
//   with interrupts off, as spin_lock_irqsave) -> release -> [every barrier_every-th iteration:
//   wait at the VM's barrier].
// Waiting for the lock it spins at CPL 0 with interrupts off (the lock was taken with irqsave);
// every `ple window` ticks of continuous spinning the CPU takes a pause-loop exit. The window
// adapts per vCPU as the hypervisor's will: x2 (up to the maximum) when an exit was futile (the
// scheduler neither descheduled the spinner nor made a directed yield for it), /2 (down to the
// base) when it was useful. pv waiters halt after `pv_spin` ticks of spinning and are woken by
// the releaser, which pays `kick_cost` ticks for the kick (a hypercall and an IPI).
#pragma once
#include <cstdint>
#include <vector>

#include "tools/sim/guest_barrier.hpp"
#include "tools/sim/guest_lock.hpp"
#include "tools/sim/lock_stats.hpp"
#include "tools/sim/machine.hpp"
#include "tools/sim/rng.hpp"

namespace sim {

struct ThreadParams {
    LockKind lock = LockKind::ticket;
    Ticks cs = 1;                  // critical section
    Ticks ncs = 10;                // non-critical work between acquisitions (mean)
    uint32_t jitter_percent = 50;  // ncs uniformly in ncs * (1 +- jitter), so threads drift apart
    uint32_t barrier_every = 0;    // 0: no barriers
    uint32_t io_every = 0;         // 0: no blocking I/O
    Ticks io = 0;                  // I/O latency
    Ticks ple_window = 0;          // 0: no pause-loop exiting
    Ticks ple_window_max = 0;      // the adapted window's bound (<= ple_window: no adaptation)
    Ticks pv_spin = 0;             // pv: spinning before halting
    Ticks kick_cost = 0;           // pv: the releaser's cost of kicking a halted waiter
    bool pv_steal = true;          // pv: a free lock may be taken by an arriving thread (qspinlock)
    // Each thread starts at its own instant, uniform in [0, start_skew]; its vCPU is halted until
    // then (as an AP waiting for its SIPI). 0: all start at once.
    Ticks start_skew = 0;
};

class LockThread;

// What the threads of one VM share.
struct VmShared {
    explicit VmShared(const ThreadParams& p, uint32_t threads) : params(p), lock(p.lock, p.pv_steal), barrier(threads) {}
    ThreadParams params;
    GuestLock lock;
    GuestBarrier barrier;
    LockStats stats;
    std::vector<LockThread*> threads;
    Machine* machine = nullptr;  // for pv kicks
};

class LockThread final : public Behaviour {
public:
    enum class Phase : uint8_t { starting, work, io, spin, halted, critical, kick, barrier };

    LockThread(VmShared& shared, uint32_t index, uint64_t seed);
    void attach(sched::Entity& entity) { entity_ = &entity; }

    Ticks until_action(Ticks now) override;
    void run(Ticks from, Ticks to) override;
    Action act(Ticks now) override;
    Ticks wake_time() const override { return phase_ == Phase::io || phase_ == Phase::starting ? wake_at_ : kNever; }
    void woken(Ticks now) override;
    sched::GuestHints hints() const override;
    void switched_in(Ticks now, uint32_t pcpu) override;
    void switched_out(Ticks now) override;
    void pause_loop_handled(Ticks now, bool descheduled) override;

    Phase phase() const { return phase_; }
    // When the thread starts (ThreadParams::start_skew); its vCPU is added halted when > 0.
    Ticks start_time() const { return start_at_; }
    bool running() const { return running_; }
    bool holds_lock() const { return shared_.lock.holder() == index_; }
    uint32_t index() const { return index_; }
    uint64_t iterations() const { return iterations_; }
    uint64_t acquisitions() const { return acquisitions_; }
    Ticks ple_window() const { return ple_window_; }
    const sched::Entity* entity() const { return entity_; }

private:
    const ThreadParams& params() const { return shared_.params; }
    bool ple_on() const { return params().ple_window != 0; }
    void start_work(Ticks now);
    void request(Ticks now);
    void acquire(Ticks now);
    void release(Ticks now);
    void after_release(Ticks now);
    void start_spinning();
    Action pause_loop_exit();
    // The lock was just handed to this thread (or freed with it at the queue's head): count a
    // lock-waiter preemption, or return true when it is halted and needs a kick.
    bool granted(Ticks now);

    VmShared& shared_;
    uint32_t index_;
    Rng rng_;
    sched::Entity* entity_ = nullptr;
    Phase phase_ = Phase::work;
    bool running_ = false;
    bool io_due_ = false;
    bool waiter_preemption_counted_ = false;
    Ticks left_ = 0;     // work, critical, kick: ticks to go
    Ticks ple_left_ = 0;  // spinning ticks until the next pause-loop exit
    Ticks ple_window_ = 0;
    Ticks pv_left_ = 0;  // pv: spinning ticks until halting
    Ticks wake_at_ = kNever;
    Ticks start_at_ = 0;
    Ticks requested_at_ = 0;
    uint64_t barrier_generation_ = 0;
    uint64_t ple_hits_before_ = 0;
    uint64_t iterations_ = 0;
    uint64_t acquisitions_ = 0;
};

}  // namespace sim
