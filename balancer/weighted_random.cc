#include "balancer/weighted_random.h"

#include <algorithm>

namespace greenlb::balancer {
namespace {

constexpr int kDraws = 4;

}  // namespace

void WeightedRandomPicker::reset(const EndpointSet& set) {
  prefix_.resize(set.size());
  uint64_t sum = 0;
  equal_weights_ = true;
  for (size_t i = 0; i < set.size(); ++i) {
    sum += set[i].weight();
    prefix_[i] = sum;
    equal_weights_ = equal_weights_ && set[i].weight() == set[0].weight();
  }
}

int WeightedRandomPicker::pick(const EndpointSet& set, const PickContext& ctx,
                               const Filter& filter) {
  size_t n = set.size();
  if (n == 0) return -1;
  if (prefix_.size() != n) reset(set);
  for (int d = 0; d < kDraws; ++d) {
    size_t i = equal_weights_ ? rng_.below(n)
                              : static_cast<size_t>(std::upper_bound(prefix_.begin(), prefix_.end(),
                                                                     rng_.below(prefix_.back())) -
                                                    prefix_.begin());
    const Endpoint& e = set[i];
    if (!filter.accepts(e, ctx)) continue;
    // Slow start: keep the draw with probability effective / configured weight.
    uint64_t full = uint64_t{e.weight()} * kWeightScale;
    uint64_t w = filter.weight(e, ctx);
    if (w < full && rng_.below(full) >= w) continue;
    return static_cast<int>(i);
  }
  uint64_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    if (filter.accepts(set[i], ctx)) total += filter.weight(set[i], ctx);
  }
  if (total == 0) return -1;
  uint64_t r = rng_.below(total);
  int last = -1;  // in-flight counts move between the passes: never come back empty-handed
  for (size_t i = 0; i < n; ++i) {
    if (!filter.accepts(set[i], ctx)) continue;
    last = static_cast<int>(i);
    uint64_t w = filter.weight(set[i], ctx);
    if (r < w) return last;
    r -= w;
  }
  return last;
}

}  // namespace greenlb::balancer
