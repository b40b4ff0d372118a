// Smooth weighted round robin (nginx's algorithm), per hub: every pick adds each eligible
// endpoint's weight to its running score, takes the highest, and subtracts the total
// from it. Weights 5,1,1 give a a b a c a a: interleaved, never bursts.
#pragma once

#include <vector>

#include "balancer/picker.h"

namespace greenlb::balancer {

class RoundRobinPicker final : public Picker {
 public:
  // Hub `start` begins `start` positions into the cycle, so that hubs sharing a fresh
  // membership do not all send their first requests to the same endpoint.
  explicit RoundRobinPicker(size_t start = 0) : start_(start) {}
  void reset(const EndpointSet& set) override;
  int pick(const EndpointSet& set, const PickContext& ctx, const Filter& filter) override;

 private:
  size_t start_;
  std::vector<int64_t> current_;
};

}  // namespace greenlb::balancer
