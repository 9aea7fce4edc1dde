#include "tools/sim/latency_histogram.hpp"

#include <cmath>

namespace sim {

uint32_t LatencyHistogram::bucket(uint64_t value)
{
    if (value < kSub) return uint32_t(value);
    uint32_t exponent = 63 - uint32_t(__builtin_clzll(value));  // >= kSubBits
    uint32_t sub = uint32_t(value >> (exponent - kSubBits)) & (kSub - 1);
    return kSub + (exponent - kSubBits) * kSub + sub;
}

uint64_t LatencyHistogram::bucket_low(uint32_t index)
{
    if (index < kSub) return index;
    uint32_t exponent = (index - kSub) / kSub + kSubBits;
    uint64_t sub = (index - kSub) % kSub;
    return (1ull << exponent) + (sub << (exponent - kSubBits));
}

uint64_t LatencyHistogram::bucket_width(uint32_t index)
{
    if (index < kSub) return 1;
    return 1ull << ((index - kSub) / kSub);
}

void LatencyHistogram::add(uint64_t value)
{
    ++counts_[bucket(value)];
    ++count_;
    sum_ += value;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
}

void LatencyHistogram::merge(const LatencyHistogram& other)
{
    for (uint32_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    if (other.count_ && other.min_ < min_) min_ = other.min_;
    if (other.max_ > max_) max_ = other.max_;
}

uint64_t LatencyHistogram::percentile(double p) const
{
    if (!count_) return 0;
    if (p < 0) p = 0;
    if (p > 100) p = 100;
    uint64_t rank = uint64_t(std::ceil(p / 100.0 * double(count_)));
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < kBuckets; ++i) {
        seen += counts_[i];
        if (seen < rank) continue;
        uint64_t value = bucket_low(i) + bucket_width(i) / 2;
        if (value > max_) value = max_;
        if (value < min_) value = min_;
        return value;
    }
    return max_;
}

}  // namespace sim
