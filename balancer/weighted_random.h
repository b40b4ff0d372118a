// random: an endpoint drawn at random in proportion to its weight. O(1) for equal weights,
// O(log n) otherwise (a binary search over prefix sums built at reset()); an endpoint the
// filter rejects, or one ramping in slow start, is re-drawn (rejection sampling), and after
// a few misses the pick falls back to one exact weighted scan over the accepted endpoints.
#pragma once

#include <vector>

#include "balancer/fast_rng.h"
#include "balancer/picker.h"

namespace greenlb::balancer {

class WeightedRandomPicker final : public Picker {
 public:
  explicit WeightedRandomPicker(uint64_t seed) : rng_(seed) {}
  void reset(const EndpointSet& set) override;
  int pick(const EndpointSet& set, const PickContext& ctx, const Filter& filter) override;

 private:
  FastRng rng_;
  bool equal_weights_ = true;
  std::vector<uint64_t> prefix_;  // prefix_[i] = sum of configured weights 0..i
};

}  // namespace greenlb::balancer
