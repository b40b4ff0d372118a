#include "balancer/round_robin.h"

namespace greenlb::balancer {

void RoundRobinPicker::reset(const EndpointSet& set) {
  wrr_.reset(set.size());
  if (set.empty()) return;
  for (size_t i = 0; i < start_ % set.size(); ++i) {
    (void)wrr_.next([&](size_t j) { return uint64_t{set[j].weight()} * kWeightScale; });
  }
}

int RoundRobinPicker::pick(const EndpointSet& set, const PickContext& ctx, const Filter& filter) {
  if (wrr_.size() != set.size()) reset(set);
  return wrr_.next([&](size_t i) -> uint64_t {
    const Endpoint& e = set[i];
    return filter.accepts(e, ctx) ? filter.weight(e, ctx) : 0;
  });
}

}  // namespace greenlb::balancer
