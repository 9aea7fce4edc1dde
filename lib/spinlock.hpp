// Ticket spinlock: FIFO, so a CPU that keeps taking the console lock cannot starve another.
#pragma once
#include <cstdint>

class Spinlock {
public:
    void lock()
    {
        uint32_t ticket = __atomic_fetch_add(&next_, 1, __ATOMIC_RELAXED);
        while (__atomic_load_n(&serving_, __ATOMIC_ACQUIRE) != ticket) __builtin_ia32_pause();
    }
    // Gives up after `spins` attempts; for fault paths where the holder may be the one that died.
    bool lock_bounded(uint64_t spins)
    {
        for (uint64_t i = 0; i < spins; ++i) {
            uint32_t serving = __atomic_load_n(&serving_, __ATOMIC_ACQUIRE);
            uint32_t expected = serving;
            if (__atomic_compare_exchange_n(&next_, &expected, serving + 1, false, __ATOMIC_ACQUIRE,
                                            __ATOMIC_RELAXED))
                return true;
            __builtin_ia32_pause();
        }
        return false;
    }
    // One attempt: for work that another holder will do anyway (draining the console).
    bool try_lock() { return lock_bounded(1); }
    void unlock() { __atomic_store_n(&serving_, serving_ + 1, __ATOMIC_RELEASE); }

private:
    uint32_t next_ = 0;
    uint32_t serving_ = 0;
};

class SpinlockGuard {
public:
    explicit SpinlockGuard(Spinlock& lock) : lock_(lock) { lock_.lock(); }
    ~SpinlockGuard() { lock_.unlock(); }
    SpinlockGuard(const SpinlockGuard&) = delete;
    SpinlockGuard& operator=(const SpinlockGuard&) = delete;

private:
    Spinlock& lock_;
};
