#include "balancer/round_robin.h"

namespace greenlb::balancer {

void RoundRobinPicker::reset(const EndpointSet& set) {
  current_.assign(set.size(), 0);
  if (set.empty()) return;
  PickContext ctx;
  Filter all;
  all.mode = Filter::kAny;
  for (size_t i = 0; i < start_ % set.size(); ++i) (void)pick(set, ctx, all);
}

int RoundRobinPicker::pick(const EndpointSet& set, const PickContext& ctx, const Filter& filter) {
  if (current_.size() != set.size()) reset(set);
  int best = -1;
  int64_t total = 0;
  for (size_t i = 0; i < set.size(); ++i) {
    const Endpoint& e = set[i];
    if (!filter.accepts(e, ctx)) continue;
    int64_t w = e.weight();
    current_[i] += w;
    total += w;
    if (best < 0 || current_[i] > current_[static_cast<size_t>(best)]) best = static_cast<int>(i);
  }
  if (best >= 0) current_[static_cast<size_t>(best)] -= total;
  return best;
}

}  // namespace greenlb::balancer
