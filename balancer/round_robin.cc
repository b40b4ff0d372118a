#include "balancer/round_robin.h"

namespace greenlb::balancer {

void RoundRobinPicker::reset(const EndpointSet& set) {
  wrr_.reset(set.size());
  equal_weights_ = true;
  for (size_t i = 1; i < set.size(); ++i) equal_weights_ = equal_weights_ && set[i].weight() == set[0].weight();
  if (set.empty()) return;
  next_ = start_ % set.size();
  for (size_t i = 0; i < start_ % set.size(); ++i) {
    (void)wrr_.next([&](size_t j) { return uint64_t{set[j].weight()} * kWeightScale; });
  }
}

int RoundRobinPicker::pick(const EndpointSet& set, const PickContext& ctx, const Filter& filter) {
  if (wrr_.size() != set.size()) reset(set);
  if (equal_weights_ && filter.slow_start <= core::Duration::zero()) {
    size_t n = set.size();
    for (size_t k = 0; k < n; ++k) {
      size_t i = next_ + k < n ? next_ + k : next_ + k - n;
      if (filter.accepts(set[i], ctx)) {
        next_ = i + 1 < n ? i + 1 : 0;
        return static_cast<int>(i);
      }
    }
    return -1;
  }
  return wrr_.next([&](size_t i) -> uint64_t {
    const Endpoint& e = set[i];
    return filter.accepts(e, ctx) ? filter.weight(e, ctx) : 0;
  });
}

}  // namespace greenlb::balancer
