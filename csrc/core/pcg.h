// PCG32 random numbers (O'Neill 2014, "PCG: A Family of Simple Fast
// Space-Efficient Statistically Good Algorithms for Random Number
// Generation"). Every stream is keyed by (seed, pixel, sample) so that results
// do not depend on how work is split across threads.
#pragma once

#include "defs.h"

namespace pdvg {

struct Pcg32 {
    uint64_t state;
    uint64_t increment;

    // Seeds a generator from a 64-bit stream key and a 64-bit sequence id;
    // distinct sequence ids give statistically independent streams.
    HOST_DEVICE Pcg32(uint64_t key, uint64_t sequence) {
        state = 0u;
        increment = (sequence << 1u) | 1u;
        next_uint();
        state += mix64(key);
        next_uint();
    }

    HOST_DEVICE uint32_t next_uint() {
        uint64_t old = state;
        state = old * 6364136223846793005ULL + increment;
        uint32_t xorshifted = uint32_t(((old >> 18u) ^ old) >> 27u);
        uint32_t rot = uint32_t(old >> 59u);
        return (xorshifted >> rot) | (xorshifted << ((~rot + 1u) & 31));
    }

    // Uniform float in [0, 1).
    HOST_DEVICE float next_float() {
        return float(next_uint() >> 8) * (1.0f / 16777216.0f);
    }

    // SplitMix64 finaliser: spreads nearby keys over the whole state space.
    HOST_DEVICE static uint64_t mix64(uint64_t z) {
        z += 0x9e3779b97f4a7c15ULL;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
};

}  // namespace pdvg
