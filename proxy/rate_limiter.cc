#include "proxy/rate_limiter.h"

#include <algorithm>
#include <random>
#include <time.h>

#include "balancer/hash_key.h"

namespace greenlb::proxy {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

uint64_t randomSeed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

}  // namespace

int64_t rateLimitClockNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // the vDSO: no system call
  return static_cast<int64_t>(ts.tv_sec) * kSecond + ts.tv_nsec;
}

RateLimiter::RateLimiter(const conf::RateLimitConfig& config)
    : config_(config),
      interval_ns_(kSecond / std::max<int64_t>(config.requests_per_second, 1)),
      tolerance_ns_(interval_ns_ * std::max<int64_t>(config.burst, 1)),
      seed_(randomSeed()),
      mask_(config.key == conf::RateLimitKey::global ? 0 : kSlots - 1),
      slots_(new Slot[mask_ + 1]) {}

uint64_t RateLimiter::keyOf(std::string_view text) const {
  uint64_t key = balancer::hashBytes(text, seed_);
  return key == 0 ? 1 : key;  // 0 marks an unused slot
}

RateLimiter::Slot& RateLimiter::slotOf(uint64_t key, int64_t now_ns) {
  if (mask_ == 0) return slots_[0];
  const size_t start = static_cast<size_t>(key) & mask_;
  for (int tries = 0; tries < 4; ++tries) {
    Slot* pick = nullptr;
    uint64_t pick_key = 0;
    int64_t pick_tat = 0;
    for (size_t i = 0; i < kWindow; ++i) {
      Slot& s = slots_[(start + i) & mask_];
      uint64_t k = s.key.load(std::memory_order_acquire);
      if (k == key) return s;
      // Free: never used, or refilled (idle). Else the one that will be idle soonest.
      int64_t tat = k == 0 ? 0 : s.tat.load(std::memory_order_relaxed);
      if (pick == nullptr || tat < pick_tat) {
        pick = &s;
        pick_key = k;
        pick_tat = tat;
      }
    }
    if (pick->key.compare_exchange_strong(pick_key, key, std::memory_order_acq_rel)) {
      // A key taking over a busy slot starts with a full bucket, as a new key does.
      if (pick_tat > now_ns) pick->tat.store(0, std::memory_order_relaxed);
      return *pick;
    }
    // Another hub claimed that slot just now, maybe for this very key: look again.
  }
  // Four lost races in a row: share the slot at the key's hash rather than spin.
  return slots_[start];
}

uint32_t RateLimiter::admit(uint64_t key, int64_t now_ns) {
  Slot& slot = slotOf(key, now_ns);
  int64_t tat = slot.tat.load(std::memory_order_relaxed);
  for (;;) {
    int64_t next = std::max(tat, now_ns) + interval_ns_;
    int64_t over = next - now_ns - tolerance_ns_;
    if (over > 0) return static_cast<uint32_t>(std::max<int64_t>(1, (over + kSecond - 1) / kSecond));
    if (slot.tat.compare_exchange_weak(tat, next, std::memory_order_relaxed)) return 0;
  }
}

}  // namespace greenlb::proxy
