// least_conn: the endpoint with the fewest requests in flight per unit of weight, counted
// across ALL hubs (Endpoint::inFlight, one shared atomic per endpoint; nginx and Envoy
// count per worker). Ties, which are the rule when the upstream is idle, are broken by
// smooth weighted round robin among the tied endpoints, as nginx does, so an idle
// upstream still gets a weighted interleave rather than always its first endpoint.
//
// O(endpoints) per pick: two passes over per-hub scratch arrays sized at reset().
#pragma once

#include <vector>

#include "balancer/picker.h"
#include "balancer/smooth_wrr.h"

namespace greenlb::balancer {

class LeastConnPicker final : public Picker {
 public:
  // `start`: as RoundRobinPicker's, so idle hubs do not all start on one endpoint.
  explicit LeastConnPicker(size_t start = 0) : start_(start) {}
  void reset(const EndpointSet& set) override;
  int pick(const EndpointSet& set, const PickContext& ctx, const Filter& filter) override;

 private:
  size_t start_;
  SmoothWrr ties_;
  // Per endpoint for the pick in progress: in-flight read once (-1 = not accepted), weight.
  std::vector<int64_t> load_;
  std::vector<uint64_t> weight_;
};

}  // namespace greenlb::balancer
