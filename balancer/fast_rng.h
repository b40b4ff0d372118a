// A small, fast pseudo-random generator for picking (xorshift64*): one per hub picker, so
// random policies need no lock and no shared state. Not for anything security-related.
#pragma once

#include <cstdint>

namespace greenlb::balancer {

class FastRng {
 public:
  explicit FastRng(uint64_t seed) : state_(seed != 0 ? seed : 0x9e3779b97f4a7c15ULL) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dULL;
  }
  // Uniform in [0, n), n > 0 (Lemire's multiply-shift: no division).
  uint64_t below(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

 private:
  uint64_t state_;
};

}  // namespace greenlb::balancer
