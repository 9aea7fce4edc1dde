// A small deterministic pseudo-random generator (SplitMix64) for the simulator's workloads: the
// same seed gives the same run on every host, which std::uniform_*_distribution does not promise.
#pragma once
#include <cstdint>

namespace sim {

class Rng {
public:
    explicit Rng(uint64_t seed = 0) : state_(seed) {}
    uint64_t next()
    {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, bound); 0 when bound is 0.
    uint64_t below(uint64_t bound) { return bound ? uint64_t((unsigned __int128)next() * bound >> 64) : 0; }
    // A seed for a sub-stream (a VM, a thread) that does not overlap this one in practice.
    static uint64_t mix(uint64_t seed, uint64_t a, uint64_t b = 0)
    {
        Rng r(seed ^ (a * 0xd1b54a32d192ed03ull) ^ (b * 0x8cb92ba72f3d8dd7ull));
        return r.next();
    }

private:
    uint64_t state_;
};

}  // namespace sim
