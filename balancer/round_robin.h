// round_robin: smooth weighted round robin (smooth_wrr.h), per hub, over the endpoints the
// filter accepts, with slow-start weights. That is O(endpoints) a pick; when every weight
// is equal and no slow start is configured (the usual DNS-discovered fleet) it is the same
// sequence as a plain rotation, which skips unavailable endpoints in O(1) amortized.
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
  bool equal_weights_ = true;
  size_t next_ = 0;  // the rotation's next index (equal weights)
};

}  // namespace greenlb::balancer
