// A rate limit's buckets (docs/rate-limits.md): one token bucket per key, shared by every
// hub, kept as GCRA's "theoretical arrival time" so that a bucket is one 64-bit atomic
// and admitting a request is one compare-and-swap: no lock, no allocation.
//
// Memory is fixed when the limiter is made: a table of slots (key hash, arrival time).
// A key takes a slot among a small window at its hash; when every slot of the window is
// busy, the one that will be idle soonest is taken over, so a flood of distinct keys
// evicts other fresh keys first and never grows memory. A key whose bucket has refilled
// (arrival time in the past) is indistinguishable from a key never seen, so its slot is
// free for anyone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "conf/config.h"

namespace greenlb::proxy {

class RateLimiter {
 public:
  // Slots of a keyed limiter: 16 bytes each, 1 MiB in all. Enough for 65,536 keys that
  // are over their rate at the same moment; idle keys cost nothing.
  static constexpr size_t kSlots = 1 << 16;
  static constexpr size_t kWindow = 8;  // slots probed per key

  explicit RateLimiter(const conf::RateLimitConfig& config);

  const conf::RateLimitConfig& config() const { return config_; }

  // The key of a request from its text (an address, a header value); the same text
  // gives the same key on every hub. Seeded per limiter: nobody outside can aim at a slot.
  uint64_t keyOf(std::string_view text) const;

  // Takes one token of `key`'s bucket at `now_ns` (a monotonic clock). Returns 0 when the
  // request may pass, else the whole seconds until it would (Retry-After, at least 1).
  uint32_t admit(uint64_t key, int64_t now_ns);

 private:
  struct alignas(16) Slot {
    std::atomic<uint64_t> key{0};  // 0 = never used
    std::atomic<int64_t> tat{0};   // when the bucket will be full again
  };

  Slot& slotOf(uint64_t key, int64_t now_ns);

  const conf::RateLimitConfig config_;
  const int64_t interval_ns_;   // one token every interval
  const int64_t tolerance_ns_;  // burst tokens' worth
  const uint64_t seed_;
  const size_t mask_;
  std::unique_ptr<Slot[]> slots_;
};

// Now on the clock admit() expects.
int64_t rateLimitClockNs();

}  // namespace greenlb::proxy
