// round_robin: smooth weighted round robin (smooth_wrr.h), per hub, over the endpoints the
// filter accepts, with slow-start weights.
#pragma once

#include "balancer/picker.h"
#include "balancer/smooth_wrr.h"

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
  SmoothWrr wrr_;
};

}  // namespace greenlb::balancer
