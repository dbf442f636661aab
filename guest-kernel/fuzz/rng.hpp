// xorshift64*: small, fast, and reproducible from the seed on the command line.
#pragma once

#include <stdint.h>

namespace fuzz {

class Rng {
public:
    explicit Rng(uint64_t seed) : state_(seed ? seed : 0x9e3779b97f4a7c15) {}
    uint64_t next() {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return state_ * 0x2545f4914f6cdd1d;
    }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    bool chance(unsigned one_in) { return below(one_in) == 0; }

private:
    uint64_t state_;
};

}  // namespace fuzz
