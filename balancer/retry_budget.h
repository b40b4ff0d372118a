// The retry budget of an upstream ([upstream.retry] budget_percent, docs/balancing.md,
// "Retries and the retry budget"): requests in
// their retry phase at once <= max(3, budget_percent% of the requests in flight), so a sick
// upstream turns into failed requests rather than a retry storm (Envoy's retry budgets,
// Finagle's RetryBudget).
//
// Cost on the hot path: a request in flight is counted in per-hub cells (a relaxed load and
// store on the hub's own cache line at start and end, no read-modify-write). Only a retry
// touches shared state: it sums the cells (one load per hub) and takes a slot with a
// compare-and-swap on one per-upstream atomic, released when the request ends. The sum is
// a moment's view of the other hubs, so the cap follows load with a lag of a few requests;
// the count of retrying requests itself never exceeds the cap it was checked against.
#pragma once

#include <atomic>
#include <cstdint>

#include "metrics/sharded.h"

namespace greenlb::balancer {

class RetryBudget {
 public:
  // Retrying requests always allowed, however few requests are in flight.
  static constexpr int64_t kMinRetries = 3;

  RetryBudget(uint32_t percent, size_t hubs) : percent_(percent), requests_(hubs) {}
  RetryBudget(const RetryBudget&) = delete;
  RetryBudget& operator=(const RetryBudget&) = delete;

  // How many retrying requests may be in flight with `requests` requests in flight.
  int64_t limit(int64_t requests) const;
  int64_t requestsInFlight() const { return requests_.value(); }
  int64_t retriesInFlight() const { return retries_.load(std::memory_order_relaxed); }

  // One request through the upstream, from start to end on hub `hub` (RAII).
  class Request {
   public:
    Request(RetryBudget& budget, size_t hub) : budget_(budget), hub_(hub) {
      budget_.requests_.add(hub_, 1);
    }
    ~Request() {
      budget_.requests_.add(hub_, -1);
      if (retrying_) budget_.retries_.fetch_sub(1, std::memory_order_relaxed);
    }
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

    // Before each retry: true when it may be made. The first takes one of the budget's
    // slots, held until the request ends; later retries of this request reuse it.
    bool allowRetry() {
      if (!retrying_) retrying_ = budget_.tryTakeSlot();
      return retrying_;
    }

   private:
    RetryBudget& budget_;
    size_t hub_;
    bool retrying_ = false;
  };

 private:
  bool tryTakeSlot();

  const uint32_t percent_;
  metrics::Gauge requests_;  // requests in flight, one cell per hub
  alignas(64) std::atomic<int64_t> retries_{0};
};

}  // namespace greenlb::balancer
