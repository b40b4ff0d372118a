// proxy/rate_limiter.h (docs/rate-limits.md): the buckets on a clock the test moves, so
// nothing here depends on how fast the machine is.
#include "proxy/rate_limiter.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace greenlb::proxy {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStart = 1000 * kSecond;  // any point of a monotonic clock

conf::RateLimitConfig limitOf(uint32_t rate, uint32_t burst,
                              conf::RateLimitKey key = conf::RateLimitKey::client_ip) {
  conf::RateLimitConfig c;
  c.requests_per_second = rate;
  c.burst = burst;
  c.key = key;
  return c;
}

// Requests of `key` that pass out of `n` made at `now`.
int admitted(RateLimiter& l, uint64_t key, int n, int64_t now) {
  int passed = 0;
  for (int i = 0; i < n; ++i) passed += l.admit(key, now) == 0 ? 1 : 0;
  return passed;
}

TEST(RateLimiter, ABurstPassesAtOnceThenTheRate) {
  RateLimiter l(limitOf(10, 20));
  uint64_t key = l.keyOf("10.0.0.1");
  EXPECT_EQ(admitted(l, key, 100, kStart), 20);
  // One token every 100 ms.
  EXPECT_EQ(admitted(l, key, 10, kStart + 99'000'000), 0);
  EXPECT_EQ(admitted(l, key, 10, kStart + 100'000'000), 1);
  EXPECT_EQ(admitted(l, key, 10, kStart + 1'100'000'000), 10);
}

TEST(RateLimiter, ASteadyClientGetsTheRateOverTime) {
  RateLimiter l(limitOf(50, 10));
  uint64_t key = l.keyOf("k");
  int passed = 0;
  // 5 s of a request every millisecond: the burst, then 50 a second.
  for (int64_t ms = 0; ms < 5000; ++ms) passed += admitted(l, key, 1, kStart + ms * 1'000'000);
  EXPECT_GE(passed, 10 + 250 - 1);
  EXPECT_LE(passed, 10 + 250 + 1);
}

TEST(RateLimiter, RetryAfterSaysWhenTheNextRequestPasses) {
  RateLimiter l(limitOf(1, 3));
  uint64_t key = l.keyOf("k");
  EXPECT_EQ(admitted(l, key, 3, kStart), 3);
  EXPECT_EQ(l.admit(key, kStart), 1u);  // the next token in 1 s
  RateLimiter slow(limitOf(1, 1));
  EXPECT_EQ(slow.admit(key, kStart), 0u);
  EXPECT_EQ(slow.admit(key, kStart + kSecond / 2), 1u);  // half a second, rounded up
  RateLimiter fast(limitOf(1000, 1));
  EXPECT_EQ(fast.admit(key, kStart), 0u);
  EXPECT_EQ(fast.admit(key, kStart), 1u);  // 1 ms away: Retry-After is at least 1
}

TEST(RateLimiter, KeysHaveTheirOwnBuckets) {
  RateLimiter l(limitOf(1, 2));
  uint64_t a = l.keyOf("10.0.0.1"), b = l.keyOf("10.0.0.2");
  EXPECT_NE(a, b);
  EXPECT_EQ(admitted(l, a, 10, kStart), 2);
  EXPECT_EQ(admitted(l, b, 10, kStart), 2);
  EXPECT_EQ(admitted(l, a, 1, kStart), 0);
}

TEST(RateLimiter, AGlobalLimitHasOneBucketForEveryKey) {
  RateLimiter l(limitOf(1, 5, conf::RateLimitKey::global));
  int passed = 0;
  for (int i = 0; i < 50; ++i) passed += l.admit(l.keyOf(std::to_string(i)), kStart) == 0;
  EXPECT_EQ(passed, 5);
}

TEST(RateLimiter, KeysAreSeededPerLimiter) {
  RateLimiter a(limitOf(1, 1)), b(limitOf(1, 1));
  EXPECT_EQ(a.keyOf("10.0.0.1"), a.keyOf("10.0.0.1"));
  EXPECT_NE(a.keyOf("10.0.0.1"), b.keyOf("10.0.0.1"));
}

// A flood of distinct keys, each over its rate, never grows the table; a key that is over
// its rate keeps its bucket while the flood's keys evict each other.
TEST(RateLimiter, AFloodOfDistinctKeysEvictsTheFreshestFirst) {
  RateLimiter l(limitOf(1, 100));
  uint64_t victim = l.keyOf("victim");
  // The victim spends its whole burst: its bucket is full again only in 100 s.
  EXPECT_EQ(admitted(l, victim, 100, kStart), 100);
  EXPECT_EQ(l.admit(victim, kStart), 1u);
  // One million other keys, one request each, all at the same moment (each leaves its
  // slot busy for 1 s): far more than the table holds. Had the victim lost its slot, it
  // would start again with a full bucket and pass.
  for (int i = 0; i < 1'000'000; ++i) l.admit(l.keyOf("flood" + std::to_string(i)), kStart);
  EXPECT_GT(l.admit(victim, kStart), 0u) << "the victim lost its bucket to the flood";
}

TEST(RateLimiter, MoreKeysThanSlotsEachGetTheirBurst) {
  RateLimiter l(limitOf(1, 1));
  // More keys than slots, each used once; a second later every one of them is idle.
  for (size_t i = 0; i < 2 * RateLimiter::kSlots; ++i) {
    EXPECT_EQ(l.admit(l.keyOf("a" + std::to_string(i)), kStart), 0u);
  }
  for (size_t i = 0; i < 2 * RateLimiter::kSlots; ++i) {
    EXPECT_EQ(l.admit(l.keyOf("b" + std::to_string(i)), kStart + 2 * kSecond), 0u) << i;
  }
}

// Hubs share the buckets: threads admitting the same key at the same moment take exactly
// the burst between them.
TEST(RateLimiter, HubsShareOneBucketPerKey) {
  RateLimiter l(limitOf(1, 1000));
  uint64_t key = l.keyOf("shared");
  std::vector<int> passed(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] { passed[static_cast<size_t>(t)] = admitted(l, key, 1000, kStart); });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(passed[0] + passed[1] + passed[2] + passed[3], 1000);
}

}  // namespace
}  // namespace greenlb::proxy
