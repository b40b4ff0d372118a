// The retry budget (docs/balancing.md, "Retries and the retry budget"): requests retrying
// at once <= max(3, budget_percent% of the requests in flight), counted over every hub.
#include "balancer/retry_budget.h"

#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

namespace greenlb::balancer {
namespace {

using Request = RetryBudget::Request;

std::vector<std::unique_ptr<Request>> start(RetryBudget& b, int n, size_t hub = 0) {
  std::vector<std::unique_ptr<Request>> out;
  for (int i = 0; i < n; ++i) out.push_back(std::make_unique<Request>(b, hub));
  return out;
}

int allowed(std::vector<std::unique_ptr<Request>>& requests) {
  int n = 0;
  for (auto& r : requests) n += r->allowRetry() ? 1 : 0;
  return n;
}

TEST(RetryBudget, LimitIsMaxOfThreeAndThePercent) {
  RetryBudget b(20, 1);
  EXPECT_EQ(b.limit(0), 3);
  EXPECT_EQ(b.limit(10), 3);
  EXPECT_EQ(b.limit(19), 3);
  EXPECT_EQ(b.limit(20), 4);
  EXPECT_EQ(b.limit(100), 20);
  EXPECT_EQ(b.limit(1000), 200);
  RetryBudget none(0, 1);
  EXPECT_EQ(none.limit(1000), 3);
}

TEST(RetryBudget, FewRequestsStillGetThreeRetries) {
  RetryBudget b(20, 1);
  auto rs = start(b, 10);
  EXPECT_EQ(allowed(rs), 3);
  EXPECT_EQ(b.retriesInFlight(), 3);
}

TEST(RetryBudget, ManyRequestsGetThePercent) {
  RetryBudget b(20, 2);
  auto on0 = start(b, 50, 0);
  auto on1 = start(b, 50, 1);  // the cap counts every hub's requests
  EXPECT_EQ(b.requestsInFlight(), 100);
  EXPECT_EQ(allowed(on0) + allowed(on1), 20);
}

TEST(RetryBudget, ARequestHoldsOneSlotForAllItsRetriesUntilItEnds) {
  RetryBudget b(20, 1);
  auto rs = start(b, 4);
  EXPECT_TRUE(rs[0]->allowRetry());
  EXPECT_TRUE(rs[0]->allowRetry());  // its second retry: the same slot
  EXPECT_EQ(b.retriesInFlight(), 1);
  EXPECT_TRUE(rs[1]->allowRetry());
  EXPECT_TRUE(rs[2]->allowRetry());
  EXPECT_FALSE(rs[3]->allowRetry());  // 3 retrying: full
  rs[0].reset();                      // one ends: its slot is free
  EXPECT_EQ(b.retriesInFlight(), 2);
  EXPECT_EQ(b.requestsInFlight(), 3);
  EXPECT_TRUE(rs[3]->allowRetry());
  rs.clear();
  EXPECT_EQ(b.retriesInFlight(), 0);
  EXPECT_EQ(b.requestsInFlight(), 0);
}

TEST(RetryBudget, ConcurrentHubsNeverExceedTheCap) {
  RetryBudget b(10, 2);
  std::atomic<int64_t> worst{0};
  std::vector<std::thread> hubs;
  for (size_t hub = 0; hub < 2; ++hub) {
    hubs.emplace_back([&b, &worst, hub] {
      auto held = start(b, 30, hub);  // 60 in flight: cap max(3, 6) = 6
      for (int round = 0; round < 2000; ++round) {
        auto batch = start(b, 5, hub);  // 5 more requests, every one wanting a retry
        (void)allowed(batch);
        int64_t now = b.retriesInFlight();
        int64_t w = worst.load();
        while (now > w && !worst.compare_exchange_weak(w, now)) {
        }
      }
    });
  }
  for (auto& h : hubs) h.join();
  // At most 70 in flight (60 held, 5 per hub in a batch): never more than 7 retrying,
  // though the hubs together want up to 10.
  EXPECT_LE(worst.load(), 7);
  EXPECT_GE(worst.load(), 3);
  EXPECT_EQ(b.retriesInFlight(), 0);
}

}  // namespace
}  // namespace greenlb::balancer
