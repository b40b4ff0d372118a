// p2c: power of two random choices (Mitzenmacher). Two distinct endpoints the filter
// accepts are drawn uniformly at random and the one with fewer requests in flight per unit
// of weight wins (ties go to the first draw, itself random). O(1) per pick: it reads two
// shared in-flight counters, never scans, and the most loaded endpoint is never chosen
// while another is eligible. The load compared is (in_flight + 1) / weight, so that among
// idle endpoints the heavier one wins.
#pragma once

#include "balancer/fast_rng.h"
#include "balancer/picker.h"

namespace greenlb::balancer {

class P2cPicker final : public Picker {
 public:
  explicit P2cPicker(uint64_t seed) : rng_(seed) {}
  void reset(const EndpointSet& set) override {}
  int pick(const EndpointSet& set, const PickContext& ctx, const Filter& filter) override;

 private:
  // A uniformly drawn accepted endpoint other than `exclude` (or -1): a few draws, then a
  // scan from a random position so a mostly-filtered set still finds its survivors.
  int draw(const EndpointSet& set, const PickContext& ctx, const Filter& filter, int exclude);

  FastRng rng_;
};

}  // namespace greenlb::balancer
