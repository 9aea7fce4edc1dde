// A log-linear histogram of tick counts (as HdrHistogram): exact below 64, then 64 buckets per
// power of two, so any percentile is within 1/128 of the true value, in fixed memory, with the
// same answer on every run. For lock acquisition latencies (request -> acquire).
#pragma once
#include <cstdint>
#include <vector>

namespace sim {

class LatencyHistogram {
public:
    static constexpr uint32_t kSubBits = 6;
    static constexpr uint32_t kSub = 1u << kSubBits;
    static constexpr uint32_t kBuckets = kSub + (64 - kSubBits) * kSub;

    LatencyHistogram() : counts_(kBuckets, 0) {}

    void add(uint64_t value);
    void merge(const LatencyHistogram& other);
    uint64_t count() const { return count_; }
    uint64_t min() const { return count_ ? min_ : 0; }
    uint64_t max() const { return max_; }
    double mean() const { return count_ ? double(sum_) / double(count_) : 0.0; }
    // The value at percentile `p` (0..100): the middle of its bucket, at most max(); 0 if empty.
    uint64_t percentile(double p) const;

    static uint32_t bucket(uint64_t value);
    static uint64_t bucket_low(uint32_t index);
    static uint64_t bucket_width(uint32_t index);

private:
    std::vector<uint64_t> counts_;
    uint64_t count_ = 0, min_ = ~0ull, max_ = 0;
    unsigned __int128 sum_ = 0;
};

}  // namespace sim
