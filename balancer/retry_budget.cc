#include "balancer/retry_budget.h"

#include <algorithm>

namespace greenlb::balancer {

int64_t RetryBudget::limit(int64_t requests) const {
  return std::max<int64_t>(kMinRetries, std::max<int64_t>(requests, 0) * percent_ / 100);
}

bool RetryBudget::tryTakeSlot() {
  int64_t cap = limit(requests_.value());
  int64_t cur = retries_.load(std::memory_order_relaxed);
  while (cur < cap) {
    if (retries_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

}  // namespace greenlb::balancer
