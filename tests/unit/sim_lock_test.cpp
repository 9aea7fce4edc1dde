// The lock model's pieces on their own: the guest lock's queue discipline, the barrier and the
// latency histogram (tools/sim/guest_lock.hpp, guest_barrier.hpp, latency_histogram.hpp).
#include <gtest/gtest.h>

#include "tools/sim/guest_barrier.hpp"
#include "tools/sim/guest_lock.hpp"
#include "tools/sim/latency_histogram.hpp"

namespace {

using sim::GuestLock;

TEST(GuestLock, FreeLockIsTakenAtOnceAndOthersQueueInArrivalOrder)
{
    for (sim::LockKind kind : {sim::LockKind::ticket, sim::LockKind::queued, sim::LockKind::pv}) {
        GuestLock lock(kind, /*steal=*/false);
        EXPECT_TRUE(lock.request(0, 1));
        EXPECT_FALSE(lock.request(2, 2));
        EXPECT_FALSE(lock.request(1, 3));
        EXPECT_EQ(lock.holder(), 0u);
        EXPECT_EQ(lock.waiting(), 2u);
        // Hand-off: the next ticket owns the lock before it runs; nobody else may take it.
        EXPECT_EQ(lock.release(0, 4), 2u);
        EXPECT_EQ(lock.granted(), 2u);
        EXPECT_FALSE(lock.free());
        EXPECT_TRUE(lock.can_take(2));
        EXPECT_FALSE(lock.can_take(1));
        EXPECT_FALSE(lock.request(3, 5));  // a newcomer queues behind
        lock.take(2, 6);
        EXPECT_EQ(lock.holder(), 2u);
        EXPECT_EQ(lock.release(2, 7), 1u);
        lock.take(1, 8);
        EXPECT_EQ(lock.release(1, 9), 3u);
        lock.take(3, 10);
        EXPECT_EQ(lock.release(3, 11), GuestLock::kNobody);
        EXPECT_TRUE(lock.free());
        EXPECT_EQ(lock.tickets(), 4u);
    }
}

TEST(GuestLock, LogShowsTicketsAcquiredInOrder)
{
    GuestLock lock(sim::LockKind::queued);
    std::vector<GuestLock::Event> log;
    lock.log = &log;
    lock.request(0, 0);
    lock.request(1, 1);
    lock.request(2, 2);
    lock.release(0, 3);
    lock.take(1, 4);
    lock.release(1, 5);
    lock.take(2, 6);
    uint64_t next = 0;
    for (const GuestLock::Event& e : log)
        if (e.kind == GuestLock::Event::acquire) {
            EXPECT_EQ(e.ticket, next++);
        }
    EXPECT_EQ(next, 3u);
}

TEST(GuestLock, PvWithStealingFreesTheLockForTheHeadOrANewcomer)
{
    GuestLock lock(sim::LockKind::pv, /*steal=*/true);
    EXPECT_TRUE(lock.steals());
    lock.request(0, 0);
    lock.request(1, 1);
    lock.request(2, 2);
    EXPECT_EQ(lock.release(0, 3), 1u);  // the head, to kick if it sleeps
    EXPECT_TRUE(lock.free());
    EXPECT_TRUE(lock.can_take(1));
    EXPECT_FALSE(lock.can_take(2));     // behind the head: spins on its own node
    EXPECT_TRUE(lock.request(3, 4));    // a newcomer steals the free lock
    EXPECT_FALSE(lock.can_take(1));
    EXPECT_EQ(lock.release(3, 5), 1u);
    lock.take(1, 6);
    EXPECT_EQ(lock.holder(), 1u);
    EXPECT_EQ(lock.waiting(), 1u);
}

TEST(GuestLock, StealingIsOnlyForPv)
{
    EXPECT_FALSE(GuestLock(sim::LockKind::ticket, true).steals());
    EXPECT_FALSE(GuestLock(sim::LockKind::queued, true).steals());
}

TEST(GuestLock, KindNamesRoundTrip)
{
    for (sim::LockKind kind : {sim::LockKind::ticket, sim::LockKind::queued, sim::LockKind::pv}) {
        sim::LockKind parsed = sim::LockKind::ticket;
        EXPECT_TRUE(sim::parse_lock_kind(sim::lock_kind_name(kind), parsed));
        EXPECT_EQ(parsed, kind);
    }
    sim::LockKind parsed;
    EXPECT_FALSE(sim::parse_lock_kind("mutex", parsed));
}

TEST(GuestBarrier, TheLastArrivalReleasesAGeneration)
{
    sim::GuestBarrier b(3);
    EXPECT_FALSE(b.arrive());
    EXPECT_FALSE(b.arrive());
    EXPECT_EQ(b.generation(), 0u);
    EXPECT_TRUE(b.arrive());
    EXPECT_EQ(b.generation(), 1u);
    EXPECT_EQ(b.arrived(), 0u);
}

TEST(LatencyHistogram, SmallValuesAreExactAndLargeOnesWithinOnePart128)
{
    sim::LatencyHistogram h;
    for (uint64_t v = 0; v < 64; ++v) EXPECT_EQ(sim::LatencyHistogram::bucket_low(sim::LatencyHistogram::bucket(v)), v);
    for (uint64_t v : {64ull, 100ull, 12345ull, 999'999'937ull, ~0ull}) {
        uint32_t b = sim::LatencyHistogram::bucket(v);
        uint64_t low = sim::LatencyHistogram::bucket_low(b), width = sim::LatencyHistogram::bucket_width(b);
        EXPECT_LE(low, v);
        EXPECT_LE(v - low, width - 1);
        EXPECT_LE(double(width), double(v) / 64.0 + 1);
        EXPECT_LT(b, sim::LatencyHistogram::kBuckets);
    }
}

TEST(LatencyHistogram, Percentiles)
{
    sim::LatencyHistogram h;
    EXPECT_EQ(h.percentile(50), 0u);
    for (uint64_t v = 1; v <= 1000; ++v) h.add(v * 1000);
    EXPECT_EQ(h.count(), 1000u);
    EXPECT_NEAR(double(h.percentile(50)), 500'000.0, 500'000.0 / 128);
    EXPECT_NEAR(double(h.percentile(99)), 990'000.0, 990'000.0 / 128);
    EXPECT_EQ(h.percentile(100), 1'000'000u);
    EXPECT_EQ(h.min(), 1000u);
    EXPECT_DOUBLE_EQ(h.mean(), 500'500.0);
    sim::LatencyHistogram other;
    other.add(7);
    h.merge(other);
    EXPECT_EQ(h.count(), 1001u);
    EXPECT_EQ(h.percentile(0), 7u);
}

}  // namespace
